/**
 * Forward-pass benchmark: how long one forward over T new tokens takes after a cache of 64 tokens, and
 * the cost ratio t(T)/t(1) that decides whether Jacobi decoding can pay off in wall-clock time (it pays
 * only where a forward over n tokens costs little more than a forward over one). Also AR greedy tokens/s.
 *
 * A benchmark, not a test: numbers depend on the machine and its load. Compare ratios measured in the
 * same run only.
 *
 * @module
 */
import { KVCache } from "../src/model/cache.ts";
import type { ModelConfig } from "../src/model/config.ts";
import type { Params } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { Rng } from "../src/tensor/random.ts";

/** One row of the forward-cost table. */
export interface ForwardCostRow {
  /** New tokens in the forward. */
  readonly T: number;
  /** Median wall time of one forward, milliseconds. */
  readonly ms: number;
  /** t(T) / t(1). */
  readonly ratio: number;
}

/** Median of a few timed runs of `fn`, in milliseconds. */
export function medianMs(fn: () => void, reps: number): number {
  fn(); // warm-up: let V8 compile the hot loops first
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * Times a forward over T random tokens after a 64-token cache, for each T; the cache is truncated back
 * to 64 rows after every forward (the same rollback Jacobi decoding does).
 */
export function forwardCost(config: ModelConfig, params: Params, sizes: readonly number[], reps: number): ForwardCostRow[] {
  const rng = new Rng("bench-forward");
  const cached = 64;
  const cache = new KVCache(config);
  forward(config, params, Array.from({ length: cached }, () => rng.int(config.vocabSize)), { cache });
  const rows: ForwardCostRow[] = [];
  for (const T of sizes) {
    const tokens = Array.from({ length: T }, () => rng.int(config.vocabSize));
    const ms = medianMs(() => {
      forward(config, params, tokens, { cache });
      cache.truncate(cached);
    }, reps);
    rows.push({ T, ms, ratio: 0 });
  }
  const t1 = rows.find((r) => r.T === 1)?.ms ?? rows[0].ms;
  return rows.map((r) => ({ ...r, ratio: r.ms / t1 }));
}

/** AR greedy tokens per second (decode time only, prefill excluded by subtracting a prefill-only run). */
export function arTokensPerSecond(config: ModelConfig, params: Params, newTokens: number): number {
  const prompt = [config.bosTokenId, 40, 41, 42, 43];
  const ms = medianMs(() => arGreedy(config, params, prompt, { maxNewTokens: newTokens, eosTokenId: null }), 3);
  const prefillMs = medianMs(() => forward(config, params, prompt, { cache: new KVCache(config) }), 3);
  return newTokens / ((ms - prefillMs) / 1000);
}
