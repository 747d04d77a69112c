/**
 * Choosing the Jacobi block size n from costs: `--block-size auto`.
 *
 * A Jacobi forward over T tokens commits TPF tokens on average; AR commits one token per single-token
 * forward. So, with `t(T)` the wall time of a forward over T tokens,
 *
 *     expected speedup over AR at block size n  =  TPF(n) · t(1) / t(T̄(n))
 *
 * where T̄(n) is the mean number of tokens per forward at block size n (a block shrinks as its tokens are
 * accepted, so T̄ < n). TPF(n) and T̄(n) are counted by decoding the calibration prompts at each
 * candidate n — counts, not timings, so the same model and prompts give the same numbers on any machine
 * at any load. The cost curve `t(T)/t(1)` is an input, a {@link CostCurve}: measured on the model's
 * shape and the backend in use by {@link measureCostCurve}, once — the CLI stores it in the user's cache
 * directory and reuses it (`src/cli/cost-curve.ts`). So the choice is a pure function of the model, the
 * prompts and that curve: a loaded machine cannot change it from one run to the next. The cost curve is
 * close to linear in T, so the cost of the mean forward is the mean cost of the forwards. n = 1 is always
 * a candidate: it is AR (one token a forward, TPF 1, speedup 1 by definition), and a block size above 1
 * must promise a clear gain ({@link AUTO_MIN_GAIN}) to be preferred to it.
 *
 * Why it matters: on a GPU a forward over a few dozen tokens costs about what one over a single token
 * costs, so the largest n the model can use wins; on a CPU in plain JavaScript t(T)/t(1) grows almost
 * like T, and the best n is small — or 1 (the measured curves: docs/performance.md). No reference
 * implementation measures this; they fix n.
 *
 * What this is not: an online tuner. The choice reads no clock; `measureCostCurve`, the one function
 * here that times anything, makes a curve meant to be measured once and kept.
 *
 * Read next: `jacobi.ts` (what the chosen n is used for), `src/cli/cost-curve.ts` (where the curve is
 * stored), `bench/methods.ts` (the `auto` row).
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { resolveRunner, type RunnerOption } from "../model/runner.ts";
import { DecodingError, type StopOptions } from "./acceptance.ts";
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
 * The cost curve a choice is made from: `t(T)/t(1)` at some T, and where it came from.
 *
 * @category Decoding
 */
