/**
 * The weights of a model: their shapes, their Hugging Face names, and seeded random initialisation.
 *
 * Weights are a plain value (`Params`) separate from the blueprint (`ModelConfig`) and from any
 * inference state (`KVCache`): `forward(config, params, tokens, options)`. Every Linear weight is stored
 * `[out, in]`, exactly as Hugging Face stores it, so a checkpoint is a straight copy of these arrays.
 *
 * Shape legend: V vocab, C width, I MLP width, H query heads, Hkv key/value heads, D head size.
 *
 * Read next: `transformer.ts`.
 *
 * @module
 */
import { Rng } from "../tensor/random.ts";
import { Tensor } from "../tensor/tensor.ts";
import { headDim, validateConfig, type ModelConfig } from "./config.ts";

// ---------------------------------------------------------------- the weights

/**
 * The weights of one transformer block.
 *
 * @category Model
 */
export interface LayerParams {
  /** [C] RMSNorm gain before attention (`input_layernorm`). */
  readonly inputNorm: Tensor;
  /** [H*D, C] query projection. */
  readonly wq: Tensor;
  /** [Hkv*D, C] key projection. */
  readonly wk: Tensor;
  /** [Hkv*D, C] value projection. */
  readonly wv: Tensor;
  /** [H*D] query bias (Qwen2 only). */
  readonly bq?: Tensor;
  /** [Hkv*D] key bias (Qwen2 only). */
  readonly bk?: Tensor;
  /** [Hkv*D] value bias (Qwen2 only). */
  readonly bv?: Tensor;
  /** [D] RMSNorm gain of each query head (Qwen3 only). */
  readonly qNorm?: Tensor;
  /** [D] RMSNorm gain of each key head (Qwen3 only). */
  readonly kNorm?: Tensor;
  /** [C, H*D] attention output projection. */
  readonly wo: Tensor;
  /** [C] RMSNorm gain before the MLP (`post_attention_layernorm`). */
  readonly postNorm: Tensor;
  /** [I, C] SwiGLU gate projection. */
  readonly wGate: Tensor;
  /** [I, C] SwiGLU up projection. */
  readonly wUp: Tensor;
  /** [C, I] SwiGLU down projection. */
  readonly wDown: Tensor;
}

/**
 * All weights of a model.
 *
 * @category Model
 */
export interface Params {
  /** [V, C] token embedding. */
  readonly embed: Tensor;
  /** One entry per transformer block. */
  readonly layers: readonly LayerParams[];
  /** [C] final RMSNorm gain. */
  readonly norm: Tensor;
  /** [V, C] output projection; the very same tensor as `embed` when embeddings are tied. */
  readonly lmHead: Tensor;
}

// ---------------------------------------------------------------- names and shapes

/**
 * A weight with its Hugging Face name and expected shape.
 *
 * @category Model
 */
export interface NamedParam {
  /** Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  readonly name: string;
  /** The shape the config implies. */
  readonly shape: readonly number[];
}

/**
 * One weight of a block: its name after `model.layers.i.`, its shape, its {@link LayerParams} field, and
 * for the optional ones which configs have it.
 */
type LayerWeight = NamedParam & { readonly field: keyof LayerParams; readonly only?: (config: ModelConfig) => boolean };

const biased = (config: ModelConfig): boolean => config.attentionBias;
const qwen3 = (config: ModelConfig): boolean => config.architecture === "Qwen3ForCausalLM";

/**
 * The weights of one block, in checkpoint order: the {@link LayerParams} field, the Hugging Face name
 * after `model.layers.i.`, and the shape. The biases only when the config has them (Qwen2), the head
 * norms only in Qwen3. The one table of names: {@link paramSpecs}, {@link paramsFromNamed} and {@link namedParams} all read it.
 */
function layerWeights(config: ModelConfig): LayerWeight[] {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKeyValueHeads: Hkv } = config;
  const D = headDim(config);
  const weights: LayerWeight[] = [
    { field: "inputNorm", name: "input_layernorm.weight", shape: [C] },
    { field: "wq", name: "self_attn.q_proj.weight", shape: [H * D, C] },
    { field: "wk", name: "self_attn.k_proj.weight", shape: [Hkv * D, C] },
    { field: "wv", name: "self_attn.v_proj.weight", shape: [Hkv * D, C] },
    { field: "bq", only: biased, name: "self_attn.q_proj.bias", shape: [H * D] },
    { field: "bk", only: biased, name: "self_attn.k_proj.bias", shape: [Hkv * D] },
    { field: "bv", only: biased, name: "self_attn.v_proj.bias", shape: [Hkv * D] },
    { field: "qNorm", only: qwen3, name: "self_attn.q_norm.weight", shape: [D] },
    { field: "kNorm", only: qwen3, name: "self_attn.k_norm.weight", shape: [D] },
    { field: "wo", name: "self_attn.o_proj.weight", shape: [C, H * D] },
    { field: "postNorm", name: "post_attention_layernorm.weight", shape: [C] },
    { field: "wGate", name: "mlp.gate_proj.weight", shape: [I, C] },
    { field: "wUp", name: "mlp.up_proj.weight", shape: [I, C] },
    { field: "wDown", name: "mlp.down_proj.weight", shape: [C, I] },
  ];
  return weights.filter((w) => w.only?.(config) ?? true);
}

