/**
 * Forward-pass benchmark on the random `small` model: the cost curve t(T)/t(1) — how long a forward over
 * T new tokens takes, in single-token forwards, after a cache of 64 tokens — and AR greedy tokens/s.
 * The curve decides whether Jacobi decoding can pay off in wall-clock time: it pays only where a
 * forward over n tokens costs little more than a forward over one. `--block-size auto` reads a curve
 * measured the same way (`measureCostCurve`, on the model it decodes with). And the forward on two
 * kernel threads against one, with a check that the logits are bit-identical.
 *
 * Every measure is taken in rounds, the runs it compares taking turns, and reported with its spread over
 * the rounds (min, median, max); a ratio is taken round by round.
 *
 * A benchmark, not a test: numbers depend on the machine and its load. Compare ratios measured in the
 * same run only.
 *
 * @module
 */
import { KVCache } from "../src/model/cache.ts";
import type { ModelConfig } from "../src/model/config.ts";
import type { Params } from "../src/model/params.ts";
import { startKernelThreads } from "../src/node/kernel-threads.ts";
import { forward } from "../src/model/transformer.ts";
import { argmax } from "../src/tensor/ops.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { interleavedTimesMs } from "../src/util/timing.ts";
import { pairedSpread, spreadOf, type Spread } from "./spread.ts";

/** One point of the bench's cost curve. */
export interface CostCurvePoint {
  /** Tokens in the forward. */
  readonly T: number;
  /** t(T): median wall time of one forward over the rounds, ms. */
  readonly ms: number;
  /** t(T) / t(1), the median over the rounds of each round's ratio. */
  readonly ratio: number;
  /** min, median and max over the rounds of `ms` and of `ratio`. */
  readonly spread: { readonly ms: Spread; readonly ratio: Spread };
}

/**
 * t(T) and t(T)/t(1) for each T in `sizes` (1 added when missing): one forward of each size per round,
 * with its argmax, after a 64-token cache (truncated back after each, as Jacobi's rollback does), the
 * sizes taking turns after three warm-up rounds — as `measureCostCurve` times them for `--block-size
 * auto`, here keeping each round's times, whose spread the bench reports.
 */
export function forwardCost(config: ModelConfig, params: Params, sizes: readonly number[], rounds: number): CostCurvePoint[] {
  const cached = 64;
  const all = [...new Set([1, ...sizes])].sort((a, b) => a - b);
  const token = (i: number) => (config.bosTokenId! + 1 + i) % config.vocabSize;
  const cache = new KVCache(config);
  forward(config, params, Array.from({ length: cached }, (_, i) => token(i)), { cache });
  const runs = all.map((T) => {
    const tokens = Array.from({ length: T }, (_, i) => token(7 * i));
    return () => {
      argmax(forward(config, params, tokens, { cache }));
      cache.truncate(cached);
    };
  });
  const times = interleavedTimesMs(runs, rounds, 3);
  return all.map((T, i) => {
    const spread = { ms: spreadOf(times[i]), ratio: pairedSpread(times[i], times[0], (t, t1) => t / t1) };
    return { T, ms: spread.ms.median, ratio: spread.ratio.median, spread };
  });
}

/**
 * AR greedy tokens per second, decode time only: each round times the decode and, beside it, a
 * prefill-only run, whose time it subtracts.
 */
export function arTokensPerSecond(config: ModelConfig, params: Params, newTokens: number, rounds: number): Spread {
  const prompt = [config.bosTokenId!, 40, 41, 42, 43];
  const [decode, prefill] = interleavedTimesMs([
    () => arGreedy(config, params, prompt, { maxNewTokens: newTokens, eosTokenId: null }),
    () => forward(config, params, prompt, { cache: new KVCache(config) }),
  ], rounds);
  return pairedSpread(decode, prefill, (all, pre) => newTokens / ((all - pre) / 1000));
}

/** One row of the thread-scaling table. */
export interface ThreadRow {
  /** Tokens in the forward. */
  readonly T: number;
  /** Median forward time on one thread, ms. */
  readonly oneThreadMs: number;
  /** Median forward time with the products split over `threads` threads, ms. */
  readonly threadedMs: number;
  /** oneThreadMs / threadedMs, the median over the rounds of each round's ratio. */
  readonly speedup: number;
  /** min, median and max over the rounds of the three measures. */
  readonly spread: { readonly oneThreadMs: Spread; readonly threadedMs: Spread; readonly speedup: Spread };
  /** Whether the logits were bit-identical. */
  readonly identical: boolean;
}