export interface CostCurve {
  /** The points (T, t(T)/t(1)); read between them by {@link costAt}. */
  readonly points: readonly Pick<CostPoint, "T" | "ratio">[];
  /** Where the points came from, in words: a file path and when it was measured, or "measured now". */
  readonly source: string;
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
  const token = (i: number) => ((config.bosTokenId ?? 0) + 1 + i) % config.vocabSize;
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
  /** The cost curve the choice was made from, and where it came from. */
  readonly curve: CostCurve;
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
 * prediction leaves out what a Jacobi iteration costs beyond its forward (drafts, acceptance, the cache
 * rollback), its TPF comes from a few prompts, and the cost curve was timed once on a shared machine;
 * a predicted gain of a few percent is within their error (docs/performance.md shows a prediction that
 * small turning into a loss). Since the point of `auto` is never to be slower than AR, a block must
 * promise a clear gain before it is chosen.
 *
 * @category Decoding
 */
export const AUTO_MIN_GAIN = 1.1;

/**
 * Picks the block size that maximises `TPF(n) / (t(T̄(n)) / t(1))`, the expected tokens/s relative to AR;
 * a block size above 1 only when its expected speedup reaches `minGain` (default {@link AUTO_MIN_GAIN}),
 * otherwise n = 1 (when calibrated). A pure function: the same curve and calibration, the same choice.
 *
 * @example
 * ```ts
 * const calibration = [{ blockSize: 1, tokensPerForward: 1, tokensPerForwardCall: 1 },
 *                      { blockSize: 16, tokensPerForward: 3, tokensPerForwardCall: 9 }];
 * chooseBlockSize({ points: [{ T: 1, ratio: 1 }, { T: 16, ratio: 12 }], source: "a CPU" }, calibration).blockSize;  // 1: 3 / 6.9 < 1
 * chooseBlockSize({ points: [{ T: 1, ratio: 1 }, { T: 16, ratio: 1.1 }], source: "a GPU" }, calibration).blockSize; // 16: 3 / 1.05 > 1
 * ```
 * @category Decoding
 */
export function chooseBlockSize(curve: CostCurve, calibration: readonly BlockCalibration[], minGain: number = AUTO_MIN_GAIN): BlockSizeChoice {
  if (calibration.length === 0) throw new DecodingError("chooseBlockSize: expected at least one calibrated block size, got none");
  const candidates = calibration.map((c) => {
    const costRatio = costAt(curve.points, c.tokensPerForwardCall);
    return { ...c, costRatio, expectedSpeedup: c.tokensPerForward / costRatio };
  });
  let best = candidates.reduce((b, c) =>
    (c.expectedSpeedup > b.expectedSpeedup || (c.expectedSpeedup === b.expectedSpeedup && c.blockSize < b.blockSize) ? c : b));
  const ar = candidates.find((c) => c.blockSize === 1);
  if (ar !== undefined && best.blockSize !== 1 && best.expectedSpeedup < minGain) best = ar;
  return { blockSize: best.blockSize, expectedSpeedup: best.expectedSpeedup, candidates, curve };
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
  /** The cost curve of the backend that will decode (see {@link measureCostCurve}); measured once and kept, not here. */
  readonly curve: CostCurve;
}

/**
 * Calibrates every candidate block size on `prompts` (on `options.runner`, default the CPU reference: the
 * backend that will decode) and chooses from `options.curve`. Deterministic: it decodes and counts, and
 * times nothing, so the same model, prompts and curve give the same choice at any machine load. The curve
 * must be that backend's: a GPU's is flat where a CPU's is steep, so a choice made from one is wrong for
 * the other.
 *
 * @example
 * ```ts
 * const curve = { points: measureCostCurve(config, params, AUTO_BLOCK_SIZES), source: "measured now" };   // once, then kept
 * const choice = autoBlockSize(config, params, calibrationPrompts, { stop: { maxNewTokens: 48 }, curve });
 * jacobi(config, params, prompt, { maxNewTokens: 64, blockSize: choice.blockSize });
 * autoBlockSize(config, params, calibrationPrompts, { stop: { maxNewTokens: 48 }, curve });   // the same choice again
 * ```
 * @category Decoding
 */
export function autoBlockSize(
  config: ModelConfig, params: Params, prompts: readonly (readonly number[])[], options: AutoBlockSizeOptions,
): BlockSizeChoice {
  const longest = Math.max(...prompts.map((p) => p.length));
  const room = config.maxPositions - longest;
  // A block never outgrows the room left (blocks are cut to it), so larger n only repeat the largest that fits; n = 1 always stays.
  const sizes = (options.blockSizes ?? AUTO_BLOCK_SIZES).filter((n) => n >= 1 && n <= Math.max(1, room));
  if (sizes.length === 0) throw new DecodingError(`autoBlockSize: no candidate block size fits after a prompt of ${longest} in a context of ${config.maxPositions}`);
  const runner = resolveRunner(config, params, options, "autoBlockSize");
  const calibration = calibrateBlockSizes(config, params, prompts, sizes, { ...options.stop, runner });
  return chooseBlockSize(options.curve, calibration);
}

/**
 * What `--block-size auto` prints: the choice, the cost curve it was made from, and one line per
 * candidate, the chosen one marked.
 *
 * @example
 * ```ts
 * formatBlockSizeChoice(chooseBlockSize({ points: [{ T: 1, ratio: 1 }], source: "a made-up curve" }, [{ blockSize: 1, tokensPerForward: 1, tokensPerForwardCall: 1 }]));
 * // "block size auto: n = 1, expected 1.00x AR tokens/s (TPF counted on the calibration prompts / cost of a forward ...)\n
 * //  cost curve: a made-up curve\n      n    TPF   tokens/forward   t(T)/t(1)   expected speedup\n  *    1   1.00 ..."
 * ```
 * @category Decoding
 */
export function formatBlockSizeChoice(choice: BlockSizeChoice): string {
  const lines = [
    `block size auto: n = ${choice.blockSize}, expected ${choice.expectedSpeedup.toFixed(2)}x AR tokens/s ` +
    "(TPF counted on the calibration prompts / cost of a forward of that many tokens in single-token forwards)",
    `cost curve: ${choice.curve.source}`,
    "      n    TPF   tokens/forward   t(T)/t(1)   expected speedup",
  ];
  for (const c of choice.candidates) {
    lines.push(`  ${c.blockSize === choice.blockSize ? "*" : " "} ${String(c.blockSize).padStart(4)}  ${c.tokensPerForward.toFixed(2).padStart(5)}  ` +
      `${c.tokensPerForwardCall.toFixed(2).padStart(15)}  ${c.costRatio.toFixed(2).padStart(10)}  ${c.expectedSpeedup.toFixed(2).padStart(16)}x`);
  }
  return lines.join("\n") + "\n";
}
