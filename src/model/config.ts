/**
 * The model blueprint: a readonly, validated description of a Llama/Qwen2-family transformer, named
 * presets, and the mapping to and from Hugging Face `config.json`.
 *
 * A config is data only — no weights, no state. `validateConfig` is the one place that decides what a
 * legal model is; everything downstream (parameter shapes, the KV cache, the checkpoint reader) relies on it.
 *
 * Read next: `params.ts` (the weights a config implies) and `transformer.ts` (the forward pass).
 *
 * @module
 */

// ---------------------------------------------------------------- the blueprint

/**
 * The Hugging Face model classes this project implements. Llama and Mistral (without a sliding window)
 * are the same network; Qwen2 adds q/k/v biases; Qwen3 adds an RMSNorm on each query and key head.
 *
 * @category Model
 */
export const ARCHITECTURES = ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"] as const;

/**
 * One of {@link ARCHITECTURES}.
 *
 * @category Model
 */
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * How the rotary frequencies are rescaled for a longer context (Hugging Face `rope_scaling`, or
 * `rope_parameters` in transformers 5). `ropeFrequencies` in `rope.ts` computes each.
 *
 * @category Model
 */
export type RopeScaling = LinearRope | Llama3Rope | YarnRope;

/**
 * Linear RoPE scaling: every frequency divided by `factor`.
 *
 * @category Model
 */
export interface LinearRope {
  /** `"linear"`. */
  readonly type: "linear";
  /** What every frequency is divided by. */
  readonly factor: number;
}

/**
 * Llama 3.1's RoPE scaling: long wavelengths divided by `factor`, short ones kept, a smooth blend between.
 *
 * @category Model
 */
export interface Llama3Rope {
  /** `"llama3"`. */
  readonly type: "llama3";
  /** What the long wavelengths' frequencies are divided by. */
  readonly factor: number;
  /** Wavelengths above `originalMaxPositions / lowFreqFactor` count as long. */
  readonly lowFreqFactor: number;
  /** Wavelengths below `originalMaxPositions / highFreqFactor` count as short. */
  readonly highFreqFactor: number;
  /** The context the model was trained with before scaling. */
  readonly originalMaxPositions: number;
}

/**
 * YaRN: a ramp over the pairs between kept and divided frequencies, by how many turns a pair makes over
 * the original context, and cos/sin scaled by `attentionFactor`.
 *
 * @category Model
 */
export interface YarnRope {
  /** `"yarn"`. */
  readonly type: "yarn";
  /** What the slow pairs' frequencies are divided by. */
  readonly factor: number;
  /** The context the model was trained with before scaling. */
  readonly originalMaxPositions: number;
  /** Pairs turning more than this many times over the original context are kept. */
  readonly betaFast: number;
  /** Pairs turning fewer than this many times are divided by `factor`. */
  readonly betaSlow: number;
  /** Factor on cos and sin. */
  readonly attentionFactor: number;
  /** Whether the ramp's ends are rounded to whole pairs (transformers' default). */
  readonly truncate: boolean;
}

/**
 * A Llama/Qwen2-family decoder-only transformer. Symbols in brackets are the shape legend used in
 * shape comments throughout the model code.
 *
 * @category Model
 */
