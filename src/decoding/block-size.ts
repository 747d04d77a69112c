/**
 * Choosing the Jacobi block size n from measured costs: `--block-size auto`.
 *
 * A Jacobi forward over T tokens commits TPF tokens on average; AR commits one token per single-token
 * forward. So, with `t(T)` the wall time of a forward over T tokens,
 *
 *     expected speedup over AR at block size n  =  TPF(n) · t(1) / t(T̄(n))
 *
 * where T̄(n) is the mean number of tokens per forward at block size n (a block shrinks as its tokens are
 * accepted, so T̄ < n). Both factors are measured, nothing is assumed: the cost curve `t(T)/t(1)` by
 * timing forwards of the model on the backend in use, TPF(n) and T̄(n) by decoding a few calibration
 * prompts at each candidate n. The cost curve is close to linear in T, so the cost of the mean forward
 * is the mean cost of the forwards. n = 1 is always a candidate: it is AR (one token a forward, TPF 1,
 * speedup 1 by definition), so the choice is never expected to be slower than AR. The prediction leaves
 * out the per-iteration work around the forward and rests on a few prompts, so when it picks n > 1,
 * `autoBlockSize` times Jacobi at that n against AR greedy on the calibration prompts and keeps it only
 * for a measured gain of at least {@link AUTO_MIN_GAIN}.
 *
 * Why it matters: on a GPU a forward over a few dozen tokens costs about what one over a single token
 * costs, so the largest n the model can use wins; on a CPU in plain JavaScript t(T)/t(1) grows almost
 * like T, and the best n is small — or 1 (the measured curves: docs/performance.md). No reference
 * implementation measures this; they fix n.
 *
 * What this is not: an online tuner. It calibrates once, before decoding, and the choice is printed.
 *
 * Read next: `jacobi.ts` (what the chosen n is used for), `bench/methods.ts` (the `auto` row).
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { resolveRunner, type RunnerOption } from "../model/runner.ts";
import { DecodingError, type StopOptions } from "./acceptance.ts";
import { arGreedy } from "./greedy.ts";
import { jacobi } from "./jacobi.ts";
import { interleavedMedianMs } from "../util/timing.ts";

// ---------------------------------------------------------------- the measured inputs

/**
 * One point of the forward cost curve.
 *
 * @category Decoding
 */
export interface CostPoint {
  /** T: tokens in the forward. */
  readonly T: number;
  /** t(T): median wall time of one forward, milliseconds. */
  readonly ms: number;
  /** t(T) / t(1): the forward's wall time in single-token forwards. */
  readonly ratio: number;
}

/**
 * What Jacobi decoding reached at one block size on the calibration prompts.
 *
 * @category Decoding
 */
export interface BlockCalibration {
  /** n: the block size. */
  readonly blockSize: number;
  /** Committed tokens per decode forward, over all calibration prompts. */
  readonly tokensPerForward: number;
  /** T̄: token positions processed per decode forward (mean tokens in a forward). */
  readonly tokensPerForwardCall: number;
}

/**
 * The block sizes `auto` considers by default: 1 (AR greedy itself) to 32.
 *
 * @category Decoding
 */
export const AUTO_BLOCK_SIZES: readonly number[] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];

/**
 * The cost curve `t(T)/t(1)` of a forward for each T in `sizes`, measured on this machine and on the
 * backend of `options.runner` (default the CPU reference): the median of `reps` timed forwards of T
 * tokens, each with its argmax, after `cached` cached tokens (the cache is truncated back after each, as
 * Jacobi's rollback does), the sizes taking turns after a warm-up of all of them; each timed forward
 * follows the runner's `settleForwards` untimed ones of the same T (its steady state in decoding).
 *
 * @param sizes - the T to measure; 1 is added when missing (it is the unit)
 * @example
 * ```ts
 * measureCostCurve(PRESETS.small, params, [4, 16], { reps: 5 }).map((p) => p.T); // [1, 4, 16]: T = 1 added, its ratio 1
 * measureCostCurve(config, params, [1, 16, 64], { runner: gpu });    // the same curve on the GPU
 * ```
 * @category Decoding
 */
