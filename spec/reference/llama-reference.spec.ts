/**
 * Self-test of the naive HF Llama/Qwen2 oracle in `llama-reference.ts`.
 *
 * These checks need no other model implementation: a hand computation of a
 * tiny model with mathjs matrices (written as whole-sequence matrix algebra,
 * unlike the oracle's per-position loops, and with RoPE as explicit rotation
 * matrices), plus structural properties (causality, GQA head sharing, tied
 * embeddings, input validation).
 */
import { add, dotMultiply, map, matrix, multiply, transpose, type Matrix } from "mathjs";
import { describe, expect, it } from "vitest";
import { referenceLogits, type HfConfig, type RefTensor } from "./llama-reference.ts";

/** mulberry32: tiny deterministic PRNG so the weights are identical on every run. */
function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTensor(rng: () => number, shape: readonly number[], scale = 0.5): RefTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = (rng() * 2 - 1) * scale;
  return { shape: [...shape], data };
}

/** Norm weights near 1 (as in real checkpoints) but not exactly 1, so a missing multiply is caught. */
function normTensor(rng: () => number, n: number): RefTensor {
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = 1 + (rng() * 2 - 1) * 0.3;
  return { shape: [n], data };
}

function headDimOf(c: HfConfig): number {
  return c.head_dim ?? c.hidden_size / c.num_attention_heads;
}

/** Random weights for every tensor the config calls for, plus lm_head.weight when untied. */
function randomWeights(c: HfConfig, seed: number): Map<string, RefTensor> {
  const rng = makeRng(seed);
  const C = c.hidden_size;
  const D = headDimOf(c);
  const H = c.num_attention_heads;
  const Hkv = c.num_key_value_heads;
  const I = c.intermediate_size;
  const w = new Map<string, RefTensor>();
  w.set("model.embed_tokens.weight", randomTensor(rng, [c.vocab_size, C], 1));
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    w.set(`${p}input_layernorm.weight`, normTensor(rng, C));
    w.set(`${p}self_attn.q_proj.weight`, randomTensor(rng, [H * D, C]));
    w.set(`${p}self_attn.k_proj.weight`, randomTensor(rng, [Hkv * D, C]));
    w.set(`${p}self_attn.v_proj.weight`, randomTensor(rng, [Hkv * D, C]));
    w.set(`${p}self_attn.o_proj.weight`, randomTensor(rng, [C, H * D]));
    if (c.attention_bias) {
      w.set(`${p}self_attn.q_proj.bias`, randomTensor(rng, [H * D]));
      w.set(`${p}self_attn.k_proj.bias`, randomTensor(rng, [Hkv * D]));
      w.set(`${p}self_attn.v_proj.bias`, randomTensor(rng, [Hkv * D]));
    }
    w.set(`${p}post_attention_layernorm.weight`, normTensor(rng, C));
    w.set(`${p}mlp.gate_proj.weight`, randomTensor(rng, [I, C]));
    w.set(`${p}mlp.up_proj.weight`, randomTensor(rng, [I, C]));
    w.set(`${p}mlp.down_proj.weight`, randomTensor(rng, [C, I]));
  }
  w.set("model.norm.weight", normTensor(rng, C));
  if (!c.tie_word_embeddings) w.set("lm_head.weight", randomTensor(rng, [c.vocab_size, C]));
  return w;
}

/** Maximum absolute elementwise difference between two logit tables of equal shape. */
function maxAbsDiff(a: number[][], b: number[][]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let t = 0; t < a.length; t++) {
    expect(a[t].length).toBe(b[t].length);
    for (let j = 0; j < a[t].length; j++) m = Math.max(m, Math.abs(a[t][j] - b[t][j]));
  }
  return m;
}

// ---------------------------------------------------------------------------
// mathjs hand computation helpers (whole-sequence matrices, rows = positions)
// ---------------------------------------------------------------------------

function rowsOf(m: Matrix): number[][] {
  return m.toArray() as number[][];
}

/** Weight as a mathjs matrix in its HF [out, in] layout. */
function mat(t: RefTensor): Matrix {
  const [rows, cols] = t.shape;
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) out.push(Array.from(t.data.subarray(r * cols, (r + 1) * cols)));
  return matrix(out);
}

/** X W^T (+ b on every row): what torch.nn.Linear does to a [T, in] batch. */
function linearRows(x: Matrix, w: RefTensor, b?: RefTensor): Matrix {
  const y = multiply(x, transpose(mat(w)));
  if (b === undefined) return y;
  const T = x.size()[0];
  const bias = matrix(Array.from({ length: T }, () => Array.from(b.data)));
  return add(y, bias);
}