export interface ModelConfig {
  /** The Hugging Face class (see {@link ARCHITECTURES}). */
  readonly architecture: Architecture;
  /** [V] vocabulary size: number of token ids and of logits per position. */
  readonly vocabSize: number;
  /** [C] width of the residual stream. */
  readonly hiddenSize: number;
  /** [I] width of the SwiGLU MLP's hidden layer. */
  readonly intermediateSize: number;
  /** Number of transformer blocks. */
  readonly numLayers: number;
  /** [H] query heads. */
  readonly numHeads: number;
  /** [Hkv] key/value heads; divides H. Fewer than H is grouped-query attention. */
  readonly numKeyValueHeads: number;
  /** [D] head size, even for RoPE; default C / H (Qwen3 sets its own). */
  readonly headDim?: number;
  /** The context length: positions 0 .. maxPositions-1 exist, and the KV cache holds at most this many rows. */
  readonly maxPositions: number;
  /** RoPE base (theta): inverse frequency j is `ropeTheta^(-2j/D)` before any scaling. */
  readonly ropeTheta: number;
  /** RoPE scaling; absent: none. */
  readonly ropeScaling?: RopeScaling;
  /** Epsilon added to the mean square inside RMSNorm. */
  readonly rmsNormEps: number;
  /** When true the output projection reuses the token embedding matrix (no `lm_head.weight`). */
  readonly tieWordEmbeddings: boolean;
  /** When true q/k/v projections have biases (Qwen2). */
  readonly attentionBias: boolean;
  /** Token id that starts a sequence, or null (Qwen2 has none). */
  readonly bosTokenId: number | null;
  /** Token id, or ids, that end generation (any of them). */
  readonly eosTokenId: number | readonly number[];
  /** Token id used for padding (and for the `'pad'` draft initialisation), or null: then the first EOS. */
  readonly padTokenId: number | null;
}

/**
 * Thrown for an invalid model configuration; the message names the field, its value and what was expected.
 *
 * @example
 * ```ts
 * validateConfig({ ...PRESETS.tiny, numHeads: 3 }); // throws ConfigError: validateConfig: the head size (hiddenSize 16 / numHeads 3) must be a positive even integer, got 5.333333333333333
 * ```
 * @category Model
 */
export class ConfigError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "ConfigError";
}

/**
 * Head size D: the config's, else C / H.
 *
 * @example
 * ```ts
 * headDim(PRESETS.tiny);                 // 4  = 16 / 4
 * headDim({ ...PRESETS.tiny, headDim: 8 }); // 8 (queries are then H * D = 32 wide)
 * ```
 * @category Model
 */
export function headDim(config: ModelConfig): number {
  return config.headDim ?? config.hiddenSize / config.numHeads;
}

/**
 * The EOS ids of a config as a list.
 *
 * @example
 * ```ts
 * eosIds(PRESETS.tiny);                               // [2]
 * eosIds({ ...PRESETS.tiny, eosTokenId: [2, 7] });   // [2, 7]
 * ```
 * @category Model
 */
export function eosIds(config: Pick<ModelConfig, "eosTokenId">): readonly number[] {
  return typeof config.eosTokenId === "number" ? [config.eosTokenId] : config.eosTokenId;
}

/**
 * The EOS in force: one id, a list of ids (any of them ends the output), or null (none).
 *
 * @category Model
 */
export type Eos = number | readonly number[] | null;

/**
 * Whether `token` is an EOS of `eos`.
 *
 * @example
 * ```ts
 * isEos(2, 2);        // true
 * isEos([7, 9], 9);   // true
 * isEos(null, 2);     // false
 * ```
 * @category Model
 */
export function isEos(eos: Eos, token: number): boolean {
  return eos !== null && (typeof eos === "number" ? token === eos : eos.includes(token));
}

// ---------------------------------------------------------------- presets

const base = {
  architecture: "LlamaForCausalLM",
  vocabSize: 100,
  ropeTheta: 10000,
  rmsNormEps: 1e-6,
  tieWordEmbeddings: false,
  attentionBias: false,
  padTokenId: 0,
  bosTokenId: 1,
  eosTokenId: 2,
} as const;

/**
 * Named sizes. `tiny` is for specs (as small as the shapes allow, so thousands of forwards stay quick);
 * `small` is for examples and benchmarks; `math-teacher` and `code-teacher` are the shipped trained
 * models. All use grouped-query attention (H = 2 Hkv) and the default 100-symbol character vocabulary of
 * `tokenizer.ts` (training replaces it with its own).
 *
 * @category Model
 */
