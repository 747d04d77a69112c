/**
 * An independent, deliberately naive float64 oracle for the Hugging Face
 * `LlamaForCausalLM` / `Qwen2ForCausalLM` forward pass.
 *
 * What it is:
 * - A second opinion for tests. It was written from the semantics of
 *   transformers' `modeling_llama.py` / `modeling_qwen2.py`, without reading
 *   this project's `src/`, so that a shared misunderstanding cannot hide a bug
 *   in both places at once.
 * - Slow on purpose: plain nested loops over `Float64Array`, no caching, no
 *   blocking, no vectorisation, every step recomputed from scratch for the
 *   whole sequence. Each loop should read like the formula it implements.
 * - Strict about inputs: a missing weight or a weight of the wrong shape
 *   throws, rather than being guessed at.
 *
 * What it is not:
 * - Not a model runtime: no KV cache, no batching, no incremental decoding,
 *   no sampling. It returns the full `[T][vocab]` logits of one sequence
 *   starting at position 0.
 * - Not a dtype emulator: HF usually runs in bf16/fp16/fp32, this runs in
 *   float64 throughout (including RoPE's `inv_freq`), so compare against it
 *   with a tolerance, never bit-for-bit.
 * - Not a full config implementation: no `rope_scaling` (linear, dynamic,
 *   yarn, llama3), no sliding-window attention, no `mlp_bias`, no attention
 *   or residual dropout, no attention softcapping. Configs that need those
 *   are outside its scope.
 */

/** Hugging Face config.json fields this reference uses. */
export interface HfConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
  rope_theta: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  head_dim?: number;
}

/** A dense row-major tensor in float64. */
export interface RefTensor {
  shape: readonly number[];
  data: Float64Array;
}

/** Fetches a weight by its HF name and checks its shape, so layout mistakes fail loudly. */
function getWeight(
  weights: ReadonlyMap<string, RefTensor>,
  name: string,
  shape: readonly number[],
): Float64Array {
  const t = weights.get(name);
  if (t === undefined) {
    throw new Error(`llama-reference: missing weight "${name}" (expected shape [${shape.join(", ")}])`);
  }
  const sameShape = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!sameShape) {
    throw new Error(
      `llama-reference: weight "${name}" has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`,
    );
  }
  const expectedLength = shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== expectedLength) {
    throw new Error(
      `llama-reference: weight "${name}" has ${t.data.length} elements, shape [${shape.join(", ")}] needs ${expectedLength}`,
    );
  }
  return t.data;
}

/**
 * torch.nn.Linear: y = W x + b with W stored [out, in] (HF layout).
 * `bias` is null when the layer has none.
 */
function linear(x: Float64Array, w: Float64Array, bias: Float64Array | null, outDim: number, inDim: number): Float64Array {
  const y = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let acc = 0;
    for (let i = 0; i < inDim; i++) {
      acc += w[o * inDim + i] * x[i];
    }
    y[o] = bias === null ? acc : acc + bias[o];
  }
  return y;
}

/** LlamaRMSNorm / Qwen2RMSNorm: x * w / sqrt(mean(x^2) + eps). No mean subtraction, no bias. */
function rmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  const n = x.length;
  let sumSq = 0;
  for (let i = 0; i < n; i++) sumSq += x[i] * x[i];
  const inv = 1 / Math.sqrt(sumSq / n + eps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = w[i] * (x[i] * inv);
  return y;
}

/** SiLU (a.k.a. swish), the `hidden_act: "silu"` used by both Llama and Qwen2. */
function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/**
 * Applies rotate-half RoPE in place to one head vector `v` (length D) at position `pos`.
 *
 * HF builds emb = cat(freqs, freqs), so the angle for index i is
 * pos * inv_freq[i mod D/2], and rotate_half([x1, x2]) = [-x2, x1] pairs index j
 * with index j + D/2 (not adjacent pairs, which is the GPT-J / Meta-checkpoint layout).
 */
function applyRope(v: Float64Array, offset: number, headDim: number, pos: number, theta: number): void {
  const half = headDim / 2;
  const src = v.slice(offset, offset + headDim);
  for (let i = 0; i < headDim; i++) {
    const j = i % half;
    const invFreq = 1 / Math.pow(theta, (2 * j) / headDim);
    const angle = pos * invFreq;
    const rotated = i < half ? -src[i + half] : src[i - half];
    v[offset + i] = src[i] * Math.cos(angle) + rotated * Math.sin(angle);
  }
}

/** Checks the config values the loops below rely on, so a bad config fails before it produces garbage. */
function checkConfig(config: HfConfig): number {
  const positiveInts: (keyof HfConfig)[] = [
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
  ];
  for (const key of positiveInts) {
    const value = config[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      throw new Error(`llama-reference: config.${key} must be a non-negative integer, got ${String(value)}`);
    }
  }
  const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    throw new Error(`llama-reference: head_dim must be a positive even integer, got ${headDim}`);
  }
  if (config.num_key_value_heads <= 0 || config.num_attention_heads % config.num_key_value_heads !== 0) {
    throw new Error(
      `llama-reference: num_attention_heads (${config.num_attention_heads}) must be a multiple of num_key_value_heads (${config.num_key_value_heads})`,
    );
  }
  return headDim;
}

/**
 * Causal forward over `tokens` at positions 0..T-1; returns logits [T][vocab].
 * Weights by HF names, HF layouts ([out, in] for every Linear).
 *
 * `self_attn.o_proj.bias` is used if present and otherwise treated as zero:
 * Llama gives o_proj a bias when `attention_bias` is true, Qwen2 never does,
 * and the config alone cannot tell the two apart.
 */