/**
 * Forward time after a 64-token cache on one thread and on `threads` kernel threads (the weights copied
 * into a `KernelThreads` arena, the pool passed to `forward`), interleaved forward by forward for
 * `rounds` rounds, and whether the logits agree bit for bit.
 */
export async function threadScaling(config: ModelConfig, params: Params, threads: number, sizes: readonly number[], rounds: number): Promise<ThreadRow[]> {
  const { params: shared, pool } = await startKernelThreads(config, params, threads);
  try {
    const prompt = Array.from({ length: 64 }, (_, i) => (config.bosTokenId! + 1 + i) % config.vocabSize);
    const caches = [new KVCache(config), new KVCache(config)];
    forward(config, params, prompt, { cache: caches[0] });
    forward(config, shared, prompt, { cache: caches[1], threads: pool });
    return sizes.map((T) => {
      const tokens = Array.from({ length: T }, (_, i) => (5 + 3 * i) % config.vocabSize);
      const runs = [{ params }, { params: shared, threads: pool }].map((on, c) => () => {
        const logits = forward(config, on.params, tokens, { cache: caches[c], threads: on.threads });
        caches[c].truncate(64);
        return logits.data;
      });
      const [a, b] = runs.map((run) => run());
      const [one, many] = interleavedTimesMs(runs, rounds, 2);
      const spread = { oneThreadMs: spreadOf(one), threadedMs: spreadOf(many), speedup: pairedSpread(one, many, (t1, tn) => t1 / tn) };
      return {
        T, oneThreadMs: spread.oneThreadMs.median, threadedMs: spread.threadedMs.median, speedup: spread.speedup.median, spread,
        identical: a.every((v, i) => Object.is(v, b[i])),
      };
    });
  } finally {
    await pool.close();
  }
}

/**
 * The cost curve as a small SVG line chart: measured t(T)/t(1) against T, with the line t(T)/t(1) = T
 * (no gain from parallel tokens at all) and 1 (parallel tokens for free, a GPU below its roofline knee).
 *
 * @example
 * ```ts
 * writeFileSync("docs/cost-curve.svg", costCurveSvg([{ T: 1, ratio: 1 }, { T: 64, ratio: 29 }], "small, 1 thread"));
 * ```
 */
export function costCurveSvg(points: readonly { readonly T: number; readonly ratio: number }[], title: string): string {
  const width = 560, height = 360, left = 56, right = 16, top = 36, bottom = 44;
  const maxT = Math.max(...points.map((p) => p.T));
  const maxY = Math.max(maxT, ...points.map((p) => p.ratio));
  const x = (T: number) => left + ((T - 0) / maxT) * (width - left - right);
  const y = (r: number) => height - bottom - (r / maxY) * (height - top - bottom);
  const path = (ps: readonly { T: number; ratio: number }[]) => ps.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.T).toFixed(1)},${y(p.ratio).toFixed(1)}`).join(" ");
  const ticks = [0, 16, 32, 48, 64].filter((t) => t <= maxT);
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${title}</text>`,
    `<line x1="${left}" y1="${y(0)}" x2="${width - right}" y2="${y(0)}" stroke="black"/>`,
    `<line x1="${left}" y1="${y(0)}" x2="${left}" y2="${top}" stroke="black"/>`,
    ...ticks.map((t) => `<text x="${x(t)}" y="${y(0) + 16}" text-anchor="middle">${t}</text>`),
    ...ticks.map((t) => `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`),
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle">T, tokens in one forward</text>`,
    `<text x="14" y="${height / 2}" text-anchor="middle" transform="rotate(-90 14 ${height / 2})">t(T) / t(1)</text>`,
    `<path d="${path([{ T: 1, ratio: 1 }, { T: maxT, ratio: maxT }])}" stroke="#999" stroke-dasharray="4 4" fill="none"/>`,
    `<text x="${x(maxT) - 4}" y="${y(maxT) + 16}" text-anchor="end" fill="#666">t(T) = T t(1): no gain</text>`,
    `<path d="${path([{ T: 1, ratio: 1 }, { T: maxT, ratio: 1 }])}" stroke="#999" stroke-dasharray="2 3" fill="none"/>`,
    `<text x="${x(maxT) - 4}" y="${y(1) - 6}" text-anchor="end" fill="#666">t(T) = t(1): parallel tokens free (GPU, small T)</text>`,
    `<path d="${path(points)}" stroke="#c0392b" stroke-width="2" fill="none"/>`,
    ...points.map((p) => `<circle cx="${x(p.T).toFixed(1)}" cy="${y(p.ratio).toFixed(1)}" r="3" fill="#c0392b"><title>T=${p.T}: ${p.ratio.toFixed(2)}</title></circle>`),
    "</svg>",
  ];
  return lines.join("\n") + "\n";
}
