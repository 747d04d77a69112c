/**
 * Forward-pass benchmark on the random `small` model: the cost curve t(T)/t(1) — how long a forward over
 * T new tokens takes, in single-token forwards, after a cache of 64 tokens — and AR greedy tokens/s.
 * The curve decides whether Jacobi decoding can pay off in wall-clock time: it pays only where a
 * forward over n tokens costs little more than a forward over one. `--block-size auto` reads the same
 * curve (`measureCostCurve`), measured on the model it decodes with.
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
import { measureCostCurve, type CostPoint } from "../src/decoding/block-size.ts";
import { arGreedy } from "../src/decoding/greedy.ts";

/** Median of a few timed runs of `fn`, in milliseconds (after one warm-up run). */
export function medianMs(fn: () => void, reps: number): number {
  fn();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** t(T) and t(T)/t(1) for each T, after a 64-token cache. */
export function forwardCost(config: ModelConfig, params: Params, sizes: readonly number[], reps: number): CostPoint[] {
  return measureCostCurve(config, params, sizes, { reps, cached: 64 });
}

/** AR greedy tokens per second (decode time only: a prefill-only run's time is subtracted). */
export function arTokensPerSecond(config: ModelConfig, params: Params, newTokens: number): number {
  const prompt = [config.bosTokenId, 40, 41, 42, 43];
  const ms = medianMs(() => arGreedy(config, params, prompt, { maxNewTokens: newTokens, eosTokenId: null }), 3);
  const prefillMs = medianMs(() => forward(config, params, prompt, { cache: new KVCache(config) }), 3);
  return newTokens / ((ms - prefillMs) / 1000);
}