function rmsRows(x: Matrix, w: RefTensor, eps: number): Matrix {
  return matrix(
    rowsOf(x).map((row) => {
      const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
      return row.map((v, i) => (v / Math.sqrt(ms + eps)) * w.data[i]);
    }),
  );
}

/**
 * RoPE for one position as an explicit D x D rotation matrix: HF's rotate-half
 * layout rotates the plane (j, j + D/2) by pos * theta^(-2j/D).
 */
function ropeMatrix(pos: number, D: number, theta: number): Matrix {
  const half = D / 2;
  const R: number[][] = Array.from({ length: D }, () => new Array<number>(D).fill(0));
  for (let j = 0; j < half; j++) {
    const a = pos * Math.pow(theta, (-2 * j) / D);
    R[j][j] = Math.cos(a);
    R[j][j + half] = -Math.sin(a);
    R[j + half][j] = Math.sin(a);
    R[j + half][j + half] = Math.cos(a);
  }
  return matrix(R);
}

/** Rotates row t of a [T, D] matrix by the rotation for position t. */
function ropeRows(x: Matrix, D: number, theta: number): Matrix {
  return matrix(rowsOf(x).map((row, t) => multiply(ropeMatrix(t, D, theta), matrix(row)).toArray() as number[]));
}

/**
 * The hand computation: a 1-layer, 1-head model, written as matrix algebra
 * over the whole sequence with an explicit causal mask.
 */
function handLogits(c: HfConfig, w: ReadonlyMap<string, RefTensor>, tokens: number[]): number[][] {
  const get = (name: string): RefTensor => {
    const t = w.get(name);
    if (t === undefined) throw new Error(`test: no ${name}`);
    return t;
  };
  const opt = (name: string): RefTensor | undefined => w.get(name);
  const D = headDimOf(c);
  const T = tokens.length;
  const eps = c.rms_norm_eps;
  const p = "model.layers.0.";

  const embed = rowsOf(mat(get("model.embed_tokens.weight")));
  const X = matrix(tokens.map((tok) => embed[tok]));

  const Xn = rmsRows(X, get(`${p}input_layernorm.weight`), eps);
  const Q = ropeRows(linearRows(Xn, get(`${p}self_attn.q_proj.weight`), opt(`${p}self_attn.q_proj.bias`)), D, c.rope_theta);
  const K = ropeRows(linearRows(Xn, get(`${p}self_attn.k_proj.weight`), opt(`${p}self_attn.k_proj.bias`)), D, c.rope_theta);
  const Vv = linearRows(Xn, get(`${p}self_attn.v_proj.weight`), opt(`${p}self_attn.v_proj.bias`));

  // Scores with an additive causal mask, then a row-wise softmax.
  const S = rowsOf(multiply(multiply(Q, transpose(K)), 1 / Math.sqrt(D)));
  const mask = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? 0 : -Infinity)));
  const E = rowsOf(map(add(matrix(S), matrix(mask)), (v: number) => Math.exp(v)));
  const P = matrix(E.map((row) => row.map((v) => v / row.reduce((a, b) => a + b, 0))));

  const attn = linearRows(multiply(P, Vv), get(`${p}self_attn.o_proj.weight`), opt(`${p}self_attn.o_proj.bias`));
  const H1 = add(X, attn);

  const N = rmsRows(H1, get(`${p}post_attention_layernorm.weight`), eps);
  const G = linearRows(N, get(`${p}mlp.gate_proj.weight`));
  const U = linearRows(N, get(`${p}mlp.up_proj.weight`));
  const act = dotMultiply(map(G, (g: number) => g / (1 + Math.exp(-g))), U);
  const H2 = add(H1, linearRows(act, get(`${p}mlp.down_proj.weight`)));

  const head = c.tie_word_embeddings ? get("model.embed_tokens.weight") : get("lm_head.weight");
  return rowsOf(linearRows(rmsRows(H2, get("model.norm.weight"), eps), head));
}

const tiny: HfConfig = {
  hidden_size: 4,
  intermediate_size: 6,
  num_hidden_layers: 1,
  num_attention_heads: 1,
  num_key_value_heads: 1,
  vocab_size: 7,
  // A small theta makes the rotation angles large, so RoPE mistakes show up at small positions.
  rope_theta: 3,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
  attention_bias: false,
};