export const PRESETS: Readonly<Record<"tiny" | "small" | "math-teacher" | "code-teacher", ModelConfig>> = {
  tiny: { ...base, hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 4, numKeyValueHeads: 2, maxPositions: 128 },
  small: { ...base, hiddenSize: 128, intermediateSize: 384, numLayers: 4, numHeads: 4, numKeyValueHeads: 2, maxPositions: 512 },
  // The shipped teachers (models/README.md), sized so that training fits in half an hour of one CPU core
  // (throughput per preset: docs/training.md). Training sets vocabSize to its tokenizer's.
  "math-teacher": { ...base, hiddenSize: 64, intermediateSize: 192, numLayers: 3, numHeads: 4, numKeyValueHeads: 2, maxPositions: 256 },
  "code-teacher": { ...base, hiddenSize: 96, intermediateSize: 256, numLayers: 3, numHeads: 4, numKeyValueHeads: 2, maxPositions: 256 },
};

/**
 * Names of the presets.
 *
 * @category Model
 */
export type PresetName = keyof typeof PRESETS;

// ---------------------------------------------------------------- validation

/** Whether `v` is a finite number greater than zero. */
const positive = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v > 0;

/**
 * Checks every field and the relations between them, and returns the config unchanged.
 *
 * @throws ConfigError naming the first bad field
 * @example
 * ```ts
 * validateConfig({ ...PRESETS.tiny, numKeyValueHeads: 3 }); // throws: numKeyValueHeads 3 must divide numHeads 4
 * ```
 * @category Model
 */
export function validateConfig(config: ModelConfig, where = "validateConfig"): ModelConfig {
  const fail = (field: string, expected: string, value: unknown): never => {
    throw new ConfigError(`${where}: ${field} must be ${expected}, got ${JSON.stringify(value)}`);
  };
  /** Throws for the first of `fields` that fails `ok`; `expected` finishes the sentence "must be ...". */
  const check = (fields: readonly (keyof ModelConfig)[], ok: (value: unknown) => boolean, expected: string): void => {
    for (const field of fields) if (!ok(config[field])) fail(field, expected, config[field]);
  };
  check(["architecture"], (v) => ARCHITECTURES.includes(v as Architecture), ARCHITECTURES.join(", ").replace(/, (?=\w+$)/, " or "));
  check(["vocabSize", "hiddenSize", "intermediateSize", "numLayers", "numHeads", "numKeyValueHeads", "maxPositions"],
    (v) => typeof v === "number" && Number.isSafeInteger(v) && v > 0, "a positive integer");
  const D = headDim(config);
  if (!(Number.isSafeInteger(D) && D > 0 && D % 2 === 0)) {
    const given = config.headDim === undefined ? `hiddenSize ${config.hiddenSize} / numHeads ${config.numHeads}` : "headDim";
    throw new ConfigError(`${where}: the head size (${given}) must be a positive even integer, got ${D}`);
  }
  if (config.numHeads % config.numKeyValueHeads !== 0) {
    throw new ConfigError(`${where}: numKeyValueHeads ${config.numKeyValueHeads} must divide numHeads ${config.numHeads}`);
  }
  check(["ropeTheta", "rmsNormEps"], positive, "a positive number");
  check(["tieWordEmbeddings", "attentionBias"], (v) => typeof v === "boolean", "true or false");
  const id = (v: unknown): boolean => typeof v === "number" && Number.isInteger(v) && v >= 0 && v < config.vocabSize;
  const ids = `a token id in 0..${config.vocabSize - 1}`;
  check(["bosTokenId", "padTokenId"], (v) => v === null || id(v), `${ids} or null`);
  check(["eosTokenId"], (v) => id(v) || (Array.isArray(v) && v.every(id)), `${ids} or a list of them`);
  const scaling = config.ropeScaling;
  if (scaling !== undefined) {
    const numbers = Object.entries(scaling).filter(([key]) => key !== "type" && key !== "truncate");
    const expected = new Map([["linear", 1], ["llama3", 4], ["yarn", 5]]).get(scaling.type);
    if (expected === undefined) fail("ropeScaling.type", "linear, llama3 or yarn", scaling.type);
    if (numbers.length !== expected) fail("ropeScaling", `${scaling.type} with ${expected} numeric fields`, scaling);
    for (const [key, value] of numbers) if (!positive(value)) fail(`ropeScaling.${key}`, "a positive number", value);
  }
  return config;
}

