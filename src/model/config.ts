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
  if (config.architecture !== "LlamaForCausalLM" && config.architecture !== "Qwen2ForCausalLM") {
    throw new ConfigError(`${where}: architecture must be LlamaForCausalLM or Qwen2ForCausalLM, got ${JSON.stringify(config.architecture)}`);
  }
  for (const field of ["vocabSize", "hiddenSize", "intermediateSize", "numLayers", "numHeads", "numKeyValueHeads", "maxPositions"] as const) {
    const v = config[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      throw new ConfigError(`${where}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  if (config.hiddenSize % config.numHeads !== 0 || headDim(config) % 2 !== 0) {
    throw new ConfigError(`${where}: hiddenSize ${config.hiddenSize} must be numHeads ${config.numHeads} times an even head size`);
  }
  if (config.numHeads % config.numKeyValueHeads !== 0) {
    throw new ConfigError(`${where}: numKeyValueHeads ${config.numKeyValueHeads} must divide numHeads ${config.numHeads}`);
  }
  for (const field of ["ropeTheta", "rmsNormEps"] as const) {
    const v = config[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(`${where}: ${field} must be a positive number, got ${JSON.stringify(v)}`);
    }
  }
  for (const field of ["tieWordEmbeddings", "attentionBias"] as const) {
    if (typeof config[field] !== "boolean") throw new ConfigError(`${where}: ${field} must be true or false, got ${JSON.stringify(config[field])}`);
  }
  for (const field of ["bosTokenId", "eosTokenId", "padTokenId"] as const) {
    const v = config[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= config.vocabSize) {
      throw new ConfigError(`${where}: ${field} must be a token id in 0..${config.vocabSize - 1}, got ${JSON.stringify(v)}`);
    }
  }
  return config;
}

// ---------------------------------------------------------------- Hugging Face config.json

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
  return {
    architectures: [config.architecture],
    model_type: config.architecture === "Qwen2ForCausalLM" ? "qwen2" : "llama",
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKeyValueHeads,
    head_dim: headDim(config),
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositions,
    rope_theta: config.ropeTheta,
    rms_norm_eps: config.rmsNormEps,
    tie_word_embeddings: config.tieWordEmbeddings,
    attention_bias: config.attentionBias,
    hidden_act: "silu",
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    torch_dtype: "float32",
  };
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
  const config: ModelConfig = {
    architecture: architectures[0] as ModelConfig["architecture"],
    hiddenSize: need("hidden_size") as number,
    intermediateSize: need("intermediate_size") as number,
    numLayers: need("num_hidden_layers") as number,
    numHeads: need("num_attention_heads") as number,
    numKeyValueHeads: need("num_key_value_heads") as number,
    vocabSize: need("vocab_size") as number,
    maxPositions: need("max_position_embeddings") as number,
    ropeTheta: need("rope_theta") as number,
    rmsNormEps: need("rms_norm_eps") as number,
    tieWordEmbeddings: need("tie_word_embeddings") as boolean,
    attentionBias: need("attention_bias") as boolean,
    bosTokenId: need("bos_token_id") as number,
    eosTokenId: need("eos_token_id") as number,
    padTokenId: need("pad_token_id") as number,
  };
  validateConfig(config, file);
  if ("head_dim" in o && o.head_dim !== headDim(config)) {
    throw new ConfigError(`${file}: head_dim ${JSON.stringify(o.head_dim)} must equal hidden_size / num_attention_heads = ${headDim(config)}`);
  }
  return config;
}
