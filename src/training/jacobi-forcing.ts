/**
 * The Jacobi Forcing objective: from a trajectory to one packed sequence, one forward, and the loss
 * `L = L_pc + w_AR · L_AR` (paper §3.1, Eq. 8–9; docs/ALGORITHM.md §3).
 *
 * 1. The noise schedule picks, for each block, the trajectory state whose noise ratio is closest to the
 *    block's target (`noise-schedule.ts`).
 * 2. The prompt, the chosen noisy states and their clean fixed points are packed into one sequence with
 *    shared positions and a noise-conditioned (or clean-context) mask (`packing.ts`).
 * 3. ONE forward over the packed sequence gives both the teacher rows (clean blocks: an ordinary causal
 *    LM over the AR output) and the student rows (noisy blocks).
 * 4. `L_AR`: cross-entropy of the clean chain predicting its next token — it keeps the model a good AR
 *    model. `L_pc`: for each block, from its first mismatch on, soft cross-entropy from the
 *    stop-gradient clean-row distribution to the noisy-row one — it teaches the model to predict, from a
 *    noisy draft, what it would predict from the clean text. Mean over the kept positions; the released
 *    code also divides by the number of blocks (`divideByBlocks`, off by default as in the paper).
 *
 * Trajectories arrive as plain data (training never imports decoding): {@link TrajectoryData} has the
 * shape of the JSONL records `jacobi-forcing collect` writes.
 *
 * Read next: `distill.ts`, the training loop over this objective.
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { forward } from "../model/transformer.ts";
import { crossEntropy, softCrossEntropy } from "../tensor/losses.ts";
import { add, scale } from "../tensor/ops.ts";
import type { Rng } from "../tensor/random.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { blockTargets, selectState, type NoiseScheduleOptions } from "./noise-schedule.ts";
import { arTargets, attentionMask, consistencyRows, packSequence, type MaskKind, type PackedSequence } from "./packing.ts";

// ---------------------------------------------------------------- data and options

/**
 * One block of a trajectory, as training reads it.
 *
 * @example
 * ```ts
 * const block: TrajectoryBlockData = { context: [1, 40], states: [[4, 9, 9], [4, 5, 6]], fixedPoint: [4, 5, 6] };
 * ```
 * @category Jacobi Forcing
 */
export interface TrajectoryBlockData {
  /** The clean context the block was decoded after (prompt ++ earlier fixed points). */
  readonly context: readonly number[];
  /** [S][m] y(0) .. y*: the block before each of its forwards. */
  readonly states: readonly (readonly number[])[];
  /** [m] y*, the AR output of this block. */
  readonly fixedPoint: readonly number[];
}

/**
 * The Jacobi trajectory of one prompt, as training reads it.
 *
 * @example
 * ```ts
 * const data: TrajectoryData = readTrajectories("runs/traj.jsonl")[0];   // a decoding Trajectory is one, as plain data
 * ```
 * @category Jacobi Forcing
 */
export interface TrajectoryData {
  /** [P] the prompt. */
  readonly prompt: readonly number[];
  /** n, the block size the trajectory was decoded with. */
  readonly blockSize: number;
  /** The blocks in order. */
  readonly blocks: readonly TrajectoryBlockData[];
}

/**
 * Options of the objective, with the paper's names.
 *
 * @example
 * ```ts
 * const options: JacobiForcingOptions = { window: 16, mask: "noise-conditioned", arWeight: 10, eosTokenId: 2 };
 * ```
 * @category Jacobi Forcing
 */
