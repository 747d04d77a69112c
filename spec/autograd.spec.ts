/**
 * Gradient checks: every differentiable primitive and the whole model loss, against central finite
 * differences in float64, on random inputs and random tiny configs (GQA, tied embeddings, q/k/v
 * biases), with causal attention and with an explicit mask and repeated positions (packed sequences).
 * Also: the no-grad path builds no graph, gradients accumulate, and the soft cross-entropy sends no
 * gradient into its teacher rows.
 *
 * @module
 */
import { describe, expect, it } from "vitest";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams, namedParams } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { backward, gradOf } from "../src/tensor/autograd.ts";
import { crossEntropy, softCrossEntropy } from "../src/tensor/losses.ts";
import { add, attention, embedding, linear, matmul, mul, rmsNorm, rope, scale, silu, softmax } from "../src/tensor/ops.ts";
import { Rng } from "../src/tensor/random.ts";
import { Tensor } from "../src/tensor/tensor.ts";

// ---------------------------------------------------------------- helpers

function randomTensor(rng: Rng, shape: number[], std = 1): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = std * rng.normal();
  t.requiresGrad = true;
  return t;
}

/** A fixed random linear functional of a tensor, so every output element matters: sum(out * weights). */
function probe(out: Tensor, rng: Rng): Tensor {
  const w = Tensor.zeros(out.shape);
  for (let i = 0; i < w.size; i++) w.data[i] = rng.normal();
  const prod = mul(out, w);
  const s = Tensor.from([prod.data.reduce((a, b) => a + b, 0)], []);
  // the sum as a primitive of its own: d(sum)/d(prod) = 1
  s.node = { inputs: [prod], backward: (g) => { const d = gradOf(prod); for (let i = 0; i < d.length; i++) d[i] += g[0]; } };
  return s;
}

/**
 * Compares the analytic gradient of `f` (a scalar function of `inputs`) with central differences
 * `(f(x + h) - f(x - h)) / 2h` for every element (or `samples` random elements) of every input.
 * Reports the label, input, element and both values of the worst mismatch.
 */
function checkGradients(label: string, inputs: Tensor[], f: () => Tensor, samples = Infinity, h = 1e-5, tolerance = 1e-6): void {
  for (const t of inputs) t.grad = null;
  backward(f());
  const rng = new Rng(`${label}-samples`);
  let worst = { error: 0, where: "" };
  inputs.forEach((t, which) => {
    const analytic = t.grad ? Float64Array.from(t.grad) : new Float64Array(t.size);
    const indices = samples >= t.size ? Array.from({ length: t.size }, (_, i) => i) : Array.from({ length: samples }, () => rng.int(t.size));
    for (const i of indices) {
      const saved = t.data[i];
      t.data[i] = saved + h;
      const plus = f().data[0];
      t.data[i] = saved - h;
      const minus = f().data[0];
      t.data[i] = saved;
      const numeric = (plus - minus) / (2 * h);
      const error = Math.abs(numeric - analytic[i]) / Math.max(1, Math.abs(numeric));
      if (error > worst.error) worst = { error, where: `input ${which} ${JSON.stringify(t.shape)} element ${i}: analytic ${analytic[i]}, numeric ${numeric}` };
    }
  });
  expect(worst.error, `${label}: largest relative gradient error at ${worst.where}`).toBeLessThan(tolerance);
}

// ---------------------------------------------------------------- primitives

