/**
 * Matrix-product benchmark: GFLOP/s of the fast kernel (`matmulTransposedKernel`) and of its reference
 * loop, at M ∈ {1, 4, 16, 32, 64} rows and K = N ∈ {256, 512} — plus the machine's scalar float64 peak,
 * which is what plain JavaScript can reach at best (V8 emits scalar code: no SIMD, no fused multiply-add).
 * The kernels it was measured against before (one row, four columns at a time; a plain K x N
 * register-tiled kernel) are yardsticks of `bench/experiments/kxn-baseline.ts`, which times them with
 * {@link kernelTable} too.
 *
 * A benchmark, not a test: compare numbers measured in the same run only.
 *
 * @module
 */
import { matmulTransposedKernel, matmulTransposedReference } from "../src/tensor/kernels.ts";
import { Rng } from "../src/tensor/random.ts";
import { interleavedTimesMs } from "../src/util/timing.ts";
import { spreadOf, type Spread } from "./spread.ts";

/** A kernel `out[M, N] = x[M, K] (w as the kernel stores it)`. */
export type Matmul = (out: Float64Array, x: Float64Array, w: Float64Array, M: number, K: number, N: number) => void;

/** A kernel of the table: its name, its function, and how it stores the weights ([N, K] as the model does, or [K, N]). */
export interface TableKernel {
  readonly name: string;
  readonly run: Matmul;
  readonly weights: "NxK" | "KxN";
}

/** What `npm run bench` times: the kernel the model runs, and the plain loop it is checked against. */
export const BENCH_KERNELS: readonly TableKernel[] = [
  { name: "tiled", run: matmulTransposedKernel, weights: "NxK" },
  { name: "reference", run: matmulTransposedReference, weights: "NxK" },
];

/** One row of the kernel table. */
export interface KernelRow {
  /** The kernel's name: `tiled` (what the model runs), `reference`, or a yardstick's. */
  readonly kernel: string;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** 2 M N K / seconds / 1e9, the median over the rounds. */
  readonly gflops: number;
  /** GFLOP/s of each round, in round order: round r of every kernel at one shape ran side by side. */
  readonly perRound: readonly number[];
  /** min, median and max of `gflops` over the rounds. */
  readonly spread: { readonly gflops: Spread };
}

/**
 * Calls per second of each of `fns` in each of `rounds` rounds (`[fn][round]`): the functions take turns
 * as {@link interleavedTimesMs} times them, each called as many times as fit in `ms` milliseconds per
 * round, after a warm-up round.
 */
function callsPerSecond(fns: readonly (() => unknown)[], ms: number, rounds: number): number[][] {
  const calls = fns.map((): number[] => []);
  const bursts = fns.map((fn, i) => () => {
    let n = 0;
    const start = performance.now();
    do { fn(); n++; } while (performance.now() - start < ms);
    calls[i].push(n);
  });
  // calls[i][0] is the warm-up round's
  return interleavedTimesMs(bursts, rounds).map((times, i) => times.map((t, r) => calls[i][r + 1] / (t / 1000)));
}

/**
 * The kernel table: every kernel at every shape, `rounds` rounds each. The kernels take turns at each
 * shape, round by round, so that a change in the machine's load hits all of them alike and a ratio of
 * two kernels can be taken round by round.
 *
 * @example
 * ```ts
 * kernelTable({ rows: [1, 16], widths: [256], msPerPoint: 100, rounds: 5 }); // 4 rows: 2 kernels x 2 shapes
 * ```
 */
export function kernelTable(
  options: { readonly rows: readonly number[]; readonly widths: readonly number[]; readonly msPerPoint: number; readonly rounds: number },
  kernels: readonly TableKernel[] = BENCH_KERNELS,
): KernelRow[] {
  const rng = new Rng("bench-kernels");
  const out: KernelRow[] = [];
  for (const K of options.widths) {
    const N = K;
    const w = Float64Array.from({ length: N * K }, () => rng.normal());
    const wKxN = new Float64Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wKxN[k * N + n] = w[n * K + k];
    for (const M of options.rows) {
      const x = Float64Array.from({ length: M * K }, () => rng.normal());
      const y = new Float64Array(M * N);
      const rates = callsPerSecond(kernels.map((k) => () => k.run(y, x, k.weights === "KxN" ? wKxN : w, M, K, N)), options.msPerPoint / options.rounds, options.rounds);
      kernels.forEach(({ name }, i) => {
        const perRound = rates[i].map((callsPerS) => (2 * M * N * K * callsPerS) / 1e9);
        const spread = spreadOf(perRound);
        out.push({ kernel: name, M, K, N, gflops: spread.median, perRound, spread: { gflops: spread } });
      });
    }
  }
  return out;
}

/**
 * The scalar float64 peak of one core as V8 compiles it: twelve independent multiply-add chains (enough
 * to hide the latency of a multiply followed by an add), GFLOP/s (a multiply and an add count as two) in
 * each of `rounds` rounds of `ms` milliseconds, after a warm-up round.
 */
export function scalarPeakGflops(ms: number, rounds: number): Spread {
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
  return spreadOf(callsPerSecond([() => chains(n)], ms / rounds, rounds)[0].map((callsPerS) => (24 * n * callsPerS) / 1e9));
}
