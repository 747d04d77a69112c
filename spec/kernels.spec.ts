/**
 * The fast matrix product and the fast attention against their reference loops, bit for bit.
 *
 * `matmulTransposedKernel` tiles rows by three and columns by four or eight; `matmulTransposedReference`
 * computes one dot product at a time. Because the tiles never reassociate a dot product, the two must
 * agree exactly — on every shape (row counts that leave 0, 1 or 2 rows after the tiles, column counts
 * that leave remainders after blocks of 4 and 8), and whatever column range a thread is given.
 *
 * `attentionKernel` gathers each row's visible keys and takes four keys' scores and two keys' values per
 * pass; `attentionReference` visits every key of every (row, head) pair in turn and skips the hidden
 * ones. They must agree exactly, outputs and weights — on every head layout (grouped-query included),
 * causal after a cache or through an explicit mask, and whatever range of (row, head) pairs a thread is
 * given.
 *
 * What this file does not test: the other kernels (spec/tensor.spec.ts checks all of them against mathjs
 * and for batch invariance).
 *
 * @module
 */
import fc from "fast-check";
import { describe, it } from "vitest";

import {
  attentionKernel, attentionReference, matmulTransposedKernel, matmulTransposedReference,
  type AttentionShape, type Visibility,
} from "../src/tensor/kernels.ts";
import { expectBitIdentical } from "./helpers/models.ts";

const RUNS = { numRuns: 200 };

/** Shapes M 1..20, K 1..70, N 1..40, with values of mixed magnitude (so rounding matters). */
const cases = fc.record({ M: fc.integer({ min: 1, max: 20 }), K: fc.integer({ min: 1, max: 70 }), N: fc.integer({ min: 1, max: 40 }) })
  .chain(({ M, K, N }) => fc.record({
    M: fc.constant(M), K: fc.constant(K), N: fc.constant(N),
    x: fc.float64Array({ minLength: M * K, maxLength: M * K, noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }),
    w: fc.float64Array({ minLength: N * K, maxLength: N * K, noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }),
    split: fc.integer({ min: 0, max: N }),
  }));

describe("matmulTransposedKernel", () => {
  it("equals the one-dot-product-at-a-time reference bit for bit, on every shape", () => {
    fc.assert(fc.property(cases, ({ M, K, N, x, w }) => {
      const fast = new Float64Array(M * N);
      const reference = new Float64Array(M * N);
      matmulTransposedKernel(fast, x, w, M, K, N);
      matmulTransposedReference(reference, x, w, M, K, N);
      expectBitIdentical(`matmulTransposedKernel vs reference, M ${M} K ${K} N ${N}`, fast, reference, N);
    }), RUNS);
  });

  it("gives the same bits when the columns are split in two at any point (how threads share it)", () => {
    fc.assert(fc.property(cases, ({ M, K, N, x, w, split }) => {
      const whole = new Float64Array(M * N);
      const halves = new Float64Array(M * N);
      matmulTransposedKernel(whole, x, w, M, K, N);
      matmulTransposedKernel(halves, x, w, M, K, N, 0, split);
      matmulTransposedKernel(halves, x, w, M, K, N, split, N);
      expectBitIdentical(`columns 0..${split} and ${split}..${N} vs all at once, M ${M} K ${K}`, halves, whole, N);
    }), RUNS);
  });

  it("gives row i the same bits whether it is computed alone or among M rows", () => {
    fc.assert(fc.property(cases, ({ M, K, N, x, w }) => {
      const all = new Float64Array(M * N);
      matmulTransposedKernel(all, x, w, M, K, N);
      const oneByOne = new Float64Array(M * N);
      for (let i = 0; i < M; i++) {
        matmulTransposedKernel(oneByOne.subarray(i * N, (i + 1) * N), x.subarray(i * K, (i + 1) * K), w, 1, K, N);
      }
      expectBitIdentical(`rows one at a time vs ${M} rows, K ${K} N ${N}`, oneByOne, all, N);
    }), RUNS);
  });
});