export function referenceLogits(
  config: HfConfig,
  weights: ReadonlyMap<string, RefTensor>,
  tokens: readonly number[],
): number[][] {
  const D = checkConfig(config);
  const C = config.hidden_size;
  const I = config.intermediate_size;
  const H = config.num_attention_heads;
  const Hkv = config.num_key_value_heads;
  const V = config.vocab_size;
  const T = tokens.length;
  const groupSize = H / Hkv;
  const eps = config.rms_norm_eps;

  const embed = getWeight(weights, "model.embed_tokens.weight", [V, C]);

  // Residual stream, one Float64Array of length C per position.
  let hidden: Float64Array[] = tokens.map((tok, t) => {
    if (!Number.isInteger(tok) || tok < 0 || tok >= V) {
      throw new Error(`llama-reference: token ${tok} at position ${t} is outside the vocabulary [0, ${V})`);
    }
    return embed.slice(tok * C, (tok + 1) * C);
  });

  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const p = `model.layers.${layer}.`;
    const inNorm = getWeight(weights, `${p}input_layernorm.weight`, [C]);
    const wq = getWeight(weights, `${p}self_attn.q_proj.weight`, [H * D, C]);
    const wk = getWeight(weights, `${p}self_attn.k_proj.weight`, [Hkv * D, C]);
    const wv = getWeight(weights, `${p}self_attn.v_proj.weight`, [Hkv * D, C]);
    const wo = getWeight(weights, `${p}self_attn.o_proj.weight`, [C, H * D]);
    const bq = config.attention_bias ? getWeight(weights, `${p}self_attn.q_proj.bias`, [H * D]) : null;
    const bk = config.attention_bias ? getWeight(weights, `${p}self_attn.k_proj.bias`, [Hkv * D]) : null;
    const bv = config.attention_bias ? getWeight(weights, `${p}self_attn.v_proj.bias`, [Hkv * D]) : null;
    const bo = weights.has(`${p}self_attn.o_proj.bias`) ? getWeight(weights, `${p}self_attn.o_proj.bias`, [C]) : null;
    const postNorm = getWeight(weights, `${p}post_attention_layernorm.weight`, [C]);
    const wGate = getWeight(weights, `${p}mlp.gate_proj.weight`, [I, C]);
    const wUp = getWeight(weights, `${p}mlp.up_proj.weight`, [I, C]);
    const wDown = getWeight(weights, `${p}mlp.down_proj.weight`, [C, I]);

    // --- Self-attention block (pre-norm) ---
    const q: Float64Array[] = [];
    const k: Float64Array[] = [];
    const v: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const x = rmsNorm(hidden[t], inNorm, eps);
      const qt = linear(x, wq, bq, H * D, C);
      const kt = linear(x, wk, bk, Hkv * D, C);
      const vt = linear(x, wv, bv, Hkv * D, C);
      // RoPE is applied after the bias (HF adds the bias inside the Linear, then rotates).
      for (let h = 0; h < H; h++) applyRope(qt, h * D, D, t, config.rope_theta);
      for (let g = 0; g < Hkv; g++) applyRope(kt, g * D, D, t, config.rope_theta);
      q.push(qt);
      k.push(kt);
      v.push(vt);
    }

    const scale = 1 / Math.sqrt(D);
    const afterAttn: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      // Concatenated head outputs [H * D], head-major, as HF reshapes before o_proj.
      const heads = new Float64Array(H * D);
      for (let h = 0; h < H; h++) {
        // repeat_kv: query head h reads KV head floor(h / groupSize), i.e. contiguous groups.
        const g = Math.floor(h / groupSize);
        // Causal: position t attends to positions 0..t only.
        const scores = new Float64Array(t + 1);
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[t][h * D + d] * k[s][g * D + d];
          scores[s] = dot * scale;
        }
        // Softmax with the max subtracted, only for numerical range; it does not change the result.
        let max = -Infinity;
        for (let s = 0; s <= t; s++) max = Math.max(max, scores[s]);
        let denom = 0;
        for (let s = 0; s <= t; s++) {
          scores[s] = Math.exp(scores[s] - max);
          denom += scores[s];
        }
        for (let s = 0; s <= t; s++) {
          const weight = scores[s] / denom;
          for (let d = 0; d < D; d++) heads[h * D + d] += weight * v[s][g * D + d];
        }
      }
      const attnOut = linear(heads, wo, bo, C, H * D);
      const residual = new Float64Array(C);
      for (let c = 0; c < C; c++) residual[c] = hidden[t][c] + attnOut[c];
      afterAttn.push(residual);
    }

    // --- MLP block (pre-norm, SwiGLU) ---
    const afterMlp: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const x = rmsNorm(afterAttn[t], postNorm, eps);
      const gate = linear(x, wGate, null, I, C);
      const up = linear(x, wUp, null, I, C);
      const act = new Float64Array(I);
      for (let i = 0; i < I; i++) act[i] = silu(gate[i]) * up[i];
      const down = linear(act, wDown, null, C, I);
      const residual = new Float64Array(C);
      for (let c = 0; c < C; c++) residual[c] = afterAttn[t][c] + down[c];
      afterMlp.push(residual);
    }
    hidden = afterMlp;
  }

  const finalNorm = getWeight(weights, "model.norm.weight", [C]);
  // With tied embeddings HF makes lm_head.weight the very same tensor as the embedding,
  // so any separately stored lm_head.weight is ignored.
  const head = config.tie_word_embeddings ? embed : getWeight(weights, "lm_head.weight", [V, C]);

  const logits: number[][] = [];
  for (let t = 0; t < T; t++) {
    const x = rmsNorm(hidden[t], finalNorm, eps);
    logits.push(Array.from(linear(x, head, null, V, C)));
  }
  return logits;
}