// ---------------------------------------------------------------- Hugging Face config.json

/**
 * What each class's config takes where `config.json` leaves a field out (transformers' `LlamaConfig`,
 * `MistralConfig`, `Qwen2Config`, `Qwen3Config`): BOS, EOS and the head size; none ties embeddings.
 */
const CLASS_DEFAULTS: Readonly<Record<Architecture, { bos: number | null; eos: number | null; headDim?: number }>> = {
  LlamaForCausalLM: { bos: 1, eos: 2 }, MistralForCausalLM: { bos: 1, eos: 2 }, Qwen2ForCausalLM: { bos: null, eos: null },
  Qwen3ForCausalLM: { bos: null, eos: null, headDim: 128 },
};

/** `model_type` of each class. */
const MODEL_TYPES: Readonly<Record<Architecture, string>> = {
  LlamaForCausalLM: "llama", MistralForCausalLM: "mistral", Qwen2ForCausalLM: "qwen2", Qwen3ForCausalLM: "qwen3",
};

/**
 * The `config.json` object Hugging Face's classes read (the spelling of transformers 4, which 5 reads
 * too: `rope_theta` and `rope_scaling`).
 *
 * @throws ConfigError for a Llama-family config with q/k/v biases (transformers' Llama would also expect
 *   an o_proj bias): such a model is a `Qwen2ForCausalLM`
 * @example
 * ```ts
 * toHfConfig(PRESETS.tiny).num_key_value_heads; // 2
 * ```
 * @category Checkpoints
 */
export function toHfConfig(config: ModelConfig): Record<string, unknown> {
  const c = config, s = c.ropeScaling;
  if (c.attentionBias !== (c.architecture === "Qwen2ForCausalLM")) {
    throw new ConfigError(`toHfConfig: ${c.architecture} ${c.attentionBias ? "with" : "without"} q/k/v biases has no Hugging Face class (Qwen2ForCausalLM has them, the others do not)`);
  }
  const scaling = s === undefined ? null : s.type === "linear" ? { rope_type: "linear", factor: s.factor }
    : s.type === "llama3" ? { rope_type: "llama3", factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxPositions }
    : { rope_type: "yarn", factor: s.factor, original_max_position_embeddings: s.originalMaxPositions, beta_fast: s.betaFast, beta_slow: s.betaSlow, attention_factor: s.attentionFactor, truncate: s.truncate };
  return {
    architectures: [c.architecture], model_type: MODEL_TYPES[c.architecture], hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize, num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKeyValueHeads, head_dim: headDim(c), vocab_size: c.vocabSize, max_position_embeddings: c.maxPositions,
    rope_theta: c.ropeTheta, rope_scaling: scaling, rms_norm_eps: c.rmsNormEps, tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: c.attentionBias, hidden_act: "silu", bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId,
    pad_token_id: c.padTokenId, torch_dtype: "float32", ...(c.architecture === "MistralForCausalLM" ? { sliding_window: null } : {}),
  };
}

/**
 * Fields that change the forward pass in ways this project does not implement, each with the values
 * that are harmless (absent, null and these). A config with any other value is refused by name, never
 * approximated.
 */
const UNSUPPORTED: readonly (readonly [string, readonly unknown[], string])[] = [
  ["hidden_act", ["silu"], "only SiLU (SwiGLU) MLPs are implemented"],
  ["hidden_activation", ["silu"], "only SiLU (SwiGLU) MLPs are implemented"],
  ["mlp_bias", [false], "MLP biases are not implemented"],
  ["use_sliding_window", [false], "sliding-window attention is not implemented"],
  ["partial_rotary_factor", [1], "RoPE on part of each head is not implemented"],
  ["attn_logit_softcapping", [], "logit soft-capping is not implemented"],
  ["final_logit_softcapping", [], "logit soft-capping is not implemented"],
  ["quantization_config", [], "quantised weights are not supported"],
];

