/**
 * Matrix-product benchmark: GFLOP/s of the fast kernel (`matmulTransposedKernel`), its reference loop,
 * and two yardsticks kept here only to be timed — the kernel this project had before (one row, four
 * columns at a time) and a plain K x N register-tiled kernel (the usual first attempt) — at
 * M ∈ {1, 4, 16, 32, 64} rows and K = N ∈ {256, 512} — plus the machine's scalar float64 peak, which is
 * what plain JavaScript can reach at best (V8 emits scalar code: no SIMD, no fused multiply-add).
 *
 * A benchmark, not a test: compare numbers measured in the same run only.
 *
 * @module
 */
import { matmulTransposedKernel, matmulTransposedReference } from "../src/tensor/kernels.ts";
import { Rng } from "../src/tensor/random.ts";

/** A kernel `out[M, N] = x[M, K] (w as the kernel stores it)`. */
type Matmul = (out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number) => void;

/**
 * The yardstick: `out = x w` with `w` stored `[K, N]` and a 4 x 4 register tile (four rows share each
 * load of four contiguous weights). Not used by the model; same per-element order as the others.
 */
export function matmulKxN4x4(out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i += 4) {
    const rows = Math.min(4, M - i);
    const x0 = i * K, x1 = rows > 1 ? x0 + K : x0, x2 = rows > 2 ? x0 + 2 * K : x0, x3 = rows > 3 ? x0 + 3 * K : x0;
    for (let n = 0; n < N; n += 4) {
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
      for (let k = 0, p = n; k < K; k++, p += N) {
        const b0 = w[p], b1 = w[p + 1], b2 = w[p + 2], b3 = w[p + 3];
        let u = x[x0 + k];
        a00 += u * b0; a01 += u * b1; a02 += u * b2; a03 += u * b3;
        u = x[x1 + k];
        a10 += u * b0; a11 += u * b1; a12 += u * b2; a13 += u * b3;
        u = x[x2 + k];
        a20 += u * b0; a21 += u * b1; a22 += u * b2; a23 += u * b3;
        u = x[x3 + k];
        a30 += u * b0; a31 += u * b1; a32 += u * b2; a33 += u * b3;
      }
      const tile = [a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33];
      for (let r = 0; r < rows; r++) for (let c = 0; c < 4; c++) out[(i + r) * N + n + c] = tile[r * 4 + c];
    }
  }
}

/** The kernel before issue 7: one row at a time, four columns side by side sharing the loads of `x`. */
function matmulOneRowFourColumns(out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const xo = i * K, oo = i * N;
    for (let n = 0; n < N; n += 4) {
      const w0 = n * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let k = 0; k < K; k++) {
        const u = x[xo + k];
        a0 += u * w[w0 + k]; a1 += u * w[w1 + k]; a2 += u * w[w2 + k]; a3 += u * w[w3 + k];
      }
      out[oo + n] = a0; out[oo + n + 1] = a1; out[oo + n + 2] = a2; out[oo + n + 3] = a3;
    }
  }
}

/** One row of the kernel table. */
export interface KernelRow {
  /** `tiled` (what the model runs), `before` (1 x 4), `kxn-4x4`, or `reference`. */
  readonly kernel: string;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** Best of the timed runs, 2 M N K / seconds / 1e9. */
  readonly gflops: number;
}

/** GFLOP/s of `fn` at one shape: the best of as many runs as fit in `ms` milliseconds (after a warm-up). */
function gflops(fn: Matmul, x: Float64Array, w: Float64Array, M: number, K: number, N: number, ms: number): number {
  const out = new Float64Array(M * N);
  fn(out, x, w, M, K, N);
  let best = Infinity;
  const start = performance.now();
  do {
    const t0 = performance.now();
    fn(out, x, w, M, K, N);
    best = Math.min(best, performance.now() - t0);
  } while (performance.now() - start < ms);
  return (2 * M * N * K) / (best / 1000) / 1e9;
}

/**
 * The kernel table: every kernel at every shape. Kernels are interleaved shape by shape so that a change
 * in the machine's load hits all of them alike.
 *
 * @example
 * ```ts
 * kernelTable({ rows: [1, 16], widths: [256], msPerPoint: 100 }); // 8 rows: 4 kernels x 2 shapes
 * ```
 */
export function kernelTable(options: { readonly rows: readonly number[]; readonly widths: readonly number[]; readonly msPerPoint: number }): KernelRow[] {
  const rng = new Rng("bench-kernels");
  const out: KernelRow[] = [];
  for (const K of options.widths) {
    const N = K;
    const w = Float64Array.from({ length: N * K }, () => rng.normal());
    const wKxN = new Float64Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wKxN[k * N + n] = w[n * K + k];
    for (const M of options.rows) {
      const x = Float64Array.from({ length: M * K }, () => rng.normal());
      const kernels: [string, Matmul, Float64Array][] = [
        ["tiled", matmulTransposedKernel, w], ["before", matmulOneRowFourColumns, w],
        ["kxn-4x4", matmulKxN4x4, wKxN], ["reference", matmulTransposedReference, w],
      ];
      for (const [kernel, fn, weights] of kernels) out.push({ kernel, M, K, N, gflops: gflops(fn, x, weights, M, K, N, options.msPerPoint) });
    }
  }
  return out;
}

/**
 * The scalar float64 peak of one core as V8 compiles it: twelve independent multiply-add chains (enough
 * to hide the latency of a multiply followed by an add), GFLOP/s (a multiply and an add count as two).
 */
export function scalarPeakGflops(ms: number): number {
  const chains = (n: number): number => {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0, a10 = 0, a11 = 0;
    const x = 1.0000001, y = 0.9999999;
    for (let i = 0; i < n; i++) {
      a0 = a0 * x + y; a1 = a1 * x + y; a2 = a2 * x + y; a3 = a3 * x + y; a4 = a4 * x + y; a5 = a5 * x + y;
      a6 = a6 * x + y; a7 = a7 * x + y; a8 = a8 * x + y; a9 = a9 * x + y; a10 = a10 * x + y; a11 = a11 * x + y;
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
  };
  const n = 1e6;
  chains(n);
  let best = Infinity;
  const start = performance.now();
  do {
    const t0 = performance.now();
    chains(n);
    best = Math.min(best, performance.now() - t0);
  } while (performance.now() - start < ms);
  return (24 * n) / (best / 1000) / 1e9;
}