export function measureCostCurve(
  config: ModelConfig, params: Params, sizes: readonly number[],
  options: RunnerOption & { readonly reps?: number; readonly cached?: number } = {},
): CostPoint[] {
  const reps = options.reps ?? 7;
  const cached = Math.min(options.cached ?? 32, config.maxPositions - Math.max(...sizes));
  if (cached < 1) throw new DecodingError(`measureCostCurve: T up to ${Math.max(...sizes)} leaves no room in a context of ${config.maxPositions}`);
  const runner = resolveRunner(config, params, options, "measureCostCurve");
  const all = [...new Set([1, ...sizes])].sort((a, b) => a - b);
  const token = (i: number) => (config.bosTokenId + 1 + i) % config.vocabSize;
  const cache = runner.newCache();
  runner.forward(Array.from({ length: cached }, (_, i) => token(i)), { cache }).argmax();
  const runs = all.map((T) => {
    const tokens = Array.from({ length: T }, (_, i) => token(7 * i));
    return () => {
      runner.forward(tokens, { cache }).argmax();             // a decoder always takes the argmax; on a GPU it is what waits for the forward
      cache.truncate(cached);
    };
  });
  // Before each timed forward, the runner's untimed settling forwards of the same T: a GPU runner
  // encodes a forward ahead for the T of its last few, as it does for a decoder's run of similar forwards.
  const settle = runs.map((run) => () => { for (let k = 0; k < (runner.settleForwards ?? 0); k++) run(); });
  // Warm up every size first (V8 optimises the loops over the first calls; a size timed before that
  // would look slow), then time the sizes in turn, round after round, so that a change in the machine's
  // load hits all of them alike.
  const ms = interleavedMedianMs(runs, reps, 3, settle);
  cache.release?.();
  return all.map((T, i) => ({ T, ms: ms[i], ratio: ms[i] / ms[0] }));
}

/**
 * TPF and mean tokens per forward of greedy block Jacobi at each block size, over the calibration
 * prompts (counts are summed over prompts before dividing). The decodes run on `stop.runner` when given.
 *
 * @example
 * ```ts
 * calibrateBlockSizes(config, params, [[1, 5, 6]], [1, 4], { maxNewTokens: 32 });
 * // [{ blockSize: 1, tokensPerForward: 1, tokensPerForwardCall: 1 }, { blockSize: 4, tokensPerForward: 1.6, ... }]
 * ```
 * @category Decoding
 */
export function calibrateBlockSizes(
  config: ModelConfig, params: Params, prompts: readonly (readonly number[])[], blockSizes: readonly number[], stop: StopOptions & RunnerOption,
): BlockCalibration[] {
  if (prompts.length === 0) throw new DecodingError("calibrateBlockSizes: expected at least one calibration prompt, got none");
  return blockSizes.map((blockSize) => {
    let committed = 0, forwards = 0, positions = 0;
    for (const prompt of prompts) {
      const { stats } = jacobi(config, params, prompt, { ...stop, blockSize });
      committed += stats.committedTokens;
      forwards += stats.forwards;
      positions += stats.tokenPositions;
    }
    return { blockSize, tokensPerForward: committed / Math.max(1, forwards), tokensPerForwardCall: positions / Math.max(1, forwards) };
  });
}

// ---------------------------------------------------------------- the choice

/**
 * One candidate with its expected speedup.
 *
 * @category Decoding
 */
export interface BlockSizeCandidate extends BlockCalibration {
  /** t(T̄)/t(1), read off the cost curve. */
  readonly costRatio: number;
  /** TPF / costRatio: expected tokens/s relative to AR. */
  readonly expectedSpeedup: number;
}

/**
 * What {@link chooseBlockSize} decided, and from what.
 *
 * @category Decoding
 */
export interface BlockSizeChoice {
  /** The block size with the largest expected speedup (the smallest n on a tie). */
  readonly blockSize: number;
  /** Its expected speedup over AR. */
  readonly expectedSpeedup: number;
  /** Every candidate, in the order given. */
  readonly candidates: readonly BlockSizeCandidate[];
  /**
   * {@link autoBlockSize} only, when the prediction picked an n > 1: the measured tokens/s of Jacobi at
   * that n over AR greedy's on the calibration prompts (median of timed runs). Below
   * {@link AUTO_MIN_GAIN} the choice falls back to n = 1.
   */
  readonly measuredSpeedup?: number;
  /** The n the prediction picked before the measurement overruled it (absent when it did not). */
  readonly overruled?: number;
}