/**
 * Reads a Hugging Face `config.json` object into a validated {@link ModelConfig}: transformers 4's
 * spelling (`rope_theta`, `rope_scaling`) and 5's (`rope_parameters`), with the defaults of
 * transformers' config classes where a field is left out (key/value heads = heads, head size C / H or
 * Qwen3's 128, untied embeddings, Llama's and Mistral's BOS 1 and EOS 2, no pad, Mistral's sliding
 * window of 4096). `generation_config.json`'s `eos_token_id`, when given, is the one generation stops at,
 * as in transformers' `generate`.
 *
 * @param json - the parsed JSON
 * @param file - used in error messages
 * @param generation - the parsed `generation_config.json`, if the folder has one
 * @throws ConfigError naming the file and the missing, bad or unsupported field
 * @example
 * ```ts
 * fromHfConfig(JSON.parse(readFileSync("models/math-teacher/config.json", "utf8")), "config.json").hiddenSize; // 64
 * fromHfConfig({ ...json, rope_scaling: { rope_type: "dynamic", factor: 2 } }, "config.json");
 * // throws ConfigError: config.json: rope type "dynamic" is not implemented (default, linear, llama3 and yarn are)
 * ```
 * @category Checkpoints
 */
export function fromHfConfig(json: unknown, file: string, generation?: unknown): ModelConfig {
  const o = object(json, file, "");
  const has = (key: string): boolean => o[key] !== undefined && o[key] !== null;
  const need = (key: string): unknown => {
    if (!has(key)) throw new ConfigError(`${file}: missing field "${key}"`);
    return o[key];
  };
  const architectures = need("architectures");
  if (!Array.isArray(architectures) || architectures.length !== 1) {
    throw new ConfigError(`${file}: "architectures" must be a one-element array, got ${JSON.stringify(architectures)}`);
  }
  const architecture = architectures[0] as Architecture;
  if (!ARCHITECTURES.includes(architecture)) {
    throw new ConfigError(`${file}: architecture ${JSON.stringify(architecture)} is not implemented (${ARCHITECTURES.join(", ")} are)`);
  }
  for (const [key, harmless, why] of UNSUPPORTED) {
    if (has(key) && !harmless.includes(o[key])) throw new ConfigError(`${file}: ${key} ${JSON.stringify(o[key])}: ${why}`);
  }
  const layerTypes = o.layer_types;
  if (Array.isArray(layerTypes) && layerTypes.some((t) => t !== "full_attention")) {
    throw new ConfigError(`${file}: layer_types ${JSON.stringify([...new Set(layerTypes)])}: only full attention is implemented`);
  }
  // Mistral's window (4096 where config.json names none) binds only within the context
  const window = o.sliding_window === undefined ? 4096 : o.sliding_window;
  if (architecture === "MistralForCausalLM" && window !== null && !((window as number) >= (o.max_position_embeddings as number))) {
    throw new ConfigError(`${file}: sliding_window ${JSON.stringify(window)}${o.sliding_window === undefined ? " (Mistral's default)" : ""}: sliding-window attention is not implemented`);
  }
  if (architecture !== "Qwen2ForCausalLM" && o.attention_bias === true) {
    throw new ConfigError(`${file}: attention_bias true: biases on the ${architecture} attention projections are not implemented`);
  }
  const rope = has("rope_parameters") ? object(o.rope_parameters, file, "rope_parameters") : has("rope_scaling") ? object(o.rope_scaling, file, "rope_scaling") : {};
  const eos = has("eos_token_id") ? o.eos_token_id : undefined;
  const generationEos = generation === undefined ? undefined : object(generation, "generation_config.json", "").eos_token_id;
  const config = {
    architecture,
    vocabSize: need("vocab_size"),
    hiddenSize: need("hidden_size"),
    intermediateSize: need("intermediate_size"),
    numLayers: need("num_hidden_layers"),
    numHeads: need("num_attention_heads"),
    numKeyValueHeads: has("num_key_value_heads") ? o.num_key_value_heads : need("num_attention_heads"),
    ...(has("head_dim") || CLASS_DEFAULTS[architecture].headDim ? { headDim: o.head_dim ?? CLASS_DEFAULTS[architecture].headDim } : {}),
    maxPositions: need("max_position_embeddings"),
    ropeTheta: has("rope_parameters") && rope.rope_theta !== undefined ? rope.rope_theta : need("rope_theta"),
    ...ropeScaling(rope, file, o.max_position_embeddings),
    rmsNormEps: need("rms_norm_eps"),
    tieWordEmbeddings: has("tie_word_embeddings") ? o.tie_word_embeddings : false,
    attentionBias: architecture === "Qwen2ForCausalLM",
    bosTokenId: "bos_token_id" in o ? o.bos_token_id : CLASS_DEFAULTS[architecture].bos,
    eosTokenId: generationEos ?? ("eos_token_id" in o ? eos : CLASS_DEFAULTS[architecture].eos) ?? [],
    padTokenId: has("pad_token_id") ? o.pad_token_id : null,
  } as ModelConfig;
  validateConfig(config, file);
  if (config.headDim === config.hiddenSize / config.numHeads) delete (config as { headDim?: number }).headDim;
  return config;
}

