/**
 * The fast matrix product against its reference loop, bit for bit.
 *
 * `matmulTransposedKernel` tiles rows by three and columns by four or eight; `matmulTransposedReference`
 * computes one dot product at a time. Because the tiles never reassociate a dot product, the two must
 * agree exactly — on every shape (row counts that leave 0, 1 or 2 rows after the tiles, column counts
 * that leave remainders after blocks of 4 and 8), and whatever column range a thread is given.
 *
 * What this file does not test: the other kernels (spec/tensor.spec.ts checks all of them against mathjs
 * and for batch invariance).
 *
 * @module
 */
import fc from "fast-check";
import { describe, it } from "vitest";

import { matmulTransposedColumns, matmulTransposedKernel, matmulTransposedReference } from "../src/tensor/kernels.ts";
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
      matmulTransposedColumns(halves, x, w, M, K, N, 0, split);
      matmulTransposedColumns(halves, x, w, M, K, N, split, N);
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