export interface JacobiForcingOptions extends NoiseScheduleOptions {
  /** Attention mask of the packed sequence: `noise-conditioned` (default) or `clean-context` (CLLM-style baseline). */
  readonly mask?: MaskKind;
  /** w_AR, the weight of the AR loss (the released code hard-codes 10). */
  readonly arWeight?: number;
  /** Divide L_pc by the number of blocks as well, as the released code does (default false, as the paper). */
  readonly divideByBlocks?: boolean;
  /**
   * Train the AR loss on the prompt's own next-token predictions too (default false). The released
   * recipe includes them; here the default leaves them out, as our teachers were pretrained: on the
   * synthetic math task a prompt is random digits, whose loss is irreducible noise that w_AR = 10
   * amplifies (measured: accuracy of the math teacher fell from 95% to 78% within 10 steps with them).
   */
  readonly promptLoss?: boolean;
  /** EOS id: the AR loss stops after it in the clean chain; null for none. */
  readonly eosTokenId: number | null;
  /**
   * w_replay, the weight of an extra next-token loss on real training text (default 0: none, as the
   * paper). Not part of Jacobi Forcing: the AR term trains on the teacher's own greedy outputs, which
   * sharpens the model's distribution and costs likelihood on real text (measured on code: held-out
   * bits per character 1.739 → 2.676 after round 1); a replayed pretraining sequence per example holds
   * that back. Each example then carries a {@link JacobiForcingExample.replay} sequence.
   */
  readonly replayWeight?: number;
}

/**
 * Default AR-loss weight: 10, as in the released code.
 *
 * @example
 * ```ts
 * // L = L_pc + DEFAULT_AR_WEIGHT · L_AR = L_pc + 10 · L_AR
 * ```
 * @category Jacobi Forcing
 */
export const DEFAULT_AR_WEIGHT = 10;

// ---------------------------------------------------------------- one training example

/**
 * A trajectory turned into what one forward needs.
 *
 * @example
 * ```ts
 * // the math teacher's trajectory of 914+169 (n = 16, w = 16): 3 blocks of 16, 16 and 2 tokens
 * const ex = buildExample(trajectory, { window: 16, eosTokenId: 2 }, new Rng(0));
 * ex.packed.tokens.length; // 77 = P 9 + 2 × 34
 * ex.targets;              // [0, 0.0667, 0.1333]: W[0], W[1], W[2] of linspace(0, 1, 16)
 * ```
 * @category Jacobi Forcing
 */
export interface JacobiForcingExample {
  /** The packed sequence (tokens, shared positions, block offsets). */
  readonly packed: PackedSequence;
  /** [L, L] attention visibility. */
  readonly mask: Uint8Array;
  /** [L] next-token targets of the clean chain, -1 elsewhere. */
  readonly arTargets: Int32Array;
  /** Student rows (noisy) paired with teacher rows (clean). */
  readonly studentRows: number[];
  /** Teacher rows, paired with `studentRows`. */
  readonly teacherRows: number[];
  /** The noise target the schedule gave each block. */
  readonly targets: number[];
  /** A real-text training sequence for the replay loss (only with `replayWeight` > 0). */
  readonly replay?: ReplaySequence;
}

/**
 * A packed pretraining sequence for the replay loss (the shape of the data module's training sequences).
 *
 * @example
 * ```ts
 * const replay: ReplaySequence = { tokens: [1, 40, 41], targets: [-1, 41, 42], positions: [0, 1, 2], mask: null };
 * ```
 * @category Jacobi Forcing
 */
export interface ReplaySequence {
  /** [T] input ids. */
  readonly tokens: readonly number[];
  /** [T] next-token targets, -1 where untrained. */
  readonly targets: readonly number[];
  /** [T] positions. */
  readonly positions: readonly number[];
  /** [T, T] visibility, or null for plain causal attention. */
  readonly mask: Uint8Array | null;
}

/**
 * Picks a noisy state for every block by the schedule, packs the sequence, and builds its mask, AR
 * targets and consistency rows.
 *
 * @param rng - draws the targets of the `random` strategy (unused otherwise)
 * @example
 * ```ts
 * const ex = buildExample(trajectory, { window: 16, eosTokenId: 2 }, new Rng(0));
 * ex.packed.tokens.length; // P + 2 · (sum of block lengths)
 * ```
 * @category Jacobi Forcing
 */