/**
 * `t(T)/t(1)` at any T ≥ 1, linearly interpolated between measured points and extrapolated from the
 * last two beyond them.
 *
 * @example
 * ```ts
 * costAt([{ T: 1, ratio: 1 }, { T: 4, ratio: 2.5 }], 2); // 1.5
 * ```
 * @category Decoding
 */
export function costAt(curve: readonly Pick<CostPoint, "T" | "ratio">[], T: number): number {
  if (curve.length === 0) throw new DecodingError("costAt: the cost curve is empty");
  const points = [...curve].sort((a, b) => a.T - b.T);
  if (points.length === 1) return points[0].ratio * (T / points[0].T);
  let hi = points.findIndex((p) => p.T >= T);
  if (hi <= 0) hi = hi === 0 ? 1 : points.length - 1;
  const a = points[hi - 1], b = points[hi];
  return a.ratio + ((b.ratio - a.ratio) * (T - a.T)) / (b.T - a.T);
}

/**
 * The smallest expected gain for which a block size n > 1 is preferred to AR (n = 1): 1.1. The
 * calibration's TPF comes from a few prompts and the cost curve from a shared, noisy machine, so a
 * predicted gain of a few percent is within their error (docs/performance.md shows a prediction that
 * small turning into a loss). Since the point of `auto` is never to be slower than AR, a block must
 * promise a clear gain before it is chosen.
 *
 * @category Decoding
 */
export const AUTO_MIN_GAIN = 1.1;

/**
 * Picks the block size that maximises `TPF(n) / (t(T̄(n)) / t(1))`, the expected tokens/s relative to AR;
 * a block size above 1 only when its expected speedup reaches `minGain` (default {@link AUTO_MIN_GAIN}),
 * otherwise n = 1 (when calibrated).
 *
 * @example
 * ```ts
 * const calibration = [{ blockSize: 1, tokensPerForward: 1, tokensPerForwardCall: 1 },
 *                      { blockSize: 16, tokensPerForward: 3, tokensPerForwardCall: 9 }];
 * chooseBlockSize([{ T: 1, ratio: 1 }, { T: 16, ratio: 12 }], calibration).blockSize;  // 1: a CPU, 3 / 6.9 < 1
 * chooseBlockSize([{ T: 1, ratio: 1 }, { T: 16, ratio: 1.1 }], calibration).blockSize; // 16: a GPU, 3 / 1.05 > 1
 * ```
 * @category Decoding
 */
export function chooseBlockSize(
  curve: readonly Pick<CostPoint, "T" | "ratio">[], calibration: readonly BlockCalibration[], minGain: number = AUTO_MIN_GAIN,
): BlockSizeChoice {
  if (calibration.length === 0) throw new DecodingError("chooseBlockSize: expected at least one calibrated block size, got none");
  const candidates = calibration.map((c) => {
    const costRatio = costAt(curve, c.tokensPerForwardCall);
    return { ...c, costRatio, expectedSpeedup: c.tokensPerForward / costRatio };
  });
  let best = candidates[0];
  for (const c of candidates) {
    if (c.expectedSpeedup > best.expectedSpeedup || (c.expectedSpeedup === best.expectedSpeedup && c.blockSize < best.blockSize)) best = c;
  }
  const ar = candidates.find((c) => c.blockSize === 1);
  if (ar !== undefined && best.blockSize !== 1 && best.expectedSpeedup < minGain) best = ar;
  return { blockSize: best.blockSize, expectedSpeedup: best.expectedSpeedup, candidates };
}

/**
 * Options of {@link autoBlockSize}.
 *
 * @category Decoding
 */
export interface AutoBlockSizeOptions extends RunnerOption {
  /** Block sizes to consider (default {@link AUTO_BLOCK_SIZES}, capped by the context). */
  readonly blockSizes?: readonly number[];
  /** How long each calibration decode runs (EOS as given). */
  readonly stop: StopOptions;
  /** Timed forwards per point of the cost curve (median kept); default 7. */
  readonly reps?: number;
}