describe("gradients of the primitives match finite differences", () => {
  const rng = new Rng("primitives");
  it("linear with and without bias, matmul", () => {
    const x = randomTensor(rng, [3, 5]), w = randomTensor(rng, [4, 5]), b = randomTensor(rng, [4]), m = randomTensor(rng, [5, 2]);
    checkGradients("linear+bias", [x, w, b], () => probe(linear(x, w, b), new Rng("p1")));
    checkGradients("linear", [x, w], () => probe(linear(x, w), new Rng("p2")));
    checkGradients("matmul", [x, m], () => probe(matmul(x, m), new Rng("p3")));
  });
  it("add, mul, scale, silu, softmax", () => {
    const a = randomTensor(rng, [2, 3]), b = randomTensor(rng, [2, 3]);
    checkGradients("add", [a, b], () => probe(add(a, b), new Rng("p4")));
    checkGradients("mul", [a, b], () => probe(mul(a, b), new Rng("p5")));
    checkGradients("scale", [a], () => probe(scale(a, -2.5), new Rng("p6")));
    checkGradients("silu", [a], () => probe(silu(a), new Rng("p7")));
    checkGradients("softmax", [a], () => probe(softmax(a), new Rng("p8")));
  });
  it("rmsNorm, embedding with repeated ids, rope with repeated positions", () => {
    const x = randomTensor(rng, [3, 6]), w = randomTensor(rng, [6]), table = randomTensor(rng, [5, 4]);
    checkGradients("rmsNorm", [x, w], () => probe(rmsNorm(x, w, 1e-6), new Rng("p9")));
    checkGradients("embedding", [table], () => probe(embedding(table, [1, 3, 1, 0]), new Rng("p10")));
    const q = randomTensor(rng, [4, 8]);
    checkGradients("rope", [q], () => probe(rope(q, [0, 3, 3, 7], 2, 10000), new Rng("p11")));
  });
  it("attention with GQA: causal with cached rows, and an explicit mask", () => {
    const shape = { numHeads: 4, numKeyValueHeads: 2, headDim: 3 };
    const q = randomTensor(rng, [3, 12]), k = randomTensor(rng, [5, 6]), v = randomTensor(rng, [5, 6]);
    checkGradients("attention causal", [q, k, v], () => probe(attention(q, k, v, shape, { kind: "causal", offset: 2 }), new Rng("p12")));
    const visible = Uint8Array.from([1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1]);
    checkGradients("attention mask", [q, k, v], () => probe(attention(q, k, v, shape, { kind: "explicit", visible }), new Rng("p13")));
  });
  it("cross-entropy with an ignore index", () => {
    const z = randomTensor(rng, [4, 5]);
    checkGradients("crossEntropy mean", [z], () => crossEntropy(z, [1, -1, 4, 0]));
    checkGradients("crossEntropy sum", [z], () => crossEntropy(z, [1, -1, 4, 0], -1, "sum"));
    z.grad = null;
    backward(crossEntropy(z, [1, -1, 4, 0]));
    expect(Array.from(z.grad!.subarray(5, 10))).toEqual([0, 0, 0, 0, 0]); // the ignored row gets nothing
  });
  it("soft cross-entropy: gradient into student rows only, equal to (softmax(S) - softmax(T)) / n", () => {
    const z = randomTensor(rng, [4, 5]);
    // the teacher is a constant snapshot in the finite differences too (stop-gradient)
    const teacher = new Tensor(Float64Array.from(z.data), z.shape);
    const studentOnly = (): Tensor => softCrossEntropy(z, [0, 1], teacher, [2, 3]);
    checkGradients("softCrossEntropy", [z], studentOnly);
    z.grad = null;
    backward(softCrossEntropy(z, [0, 1], z, [2, 3]));
    expect(Array.from(z.grad!.subarray(10, 20)).every((g) => g === 0)).toBe(true);
    const s = softmax(new Tensor(z.data.slice(0, 5), [1, 5])).data, t = softmax(new Tensor(z.data.slice(10, 15), [1, 5])).data;
    for (let j = 0; j < 5; j++) expect(z.grad![j]).toBeCloseTo((s[j] - t[j]) / 2, 14);
  });
});

// ---------------------------------------------------------------- autograd mechanics

describe("autograd mechanics", () => {
  it("constants in: no graph, no gradient buffers", () => {
    const params = initParams(PRESETS.tiny, { seed: 3 });
    const logits = forward(PRESETS.tiny, params, [1, 5, 6]);
    expect(logits.node).toBeNull();
    for (const [, t] of namedParams(PRESETS.tiny, params)) expect(t.grad).toBeNull();
  });
  it("a tensor used twice accumulates both gradients; repeated backward accumulates", () => {
    const w = new Tensor(Float64Array.from([3]), [1], true);
    backward(mul(w, w));
    expect(w.grad![0]).toBe(6);
    backward(mul(w, w));
    expect(w.grad![0]).toBe(12);
  });
  it("the forward values do not change when a graph is recorded", () => {
    const params = initParams(PRESETS.tiny, { seed: 4 });
    const before = forward(PRESETS.tiny, params, [1, 7, 8, 9]).data;
    for (const [, t] of namedParams(PRESETS.tiny, params)) t.requiresGrad = true;
    const after = forward(PRESETS.tiny, params, [1, 7, 8, 9]);
    expect(after.node).not.toBeNull();
    expect(Array.from(after.data)).toEqual(Array.from(before));
  });
});

// ---------------------------------------------------------------- the whole model

describe("the whole model loss matches finite differences", () => {
  const base: ModelConfig = { ...PRESETS.tiny, vocabSize: 11, hiddenSize: 8, intermediateSize: 12, numLayers: 2, numHeads: 4, numKeyValueHeads: 2, maxPositions: 16 };
  const cases: [string, ModelConfig, { positions?: number[]; mask?: Uint8Array }][] = [
    ["Llama, untied, causal", base, {}],
    ["Qwen2 biases, tied embeddings, causal", { ...base, architecture: "Qwen2ForCausalLM", attentionBias: true, tieWordEmbeddings: true }, {}],
    ["GQA 4:1, explicit mask and repeated positions", { ...base, numKeyValueHeads: 1, attentionBias: true }, {
      // two packed documents of 3 tokens, each seeing only itself, positions restarting at 0
      positions: [0, 1, 2, 0, 1, 2],
      mask: Uint8Array.from([
        1, 0, 0, 0, 0, 0,
        1, 1, 0, 0, 0, 0,
        1, 1, 1, 0, 0, 0,
        0, 0, 0, 1, 0, 0,
        0, 0, 0, 1, 1, 0,
        0, 0, 0, 1, 1, 1,
      ]),
    }],
  ];
  for (const [label, config, options] of cases) {
    it(label, () => {
      const params = initParams(config, { seed: 7, std: 0.5 });
      const tensors = namedParams(config, params).map(([, t]) => t);
      for (const t of tensors) t.requiresGrad = true;
      const tokens = [1, 4, 9, 3, 10, 5];
      const targets = [4, 9, -1, 10, 5, 2];
      const f = (): Tensor => crossEntropy(forward(config, params, tokens, options), targets);
      checkGradients(label, tensors, f, 6);
    });
  }
});