export function buildExample(trajectory: TrajectoryData, options: JacobiForcingOptions, rng: Rng): JacobiForcingExample {
  const targets = blockTargets(trajectory.blocks.length, options, rng);
  const pairs = trajectory.blocks.map((block, j) => ({
    noisy: block.states[selectState(block.states, block.fixedPoint, targets[j])],
    clean: block.fixedPoint,
  }));
  const packed = packSequence(trajectory.prompt, pairs);
  const rows = consistencyRows(packed);
  return {
    packed,
    mask: attentionMask(packed, options.mask ?? "noise-conditioned"),
    arTargets: arTargets(packed, options.eosTokenId, options.promptLoss ?? false),
    studentRows: rows.student,
    teacherRows: rows.teacher,
    targets,
  };
}

// ---------------------------------------------------------------- the loss

/**
 * The loss of one example, and its two parts.
 *
 * @example
 * ```ts
 * // the math teacher on its own trajectory of 914+169 (w = 16): nearly nothing to learn yet
 * // { ar: 0.00011, consistency: 0.00026, consistencyPositions: 2, loss: 0.00137 (= 0.00026 + 10 · 0.00011) }
 * ```
 * @category Jacobi Forcing
 */
export interface JacobiForcingLoss {
  /** `L = L_pc + w_AR · L_AR`, a scalar tensor `[]` with a gradient graph when the weights are trainable. */
  readonly loss: Tensor;
  /** L_AR, nats per clean-chain token. */
  readonly ar: number;
  /** L_pc, nats per consistency position (÷ blocks when `divideByBlocks`). */
  readonly consistency: number;
  /** Consistency positions (0 when every noisy state already equals its clean block). */
  readonly consistencyPositions: number;
  /** The replay loss, nats per token (0 without replay). */
  readonly replay: number;
}

/**
 * The Jacobi Forcing loss of one example, from ONE forward over its packed sequence. The teacher
 * distributions are read from the same logits as constants: no gradient flows into a clean row
 * through `L_pc` (it gets its gradient from `L_AR` only).
 *
 * @example
 * ```ts
 * const { loss, ar, consistency } = jacobiForcingLoss(config, params, buildExample(t, options, rng), options);
 * backward(loss);
 * ```
 * @category Jacobi Forcing
 */
export function jacobiForcingLoss(config: ModelConfig, params: Params, example: JacobiForcingExample, options: JacobiForcingOptions): JacobiForcingLoss {
  const { packed } = example;
  const logits = forward(config, params, packed.tokens, { positions: packed.positions, mask: example.mask }); // [L, V]
  const ar = crossEntropy(logits, example.arTargets, -1, "mean");                                           // []
  let consistency = softCrossEntropy(logits, example.studentRows, logits, example.teacherRows);               // []
  if (options.divideByBlocks && packed.blocks.length > 0) consistency = scale(consistency, 1 / packed.blocks.length);
  let loss = add(consistency, scale(ar, options.arWeight ?? DEFAULT_AR_WEIGHT));                              // []
  let replay = 0;
  const replayWeight = options.replayWeight ?? 0;
  if (replayWeight > 0) {
    if (example.replay === undefined) throw new Error("jacobiForcingLoss: replayWeight > 0 but the example carries no replay sequence");
    const r = example.replay;
    const replayLogits = forward(config, params, r.tokens, { positions: r.positions, ...(r.mask ? { mask: r.mask } : {}) });
    const replayLoss = crossEntropy(replayLogits, Int32Array.from(r.targets), -1, "mean");                    // []
    replay = replayLoss.data[0];
    loss = add(loss, scale(replayLoss, replayWeight));
  }
  return { loss, ar: ar.data[0], consistency: consistency.data[0], consistencyPositions: example.studentRows.length, replay };
}