/**
 * Every weight a config implies, with its Hugging Face name and shape, in a fixed order (the order
 * checkpoints are written in). `lm_head.weight` is absent when embeddings are tied.
 *
 * @example
 * ```ts
 * paramSpecs(PRESETS.tiny)[0]; // { name: "model.embed_tokens.weight", shape: [100, 16] }
 * ```
 * @category Model
 */
export function paramSpecs(config: ModelConfig): NamedParam[] {
  const { vocabSize: V, hiddenSize: C } = config;
  const specs: NamedParam[] = [{ name: "model.embed_tokens.weight", shape: [V, C] }];
  for (let i = 0; i < config.numLayers; i++) {
    for (const w of layerWeights(config)) specs.push({ name: `model.layers.${i}.${w.name}`, shape: w.shape });
  }
  specs.push({ name: "model.norm.weight", shape: [C] });
  if (!config.tieWordEmbeddings) specs.push({ name: "lm_head.weight", shape: [V, C] });
  return specs;
}

/**
 * Assembles `Params` from tensors looked up by Hugging Face name (see {@link paramSpecs}).
 * The caller has already checked that every name exists with the right shape.
 *
 * @example
 * ```ts
 * const decoded = decodeSafetensors(bytes, "model.safetensors");
 * const params = paramsFromNamed(config, (name) => { const t = decoded.tensors.get(name)!; return Tensor.from(t.data, t.shape); });
 * ```
 * @category Model
 */
export function paramsFromNamed(config: ModelConfig, get: (name: string) => Tensor): Params {
  const layers = Array.from({ length: config.numLayers }, (_, i) =>
    Object.fromEntries(layerWeights(config).map((w) => [w.field, get(`model.layers.${i}.${w.name}`)])) as unknown as LayerParams);
  const embed = get("model.embed_tokens.weight");
  return { embed, layers, norm: get("model.norm.weight"), lmHead: config.tieWordEmbeddings ? embed : get("lm_head.weight") };
}

/**
 * The weights as `[name, tensor]` pairs in {@link paramSpecs} order — for checkpoints and optimizers.
 * A tied output projection appears once (as the embedding).
 *
 * @example
 * ```ts
 * namedParams(PRESETS.tiny, initParams(PRESETS.tiny, { seed: 1 })).length; // 21 = embed + 2 layers x 9 + norm + lm_head
 * ```
 * @category Model
 */
export function namedParams(config: ModelConfig, params: Params): [string, Tensor][] {
  const byName = new Map<string, Tensor | undefined>([
    ["model.embed_tokens.weight", params.embed], ["model.norm.weight", params.norm], ["lm_head.weight", params.lmHead],
  ]);
  params.layers.forEach((layer, i) => {
    for (const w of layerWeights(config)) byName.set(`model.layers.${i}.${w.name}`, layer[w.field]);
  });
  return paramSpecs(config).map((s) => {
    const t = byName.get(s.name);
    if (t === undefined) throw new Error(`namedParams: params lack ${s.name} that the config implies`);
    return [s.name, t];
  });
}

// ---------------------------------------------------------------- initialisation

/**
 * How {@link initParams} draws weights.
 *
 * @category Model
 */
export interface InitOptions {
  /** Seed of the generator; equal seeds give bit-identical weights. */
  readonly seed: number;
  /** Standard deviation of matrices and biases (Hugging Face's `initializer_range`, default 0.02). */
  readonly std?: number;
}

/**
 * Random weights for a config: matrices and biases ~ N(0, std²), RMSNorm gains = 1. Biases are drawn
 * rather than zeroed so that specs exercise them. Values are rounded to float32, so an F32 checkpoint
 * of a fresh model is lossless. The tensors are constants (`requiresGrad` false): inference builds no
 * autograd graph; training marks them trainable itself.
 *
 * @example
 * ```ts
 * const params = initParams(PRESETS.tiny, { seed: 1 });
 * params.layers[0].wq.shape; // [16, 16]
 * ```
 * @category Model
 */
export function initParams(config: ModelConfig, options: InitOptions): Params {
  validateConfig(config, "initParams");
  const rng = new Rng(options.seed);
  const std = options.std ?? 0.02;
  const tensors = new Map<string, Tensor>();
  for (const spec of paramSpecs(config)) {
    const t = Tensor.zeros(spec.shape);
    if (spec.name.endsWith("norm.weight")) t.data.fill(1);
    else for (let i = 0; i < t.size; i++) t.data[i] = Math.fround(std * rng.normal());
    tensors.set(spec.name, t);
  }
  return paramsFromNamed(config, (name) => tensors.get(name) as Tensor);
}
