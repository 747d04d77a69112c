/**
 * The progressive noise schedule of Jacobi Forcing: which state of each block's Jacobi trajectory the
 * model is trained on.
 *
 * A trajectory state is the block as Jacobi decoding saw it before one forward: a correct prefix, then
 * noise. Its noise ratio is the fraction of the block that is still wrong:
 * `ratio(s) = (n - firstMismatch(s, y*)) / n`. The schedule gives block `b` of a sequence a target ratio
 * `t_b` from a window of `w` targets and picks the state whose ratio is closest to it (ties: the
 * noisier one). With the progressive order the targets rise 0 → 1 across each window of `w` blocks, so
 * the longest run of consecutive noisy tokens the model sees drops from "every block" to about `t·n`
 * (paper §3.1, Eq. 7). Random and reverse orders are the paper's ablations (Table 4).
 *
 * Targets: the released code uses `linspace(0, 1, w)`; the paper writes `{0, 1/w, ..., (w-1)/w}`. This
 * project defaults to the code's `linspace` — it is what the released models were trained with, and it
 * includes the fully noisy state y(0) in every window — and offers the paper's as `'paper'`.
 *
 * Trajectories arrive as plain data from the decoding side (training never imports decoding).
 *
 * Read next: `packing.ts`, which lays the chosen noisy states next to their clean blocks.
 *
 * @module
 */
import type { Rng } from "../tensor/random.ts";
import { commonPrefixLength } from "../util/sequences.ts";

// ---------------------------------------------------------------- targets

/**
 * The target ratio of each of `blocks` consecutive blocks. Progressive: `W[(b + φ) mod w]`; reverse:
 * `W[w-1 - ((b + φ) mod w)]`; random: a uniformly drawn `W[k]` per block, from `rng`. The phase φ is 0,
 * or with `windowPhase: 'random'` one draw from `rng` per call (per sequence).
 *
 * @example
 * ```ts
 * blockTargets(5, { window: 3 }, new Rng(0));                       // [0, 0.5, 1, 0, 0.5]
 * blockTargets(4, { window: 4, strategy: "reverse" }, new Rng(0));  // [1, 0.667, 0.333, 0]
 * blockTargets(3, { window: 3, windowPhase: "random" }, rng);       // [0.5, 1, 0] when φ = 1
 * ```
 * @category Jacobi Forcing
 */
export function blockTargets(blocks: number, options: NoiseScheduleOptions, rng: Rng): number[] {
  const targets = windowTargets(options.window, options.spacing);
  const strategy = options.strategy ?? "progressive";
  if (!SCHEDULE_STRATEGIES.includes(strategy)) {
    throw new NoiseScheduleError(`blockTargets: strategy must be one of ${SCHEDULE_STRATEGIES.join(", ")}, got ${JSON.stringify(strategy)}`);
  }
  const phaseKind = options.windowPhase ?? "zero";
  if (!WINDOW_PHASES.includes(phaseKind)) {
    throw new NoiseScheduleError(`blockTargets: windowPhase must be one of ${WINDOW_PHASES.join(", ")}, got ${JSON.stringify(phaseKind)}`);
  }
  const w = targets.length;
  const phase = phaseKind === "random" && strategy !== "random" ? rng.int(w) : 0;
  return Array.from({ length: blocks }, (_, b) => {
    if (strategy === "progressive") return targets[(b + phase) % w];
    if (strategy === "reverse") return targets[w - 1 - ((b + phase) % w)];
    return targets[rng.int(w)];
  });
}

/**
 * The `w` target ratios of a window: `linspace(0, 1, w)` = `k / (w-1)` (the code; `[0]` when w = 1), or
 * the paper's `k / w`, for k = 0 .. w-1.
 *
 * @example
 * ```ts
 * windowTargets(3, "linspace"); // [0, 0.5, 1]
 * windowTargets(4, "paper");    // [0, 0.25, 0.5, 0.75]
 * ```
 * @category Jacobi Forcing
 */
export function windowTargets(window: number, spacing: TargetSpacing = "linspace"): number[] {
  if (!Number.isInteger(window) || window < 1) {
    throw new NoiseScheduleError(`windowTargets: window must be a positive integer, got ${window}`);
  }
  if (spacing !== "linspace" && spacing !== "paper") {
    throw new NoiseScheduleError(`windowTargets: spacing must be "linspace" or "paper", got ${JSON.stringify(spacing)}`);
  }
  return Array.from({ length: window }, (_, k) => (spacing === "paper" ? k / window : window === 1 ? 0 : k / (window - 1)));
}

