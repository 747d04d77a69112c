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
 * A Llama/Qwen2-family decoder-only transformer. Symbols in brackets are the shape legend used in
 * shape comments throughout the model code.
 *
 * @category Model
 */
export interface ModelConfig {
  /** Hugging Face class name: `LlamaForCausalLM`, or `Qwen2ForCausalLM` (which has q/k/v biases). */
  readonly architecture: "LlamaForCausalLM" | "Qwen2ForCausalLM";
  /** [V] vocabulary size: number of token ids and of logits per position. */
  readonly vocabSize: number;
  /** [C] width of the residual stream. */
  readonly hiddenSize: number;
  /** [I] width of the SwiGLU MLP's hidden layer. */
  readonly intermediateSize: number;
  /** Number of transformer blocks. */
  readonly numLayers: number;
  /** [H] query heads; must divide `hiddenSize` (head size D = C / H, even for RoPE). */
  readonly numHeads: number;
  /** [Hkv] key/value heads; divides H. Fewer than H is grouped-query attention. */
  readonly numKeyValueHeads: number;
  /** The context length: positions 0 .. maxPositions-1 exist, and the KV cache holds at most this many rows. */
  readonly maxPositions: number;
  /** RoPE base (theta): inverse frequency j is `ropeTheta^(-2j/D)`. */
  readonly ropeTheta: number;
  /** Epsilon added to the mean square inside RMSNorm. */
  readonly rmsNormEps: number;
  /** When true the output projection reuses the token embedding matrix (no `lm_head.weight`). */
  readonly tieWordEmbeddings: boolean;
  /** When true q/k/v projections have biases (Qwen2). */
  readonly attentionBias: boolean;
  /** Token id that starts a sequence. */
  readonly bosTokenId: number;
  /** Token id that ends generation. */
  readonly eosTokenId: number;
  /** Token id used for padding (and for the `'pad'` draft initialisation). */
  readonly padTokenId: number;
}

/**
 * Thrown for an invalid model configuration; the message names the field, its value and what was expected.
 *
 * @example
 * ```ts
 * validateConfig({ ...PRESETS.tiny, numHeads: 3 }); // throws ConfigError: validateConfig: hiddenSize 16 must be numHeads 3 times an even head size
 * ```
 * @category Model
 */
export class ConfigError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "ConfigError";
}

/**
 * Head size D = C / H.
 *
 * @example
 * ```ts
 * headDim(PRESETS.tiny);  // 4  = 16 / 4
 * headDim(PRESETS.small); // 32 = 128 / 4
 * ```
 * @category Model
 */
export function headDim(config: ModelConfig): number {
  return config.hiddenSize / config.numHeads;
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
  /** Throws for the first of `fields` that fails `ok`; `expected` finishes the sentence "must be ...". */
  const check = (fields: readonly (keyof ModelConfig)[], ok: (value: unknown) => boolean, expected: string): void => {
    for (const field of fields) {
      if (!ok(config[field])) throw new ConfigError(`${where}: ${field} must be ${expected}, got ${JSON.stringify(config[field])}`);
    }
  };
  check(["architecture"], (v) => v === "LlamaForCausalLM" || v === "Qwen2ForCausalLM", "LlamaForCausalLM or Qwen2ForCausalLM");
  check(["vocabSize", "hiddenSize", "intermediateSize", "numLayers", "numHeads", "numKeyValueHeads", "maxPositions"],
    (v) => typeof v === "number" && Number.isSafeInteger(v) && v > 0, "a positive integer");
  if (config.hiddenSize % config.numHeads !== 0 || headDim(config) % 2 !== 0) {
    throw new ConfigError(`${where}: hiddenSize ${config.hiddenSize} must be numHeads ${config.numHeads} times an even head size`);
  }
  if (config.numHeads % config.numKeyValueHeads !== 0) {
    throw new ConfigError(`${where}: numKeyValueHeads ${config.numKeyValueHeads} must divide numHeads ${config.numHeads}`);
  }
  check(["ropeTheta", "rmsNormEps"], (v) => typeof v === "number" && Number.isFinite(v) && v > 0, "a positive number");
  check(["tieWordEmbeddings", "attentionBias"], (v) => typeof v === "boolean", "true or false");
  check(["bosTokenId", "eosTokenId", "padTokenId"],
    (v) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v < config.vocabSize, `a token id in 0..${config.vocabSize - 1}`);
  return config;
}