/**
 * Measures the cost curve and calibrates every candidate block size on `prompts`, then chooses — all on
 * `options.runner` (default the CPU reference), the backend that will decode: a GPU's curve is flat
 * where a CPU's is steep, so a choice calibrated on one backend is wrong for the other.
 *
 * @example
 * ```ts
 * const choice = autoBlockSize(config, params, calibrationPrompts, { stop: { maxNewTokens: 48 } });
 * jacobi(config, params, prompt, { maxNewTokens: 64, blockSize: choice.blockSize });
 * // on the GPU: the curve, the calibration and the check all run on the runner that will decode
 * const onGpu = autoBlockSize(config, params, calibrationPrompts, { stop: { maxNewTokens: 48 }, runner: gpu });
 * ```
 * @category Decoding
 */
export function autoBlockSize(
  config: ModelConfig, params: Params, prompts: readonly (readonly number[])[], options: AutoBlockSizeOptions,
): BlockSizeChoice {
  const longest = Math.max(...prompts.map((p) => p.length));
  const room = config.maxPositions - longest;
  const sizes = (options.blockSizes ?? AUTO_BLOCK_SIZES).filter((n) => n >= 1 && n < room);
  if (sizes.length === 0) throw new DecodingError(`autoBlockSize: no candidate block size fits after a prompt of ${longest} in a context of ${config.maxPositions}`);
  // Everything runs on the backend that will decode: the cost curve, the calibration decodes, the check.
  const runner = resolveRunner(config, params, options, "autoBlockSize");
  const curve = measureCostCurve(config, params, sizes, { reps: options.reps ?? 7, runner });
  const calibration = calibrateBlockSizes(config, params, prompts, sizes, { ...options.stop, runner });
  const choice = chooseBlockSize(curve, calibration);
  if (choice.blockSize === 1) return choice;
  // The prediction leaves out what a Jacobi iteration costs beyond its forward (drafts, acceptance, cache
  // rollback) and rests on few prompts; check it against the decoders themselves before trusting it.
  const [ar, block] = interleavedMedianMs([
    () => { for (const p of prompts) arGreedy(config, params, [...p], { ...options.stop, runner }); },
    () => { for (const p of prompts) jacobi(config, params, p, { ...options.stop, blockSize: choice.blockSize, runner }); },
  ], options.reps ?? 7);
  const measuredSpeedup = ar / block;
  if (measuredSpeedup >= AUTO_MIN_GAIN || !sizes.includes(1)) return { ...choice, measuredSpeedup };
  const fallback = chooseBlockSize(curve, calibration, Infinity);
  return { ...fallback, measuredSpeedup, overruled: choice.blockSize };
}

/**
 * One line per candidate, the chosen one marked: what `--block-size auto` prints.
 *
 * @example
 * ```ts
 * formatBlockSizeChoice(chooseBlockSize([{ T: 1, ratio: 1 }], [{ blockSize: 1, tokensPerForward: 1, tokensPerForwardCall: 1 }]));
 * // "block size auto: n = 1, expected 1.00x AR tokens/s (TPF / cost of ...)\n      n    TPF   tokens/forward   t(T)/t(1)   expected speedup\n  *    1   1.00 ..."
 * ```
 * @category Decoding
 */
export function formatBlockSizeChoice(choice: BlockSizeChoice): string {
  const checked = choice.measuredSpeedup === undefined ? ""
    : choice.overruled !== undefined
      ? `; n = ${choice.overruled} was predicted faster but measured ${choice.measuredSpeedup.toFixed(2)}x AR on the calibration prompts (< ${AUTO_MIN_GAIN}), so AR`
      : `; measured ${choice.measuredSpeedup.toFixed(2)}x AR on the calibration prompts`;
  const lines = [
    `block size auto: n = ${choice.blockSize}, expected ${choice.expectedSpeedup.toFixed(2)}x AR tokens/s ` +
    `(TPF / cost of a forward of that many tokens in single-token forwards, both measured here)${checked}`,
    "      n    TPF   tokens/forward   t(T)/t(1)   expected speedup",
  ];
  for (const c of choice.candidates) {
    lines.push(`  ${c.blockSize === choice.blockSize ? "*" : " "} ${String(c.blockSize).padStart(4)}  ${c.tokensPerForward.toFixed(2).padStart(5)}  ` +
      `${c.tokensPerForwardCall.toFixed(2).padStart(15)}  ${c.costRatio.toFixed(2).padStart(10)}  ${c.expectedSpeedup.toFixed(2).padStart(16)}x`);
  }
  return lines.join("\n") + "\n";
}
