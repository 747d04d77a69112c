/**
 * The loss `distill` trains each example on: the Jacobi Forcing objective of `jacobi-forcing.ts`,
 * `L = L_pc + w_AR · L_AR`, plus — only when `replayWeight` > 0 — a replay term `w_replay · L_replay`,
 * the next-token loss of one real training sequence carried by the example.
 *
 * The replay term is not part of Jacobi Forcing (the paper has no such loss). The AR term trains on the
 * teacher's own greedy outputs, which sharpens the model's distribution and costs likelihood on real
 * text; a replayed pretraining sequence per example holds that back (docs/jacobi-forcing.md §5 and §7
 * give the measurement on code). Without replay this loss IS `jacobiForcingLoss`, the same tensor.
 *
 * Why a file of its own: the gradient workers (`parallel.ts`, `gradient-worker.ts`) compute this loss,
 * and `distill.ts` starts the workers, so the loss sits below both.
 *
 * Read next: `parallel.ts`, which takes its gradient one example at a time.
 *
 * @module
 */
import type { TrainingSequence } from "../data/dataset.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { add, scale } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { jacobiForcingLoss, type JacobiForcingExample, type JacobiForcingOptions } from "./jacobi-forcing.ts";
import { sequenceLoss } from "./trainer.ts";

/**
 * The loss of one distillation example: `jacobiForcingLoss`, then `+ w_replay · L_replay` when
 * `replayWeight` > 0 (computed after the objective, in a second forward over the replayed sequence).
 * The parts are `ar` and `consistency`, and `replay` (nats per token) with replay.
 *
 * @throws Error when `replayWeight` > 0 and the example carries no replay sequence
 * @example
 * ```ts
 * const replay = { tokens: [1, 4, 6, 8, 10], targets: [-1, 6, 8, 10, 12], positions: [0, 1, 2, 3, 4], mask: null };
 * const { loss, parts } = distillLoss(config, params, { ...example, replay }, { ...options, replayWeight: 3 });
 * // loss.data[0] = jacobiForcingLoss(...).loss.data[0] + 3 · parts.replay
 * ```
 * @category Jacobi Forcing
 */
export function distillLoss(config: ModelConfig, params: Params, example: DistillExample, options: DistillLossOptions): DistillLoss {
  const objective = jacobiForcingLoss(config, params, example, options);                                   // L_pc + w_AR · L_AR
  const parts: Record<string, number> = { ar: objective.ar, consistency: objective.consistency };
  const replayWeight = options.replayWeight ?? 0;
  if (!(replayWeight > 0)) return { loss: objective.loss, parts };
  if (example.replay === undefined) throw new Error("distillLoss: replayWeight > 0 but the example carries no replay sequence");
  const replay = sequenceLoss(config, params, example.replay, "mean");       // []
  parts.replay = replay.data[0];
  return { loss: add(objective.loss, scale(replay, replayWeight)), parts };  // []
}

// ---------------------------------------------------------------- types

/**
 * A Jacobi Forcing example, with the real-text sequence of the replay loss when the run replays.
 *
 * @category Jacobi Forcing
 */
export interface DistillExample extends JacobiForcingExample {
  /** A real-text training sequence for the replay loss (only with `replayWeight` > 0). */
  readonly replay?: TrainingSequence;
}

/**
 * The objective's options and the weight of the replay term.
 *
 * @category Jacobi Forcing
 */
export interface DistillLossOptions extends JacobiForcingOptions {
  /**
   * w_replay, the weight of the next-token loss on real training text (default 0: none, as the paper).
   * With a weight, each example carries a {@link DistillExample.replay} sequence.
   */
  readonly replayWeight?: number;
}

/**
 * The loss of one distillation example ({@link distillLoss}).
 *
 * @category Jacobi Forcing
 */
export interface DistillLoss {
  /** The scalar loss `[]`, with a gradient graph when the weights are trainable. */
  readonly loss: Tensor;
  /** `ar` and `consistency` (nats), and `replay` with replay. */
  readonly parts: Readonly<Record<string, number>>;
}