// ---------------------------------------------------------------- state selection

/**
 * Index of the state whose noise ratio is closest to `target`; on a tie, the noisier state (higher
 * ratio) wins, as in the released code.
 *
 * @param states - [S][n] y(0) .. y* of one block
 * @param fixedPoint - [n] y*
 * @example
 * ```ts
 * // ratios 1, 0.5, 0: target 0.75 is equally close to 1 and 0.5 -> the noisier, index 0
 * selectState([[9, 9], [5, 9], [5, 6]], [5, 6], 0.75); // 0
 * ```
 * @category Jacobi Forcing
 */
export function selectState(states: readonly (readonly number[])[], fixedPoint: readonly number[], target: number): number {
  if (states.length === 0) throw new NoiseScheduleError("selectState: a block needs at least one state");
  const ratios = states.map((state) => noiseRatio(state, fixedPoint));
  const distance = (i: number): number => Math.abs(ratios[i] - target);
  let best = 0;
  for (let i = 1; i < ratios.length; i++) {
    if (distance(i) < distance(best) || (distance(i) === distance(best) && ratios[i] > ratios[best])) best = i;
  }
  return best;
}

/**
 * `ratio(s) = (n - firstMismatch(s, y*)) / n`: 0 for the fixed point itself, near 1 for the first draft.
 * The first mismatch is the length of the common prefix of the state and y* (`commonPrefixLength`).
 *
 * @param state - [n] a trajectory state
 * @param fixedPoint - [n] y*
 * @example
 * ```ts
 * noiseRatio([5, 6, 9, 9], [5, 6, 7, 8]); // 0.5
 * ```
 * @category Jacobi Forcing
 */
export function noiseRatio(state: readonly number[], fixedPoint: readonly number[]): number {
  if (state.length !== fixedPoint.length || state.length === 0) {
    throw new NoiseScheduleError(`noiseRatio: state and fixed point must have the same non-zero length, got ${state.length} and ${fixedPoint.length}`);
  }
  return (fixedPoint.length - commonPrefixLength(state, fixedPoint)) / fixedPoint.length;
}

// ---------------------------------------------------------------- options and errors

/**
 * Options of the noise schedule.
 *
 * @category Jacobi Forcing
 */
export interface NoiseScheduleOptions {
  /** w, the number of blocks over which targets rise from 0 towards 1 (paper: 16 in round 1, 8 in round 2). */
  readonly window: number;
  /** `linspace` (default, the released code) or `paper` (k / w). */
  readonly spacing?: TargetSpacing;
  /** `progressive` (default), `random` (ablation) or `reverse` (ablation). */
  readonly strategy?: ScheduleStrategy;
  /**
   * Where each sequence's first window starts: `zero` (default, the paper: block b gets `W[b mod w]`) or
   * `random` (a per-sequence phase φ drawn uniformly from 0..w-1: block b gets `W[(b + φ) mod w]`). With
   * trajectories of few blocks — our solutions are 2–5 blocks long, the paper's hundreds of tokens — the
   * zero phase gives every sequence's first block the target 0, so the first block after the prompt is
   * never trained on noise; the random phase keeps the progressive order and varies where it starts.
   */
  readonly windowPhase?: WindowPhase;
}

/**
 * Where the window's target ratios sit ({@link windowTargets}): `linspace` (the code) or `paper`.
 *
 * @category Jacobi Forcing
 */
export type TargetSpacing = "linspace" | "paper";

/**
 * The order in which targets are given to consecutive blocks ({@link blockTargets}).
 *
 * @category Jacobi Forcing
 */
export type ScheduleStrategy = "progressive" | "random" | "reverse";

/**
 * All strategies, for option checking.
 *
 * @category Jacobi Forcing
 */
export const SCHEDULE_STRATEGIES: readonly ScheduleStrategy[] = ["progressive", "random", "reverse"];

/**
 * Where a sequence's first window starts (see {@link NoiseScheduleOptions.windowPhase}).
 *
 * @category Jacobi Forcing
 */
export type WindowPhase = "zero" | "random";

/**
 * All window phases, for option checking.
 *
 * @category Jacobi Forcing
 */
export const WINDOW_PHASES: readonly WindowPhase[] = ["zero", "random"];

/**
 * Thrown for bad schedule options or trajectory data.
 *
 * @example
 * ```ts
 * windowTargets(0); // throws NoiseScheduleError: windowTargets: window must be a positive integer, got 0
 * ```
 * @category Jacobi Forcing
 */
export class NoiseScheduleError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "NoiseScheduleError";
}