/**
 * Attention calls: M 1..12 query rows after P 0..20 cached keys (L = P + M), Hkv 1..3 key/value heads
 * each shared by 1..3 query heads, head size D 1..9; causal, or an explicit [M, L] mask in which every
 * row sees at least one key; values of mixed magnitude; and up to three cut points in the pairs.
 */
const attentionCases = fc.record({
  M: fc.integer({ min: 1, max: 12 }), P: fc.integer({ min: 0, max: 20 }),
  Hkv: fc.integer({ min: 1, max: 3 }), group: fc.integer({ min: 1, max: 3 }), D: fc.integer({ min: 1, max: 9 }),
  explicit: fc.boolean(),
}).chain(({ M, P, Hkv, group, D, explicit }) => {
  const H = Hkv * group, L = P + M;
  const values = (n: number) => fc.float64Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -10, max: 10 });
  return fc.record({
    M: fc.constant(M), L: fc.constant(L),
    shape: fc.constant<AttentionShape>({ numHeads: H, numKeyValueHeads: Hkv, headDim: D }),
    q: values(M * H * D), k: values(L * Hkv * D), v: values(L * Hkv * D),
    visibility: explicit
      ? fc.tuple(fc.array(fc.boolean(), { minLength: M * L, maxLength: M * L }), fc.array(fc.nat({ max: L - 1 }), { minLength: M, maxLength: M }))
        .map(([bits, seen]): Visibility => {
          const visible = Uint8Array.from(bits, (b) => (b ? 1 : 0));
          seen.forEach((j, i) => { visible[i * L + j] = 1; });       // every row sees at least one key
          return { kind: "explicit", visible };
        })
      : fc.constant<Visibility>({ kind: "causal", offset: P }),
    cuts: fc.array(fc.integer({ min: 0, max: M * H }), { maxLength: 3 }).map((c) => [...c].sort((a, b) => a - b)),
  });
});

const label = ({ M, L, shape, visibility }: { M: number; L: number; shape: AttentionShape; visibility: Visibility }) =>
  `M ${M} L ${L} H ${shape.numHeads} Hkv ${shape.numKeyValueHeads} D ${shape.headDim} ${visibility.kind}`;

describe("attentionKernel", () => {
  it("equals the one-pair-at-a-time reference bit for bit, outputs and weights, on every shape and visibility", () => {
    fc.assert(fc.property(attentionCases, (c) => {
      const { M, L, shape, q, k, v, visibility } = c;
      const width = shape.numHeads * shape.headDim;
      const fast = { out: new Float64Array(M * width), probs: new Float64Array(M * shape.numHeads * L) };
      const reference = { out: new Float64Array(M * width), probs: new Float64Array(M * shape.numHeads * L) };
      attentionKernel(fast.out, fast.probs, q, k, v, M, L, shape, visibility);
      attentionReference(reference.out, reference.probs, q, k, v, M, L, shape, visibility);
      expectBitIdentical(`attentionKernel vs reference, out, ${label(c)}`, fast.out, reference.out, width);
      expectBitIdentical(`attentionKernel vs reference, weights, ${label(c)}`, fast.probs, reference.probs, L);
    }), RUNS);
  });

  it("gives the reference's bits when the (row, head) pairs are split at any points (how threads share it)", () => {
    fc.assert(fc.property(attentionCases, (c) => {
      const { M, L, shape, q, k, v, visibility, cuts } = c;
      const width = shape.numHeads * shape.headDim;
      const split = { out: new Float64Array(M * width), probs: new Float64Array(M * shape.numHeads * L) };
      const reference = { out: new Float64Array(M * width), probs: new Float64Array(M * shape.numHeads * L) };
      const bounds = [0, ...cuts, M * shape.numHeads];
      for (let r = 0; r + 1 < bounds.length; r++) attentionKernel(split.out, split.probs, q, k, v, M, L, shape, visibility, bounds[r], bounds[r + 1]);
      attentionReference(reference.out, reference.probs, q, k, v, M, L, shape, visibility);
      expectBitIdentical(`pairs split at ${cuts.join(", ")} vs reference, out, ${label(c)}`, split.out, reference.out, width);
      expectBitIdentical(`pairs split at ${cuts.join(", ")} vs reference, weights, ${label(c)}`, split.probs, reference.probs, L);
    }), RUNS);
  });
});