/** `value` as a JSON object, or a ConfigError naming `file` and `key`. */
function object(value: unknown, file: string, key: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${file}: ${key === "" ? "expected a JSON object" : `"${key}" must be a JSON object`}, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * The {@link RopeScaling} of a `rope_scaling` / `rope_parameters` object, with transformers' defaults
 * (YaRN: beta 32 and 1, truncation on, the original context = the context, attention factor
 * `0.1 ln(factor) + 1` or from `mscale`).
 */
function ropeScaling(rope: Record<string, unknown>, file: string, maxPositions: unknown): { ropeScaling?: RopeScaling } {
  const type = rope.rope_type ?? rope.type ?? "default";
  const need = (key: string): number => {
    if (typeof rope[key] !== "number") throw new ConfigError(`${file}: rope type ${type} needs a number "${key}", got ${JSON.stringify(rope[key])}`);
    return rope[key] as number;
  };
  if (type === "default") return {};
  if (type === "linear") return { ropeScaling: { type, factor: need("factor") } };
  if (type === "llama3") {
    return { ropeScaling: { type, factor: need("factor"), lowFreqFactor: need("low_freq_factor"), highFreqFactor: need("high_freq_factor"), originalMaxPositions: need("original_max_position_embeddings") } };
  }
  if (type === "yarn") {
    const factor = need("factor");
    const original = rope.original_max_position_embeddings as number | undefined;
    if (original !== undefined && factor !== (maxPositions as number) / original) {
      throw new ConfigError(`${file}: yarn factor ${factor} is not max_position_embeddings / original_max_position_embeddings = ${maxPositions} / ${original}: transformers 4.5x uses the ratio, 5 the factor, so which RoPE is meant is ambiguous`);
    }
    const mscale = (scale: number, m: number): number => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
    const [m, mAll] = [rope.mscale, rope.mscale_all_dim] as number[];
    const attentionFactor = (rope.attention_factor as number | undefined) ?? (m && mAll ? mscale(factor, m) / mscale(factor, mAll) : mscale(factor, 1));
    return { ropeScaling: { type, factor, originalMaxPositions: original ?? (maxPositions as number), betaFast: (rope.beta_fast as number) || 32,
      betaSlow: (rope.beta_slow as number) || 1, attentionFactor, truncate: rope.truncate !== false } };
  }
  throw new ConfigError(`${file}: rope type ${JSON.stringify(type)} is not implemented (default, linear, llama3 and yarn are)`);
}