describe("referenceLogits", () => {
  describe("matches a mathjs hand computation (1 layer, hidden 4, 1 head)", () => {
    const tokens = [3, 0, 6, 3, 1];

    it("without biases (Llama)", () => {
      const w = randomWeights(tiny, 1);
      const ref = referenceLogits(tiny, w, tokens);
      expect(ref.length).toBe(tokens.length);
      expect(ref[0].length).toBe(tiny.vocab_size);
      expect(maxAbsDiff(ref, handLogits(tiny, w, tokens))).toBeLessThan(1e-12);
    });

    it("with head_dim set explicitly (head_dim != hidden_size / num_attention_heads)", () => {
      const c = { ...tiny, head_dim: 6 };
      const w = randomWeights(c, 5);
      expect(maxAbsDiff(referenceLogits(c, w, tokens), handLogits(c, w, tokens))).toBeLessThan(1e-12);
    });

    it("with q/k/v biases (Qwen2)", () => {
      const c = { ...tiny, attention_bias: true };
      const w = randomWeights(c, 2);
      expect(maxAbsDiff(referenceLogits(c, w, tokens), handLogits(c, w, tokens))).toBeLessThan(1e-12);
    });

    it("with q/k/v and o_proj biases (Llama attention_bias)", () => {
      const c = { ...tiny, attention_bias: true };
      const w = randomWeights(c, 3);
      w.set("model.layers.0.self_attn.o_proj.bias", randomTensor(makeRng(33), [4]));
      const withO = referenceLogits(c, w, tokens);
      expect(maxAbsDiff(withO, handLogits(c, w, tokens))).toBeLessThan(1e-12);
      w.delete("model.layers.0.self_attn.o_proj.bias");
      // Guards against the hand computation silently dropping the bias too.
      expect(maxAbsDiff(withO, referenceLogits(c, w, tokens))).toBeGreaterThan(1e-3);
    });

    it("RoPE's theta matters at these positions (so the checks above exercise RoPE)", () => {
      const w = randomWeights(tiny, 1);
      const otherTheta = { ...tiny, rope_theta: 1e6 };
      expect(maxAbsDiff(referenceLogits(tiny, w, tokens), referenceLogits(otherTheta, w, tokens))).toBeGreaterThan(1e-3);
    });
  });

  it("is causal: logits of the first k tokens do not change when tokens are appended", () => {
    const c: HfConfig = {
      ...tiny,
      hidden_size: 8,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      vocab_size: 11,
      rope_theta: 10000,
      attention_bias: true,
    };
    const w = randomWeights(c, 4);
    const tokens = [5, 1, 9, 9, 0, 10, 2, 7];
    const full = referenceLogits(c, w, tokens);
    for (let k = 1; k < tokens.length; k++) {
      const prefix = referenceLogits(c, w, tokens.slice(0, k));
      // Same arithmetic in the same order for positions < k, so exactly equal.
      expect(prefix).toEqual(full.slice(0, k));
    }
    // And a later token does influence later positions (the model is not trivially position-local).
    const changed = referenceLogits(c, w, [...tokens.slice(0, 4), 3, ...tokens.slice(5)]);
    expect(changed.slice(0, 4)).toEqual(full.slice(0, 4));
    expect(maxAbsDiff(changed.slice(5), full.slice(5))).toBeGreaterThan(1e-6);
  });

  describe("GQA", () => {
    const base: HfConfig = {
      ...tiny,
      hidden_size: 6,
      head_dim: 4, // deliberately != hidden_size / num_attention_heads
      intermediate_size: 10,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      vocab_size: 9,
      rope_theta: 50,
      attention_bias: true,
    };
    const tokens = [1, 8, 2, 2, 5, 0];

    /**
     * Expands a Hkv-head model to one with H KV heads, giving query head h a copy
     * of KV head `pick(h)`. With pick = HF's floor(h / (H / Hkv)) the result must be
     * the same model.
     */
    function expandKv(c: HfConfig, w: ReadonlyMap<string, RefTensor>, pick: (h: number) => number): Map<string, RefTensor> {
      const D = headDimOf(c);
      const H = c.num_attention_heads;
      const C = c.hidden_size;
      const out = new Map(w);
      for (let l = 0; l < c.num_hidden_layers; l++) {
        for (const proj of ["k_proj", "v_proj"]) {
          const wName = `model.layers.${l}.self_attn.${proj}.weight`;
          const bName = `model.layers.${l}.self_attn.${proj}.bias`;
          const src = w.get(wName)!;
          const srcB = w.get(bName)!;
          const dst = new Float64Array(H * D * C);
          const dstB = new Float64Array(H * D);
          for (let h = 0; h < H; h++) {
            const g = pick(h);
            dst.set(src.data.subarray(g * D * C, (g + 1) * D * C), h * D * C);
            dstB.set(srcB.data.subarray(g * D, (g + 1) * D), h * D);
          }
          out.set(wName, { shape: [H * D, C], data: dst });
          out.set(bName, { shape: [H * D], data: dstB });
        }
      }
      return out;
    }

    for (const Hkv of [1, 2]) {
      it(`Hkv=${Hkv} equals Hkv=H with each KV head repeated for its contiguous query group`, () => {
        const c = { ...base, num_key_value_heads: Hkv };
        const w = randomWeights(c, 10 + Hkv);
        const grouped = referenceLogits(c, w, tokens);
        const full = { ...c, num_key_value_heads: c.num_attention_heads };
        const groupSize = c.num_attention_heads / Hkv;
        const expanded = referenceLogits(full, expandKv(c, w, (h) => Math.floor(h / groupSize)), tokens);
        expect(maxAbsDiff(grouped, expanded)).toBeLessThan(1e-12);
        if (Hkv > 1) {
          // The interleaved mapping (h % Hkv) is a plausible bug; it must give a different model.
          const wrong = referenceLogits(full, expandKv(c, w, (h) => h % Hkv), tokens);
          expect(maxAbsDiff(grouped, wrong)).toBeGreaterThan(1e-6);
        }
      });
    }
  });

  describe("tied embeddings", () => {
    const tokens = [0, 4, 4, 2];

    it("uses the embedding matrix as lm_head", () => {
      const tied = { ...tiny, tie_word_embeddings: true };
      const w = randomWeights(tied, 20);
      expect(w.has("lm_head.weight")).toBe(false);
      const tiedLogits = referenceLogits(tied, w, tokens);

      const untied = new Map(w);
      const embed = w.get("model.embed_tokens.weight")!;
      untied.set("lm_head.weight", { shape: [...embed.shape], data: embed.data.slice() });
      expect(maxAbsDiff(tiedLogits, referenceLogits({ ...tiny, tie_word_embeddings: false }, untied, tokens))).toBe(0);
      expect(maxAbsDiff(tiedLogits, handLogits(tied, w, tokens))).toBeLessThan(1e-12);
    });

    it("ignores a stored lm_head.weight when tied, and uses it when not", () => {
      const tied = { ...tiny, tie_word_embeddings: true };
      const w = randomWeights(tied, 21);
      const tiedLogits = referenceLogits(tied, w, tokens);
      const withHead = new Map(w);
      withHead.set("lm_head.weight", randomTensor(makeRng(99), [tiny.vocab_size, tiny.hidden_size]));
      expect(referenceLogits(tied, withHead, tokens)).toEqual(tiedLogits);
      expect(maxAbsDiff(referenceLogits(tiny, withHead, tokens), tiedLogits)).toBeGreaterThan(1e-3);
    });
  });

  describe("input validation", () => {
    it("throws on a missing weight, naming it", () => {
      const w = randomWeights(tiny, 30);
      w.delete("model.layers.0.mlp.up_proj.weight");
      expect(() => referenceLogits(tiny, w, [1])).toThrow(/missing weight "model\.layers\.0\.mlp\.up_proj\.weight"/);
    });

    it("throws on a missing bias when attention_bias is set", () => {
      const c = { ...tiny, attention_bias: true };
      const w = randomWeights(c, 31);
      w.delete("model.layers.0.self_attn.k_proj.bias");
      expect(() => referenceLogits(c, w, [1])).toThrow(/k_proj\.bias/);
    });

    it("throws on a missing lm_head when untied", () => {
      const w = randomWeights(tiny, 32);
      w.delete("lm_head.weight");
      expect(() => referenceLogits(tiny, w, [1])).toThrow(/lm_head\.weight/);
    });

    it("throws on a wrong shape, e.g. a transposed Linear", () => {
      const w = randomWeights(tiny, 33);
      const gate = w.get("model.layers.0.mlp.gate_proj.weight")!;
      w.set("model.layers.0.mlp.gate_proj.weight", { shape: [4, 6], data: gate.data });
      expect(() => referenceLogits(tiny, w, [1])).toThrow(/gate_proj\.weight" has shape \[4, 6\], expected \[6, 4\]/);
    });

    it("throws on a data length that disagrees with the shape", () => {
      const w = randomWeights(tiny, 34);
      w.set("model.norm.weight", { shape: [4], data: new Float64Array(3) });
      expect(() => referenceLogits(tiny, w, [1])).toThrow(/model\.norm\.weight/);
    });

    it("throws on an out-of-vocabulary token and on a bad head split", () => {
      const w = randomWeights(tiny, 35);
      expect(() => referenceLogits(tiny, w, [7])).toThrow(/outside the vocabulary/);
      expect(() => referenceLogits({ ...tiny, num_attention_heads: 3, num_key_value_heads: 2, head_dim: 2 }, w, [1])).toThrow(
        /multiple of num_key_value_heads/,
      );
    });
  });
});