// ---------------------------------------------------------------- Hugging Face config.json

/**
 * The keys of `config.json`, in the order they are written, each with the {@link ModelConfig} field it
 * holds, or the function that derives its value from the config (derived keys are written, not read back).
 */
const HF_KEYS: readonly (readonly [string, keyof ModelConfig | ((config: ModelConfig) => unknown)])[] = [
  ["architectures", (c) => [c.architecture]],
  ["model_type", (c) => (c.architecture === "Qwen2ForCausalLM" ? "qwen2" : "llama")],
  ["hidden_size", "hiddenSize"],
  ["intermediate_size", "intermediateSize"],
  ["num_hidden_layers", "numLayers"],
  ["num_attention_heads", "numHeads"],
  ["num_key_value_heads", "numKeyValueHeads"],
  ["head_dim", headDim],
  ["vocab_size", "vocabSize"],
  ["max_position_embeddings", "maxPositions"],
  ["rope_theta", "ropeTheta"],
  ["rms_norm_eps", "rmsNormEps"],
  ["tie_word_embeddings", "tieWordEmbeddings"],
  ["attention_bias", "attentionBias"],
  ["hidden_act", () => "silu"],
  ["bos_token_id", "bosTokenId"],
  ["eos_token_id", "eosTokenId"],
  ["pad_token_id", "padTokenId"],
  ["torch_dtype", () => "float32"],
];

/**
 * The `config.json` object Hugging Face's `LlamaForCausalLM` / `Qwen2ForCausalLM` read.
 *
 * @example
 * ```ts
 * toHfConfig(PRESETS.tiny).num_key_value_heads; // 2
 * ```
 * @category Checkpoints
 */
export function toHfConfig(config: ModelConfig): Record<string, unknown> {
  return Object.fromEntries(HF_KEYS.map(([key, value]) => [key, typeof value === "string" ? config[value] : value(config)]));
}

/**
 * Reads a Hugging Face `config.json` object into a validated {@link ModelConfig}.
 *
 * @param json - the parsed JSON
 * @param file - used in error messages
 * @throws ConfigError naming the file and the missing or bad field
 * @example
 * ```ts
 * fromHfConfig(JSON.parse(readFileSync("models/math-teacher/config.json", "utf8")), "config.json").hiddenSize; // 64
 * ```
 * @category Checkpoints
 */
export function fromHfConfig(json: unknown, file: string): ModelConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(`${file}: expected a JSON object`);
  }
  const o = json as Record<string, unknown>;
  const need = (key: string): unknown => {
    if (!(key in o)) throw new ConfigError(`${file}: missing field "${key}"`);
    return o[key];
  };
  const architectures = need("architectures");
  if (!Array.isArray(architectures) || architectures.length !== 1) {
    throw new ConfigError(`${file}: "architectures" must be a one-element array, got ${JSON.stringify(architectures)}`);
  }
  // The fields in table order, so that the first missing key is the one reported.
  const fields = HF_KEYS.flatMap(([key, field]) => (typeof field === "string" ? [[field, need(key)]] : []));
  const config = { architecture: architectures[0], ...Object.fromEntries(fields) } as ModelConfig;
  validateConfig(config, file);
  if ("head_dim" in o && o.head_dim !== headDim(config)) {
    throw new ConfigError(`${file}: head_dim ${JSON.stringify(o.head_dim)} must equal hidden_size / num_attention_heads = ${headDim(config)}`);
  }
  return config;
}
