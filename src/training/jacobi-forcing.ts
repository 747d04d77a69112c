/**
 * The Jacobi Forcing objective: from a trajectory to one packed sequence, one forward, and the loss
 * `L = L_pc + w_AR · L_AR` (paper §3.1, Eq. 8–9; docs/ALGORITHM.md §3); and one optimizer step on it.
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
 * 5. One step, as `trainStep` is one step of AR training: zero the gradients, the loss of each example
 *    and its backward, clip, AdamW.
 *
 * What it is not: the replay loss that `distill` can add (a next-token loss on real text) is not part of
 * the paper's objective and not computed here; it lives in `distill-loss.ts`.
 *
 * Trajectories arrive as plain data (training never imports decoding): {@link TrajectoryData} has the
 * shape of the JSONL records `jacobi-forcing collect` writes.
 *
 * Read next: `distill-loss.ts`, then `distill.ts`, the training loop over this objective.
 *
 * @module
 */
import type { Eos, ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { forward } from "../model/transformer.ts";
import { crossEntropy, softCrossEntropy } from "../tensor/losses.ts";
import { add, scale } from "../tensor/ops.ts";
import type { Rng } from "../tensor/random.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { blockTargets, selectState, type NoiseScheduleOptions } from "./noise-schedule.ts";
import { adamwStep, clipGradNorm, type AdamWState } from "./optimizer.ts";
import { arTargets, attentionMask, consistencyRows, packSequence, type MaskKind, type PackedSequence } from "./packing.ts";
import type { StepResult, TrainOptions } from "./trainer.ts";

// ---------------------------------------------------------------- one training example

/**
 * Picks a noisy state for every block by the schedule, packs the sequence, and builds its mask, AR
 * targets and consistency rows.
 *
 * @param rng - draws the targets of the `random` strategy and the random window phase (unused otherwise)
 * @example
 * ```ts
 * // the math teacher's trajectory of 914+169 (n = 16, w = 16): 3 blocks of 16, 16 and 2 tokens
 * const ex = buildExample(trajectory, { window: 16, eosTokenId: 2 }, new Rng(0));
 * ex.packed.tokens.length; // 77 = P 9 + 2 × 34
 * ex.targets;              // [0, 0.0667, 0.1333]: W[0], W[1], W[2] of linspace(0, 1, 16)
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
 * The Jacobi Forcing loss of one example, `L = L_pc + w_AR · L_AR`, from ONE forward over its packed
 * sequence. The teacher distributions are read from the same logits as constants: no gradient flows
 * into a clean row through `L_pc` (it gets its gradient from `L_AR` only).
 *
 * @example
 * ```ts
 * // the math teacher on its own trajectory of 914+169 (w = 16): nearly nothing to learn yet
 * const { loss, ar, consistency } = jacobiForcingLoss(config, params, buildExample(trajectory, options, rng), options);
 * // ar 0.00011, consistency 0.00026, loss.data[0] 0.00137 = 0.00026 + 10 · 0.00011
 * ```
 * @category Jacobi Forcing
 */
export function jacobiForcingLoss(config: ModelConfig, params: Params, example: JacobiForcingExample, options: JacobiForcingOptions): JacobiForcingLoss {
  const { packed } = example;
  const logits = forward(config, params, packed.tokens, { positions: packed.positions, mask: example.mask }); // [L, V]
  const ar = crossEntropy(logits, example.arTargets, -1, "mean");                                           // []
  let consistency = softCrossEntropy(logits, example.studentRows, logits, example.teacherRows);               // []
  if (options.divideByBlocks && packed.blocks.length > 0) consistency = scale(consistency, 1 / packed.blocks.length);
  const loss = add(consistency, scale(ar, options.arWeight ?? DEFAULT_AR_WEIGHT));                            // []
  return { loss, ar: ar.data[0], consistency: consistency.data[0], consistencyPositions: example.studentRows.length };
}

// ---------------------------------------------------------------- one step

/**
 * One training step on a minibatch of examples, as `trainStep` (trainer.ts) is one step of AR
 * training: zero the gradients, then for each example its loss and backward; clip the global gradient
 * norm; one AdamW update. The minibatch loss is the mean of the examples' losses, and so is each of
 * its parts; `tokens` counts the packed sequences' tokens.
 *
 * `pool` does the middle part — each example's gradient taken alone, the gradients summed in
 * example order — inline or on worker threads, with the same bits either way (`GradientPool`,
 * `parallel.ts`, which says why the order matters).
 *
 * @param pool - sets each trainable tensor's `grad` to the gradient of the minibatch-mean loss
 * @param examples - the examples of this step
 * @param lr - learning rate of this step
 * @example
 * ```ts
 * // the math teacher, a batch of one: its example of 914+169 (w = 16), as in buildExample
 * const pool = new GradientPool(1, config, trainable.tensors, 1, options);
 * await jacobiForcingStep(pool, params, trainable, adamwInit(trainable.tensors), [ex], 3e-4, DEFAULT_DISTILL);
 * // { loss: 0.00137, gradNorm: 0.114, tokens: 77, parts: { ar: 0.00011, consistency: 0.00026 } }
 * ```
 * @category Jacobi Forcing
 */
export async function jacobiForcingStep(
  pool: MinibatchGradients, params: Params, trainable: { tensors: Tensor[]; decay: boolean[] }, optimizer: AdamWState,
  examples: readonly JacobiForcingExample[], lr: number, options: Pick<TrainOptions, "clipNorm" | "adamw">,
): Promise<StepResult> {
  const losses = await pool.gradients(params, examples);   // zero grads; per example: its loss, backward
  const gradNorm = clipGradNorm(trainable.tensors, options.clipNorm);
  adamwStep(trainable.tensors, trainable.decay, optimizer, lr, options.adamw);
  let loss = 0;
  const parts: Record<string, number> = {};
  for (const l of losses) {
    loss += l.loss / examples.length;
    for (const [name, value] of Object.entries(l.parts)) parts[name] = (parts[name] ?? 0) + value / examples.length;
  }
  const tokens = examples.reduce((n, e) => n + e.packed.tokens.length, 0);
  return { loss, gradNorm, tokens, parts };
}

// ---------------------------------------------------------------- data, options and results

/**
 * One block of a trajectory, as training reads it.
 *
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
 * The Jacobi trajectory of one prompt, as training reads it (a decoding `Trajectory` is one, as plain
 * data; `readTrajectories` reads them from the JSONL file `collect` writes).
 *
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
 * @category Jacobi Forcing
 */
export interface JacobiForcingOptions extends NoiseScheduleOptions {
  /** Attention mask of the packed sequence: `noise-conditioned` (default) or `clean-context` (CLLM-style baseline). */
  readonly mask?: MaskKind;
  /** w_AR, the weight of the AR loss (default {@link DEFAULT_AR_WEIGHT}, 10, as the released code hard-codes). */
  readonly arWeight?: number;
  /** Divide L_pc by the number of blocks as well, as the released code does (default false, as the paper). */
  readonly divideByBlocks?: boolean;
  /**
   * Train the AR loss on the prompt's own next-token predictions too (default false). The released
   * recipe includes them; here the default leaves them out, as our teachers were pretrained: on the
   * synthetic math task a prompt is random digits, whose loss is irreducible noise that w_AR = 10
   * amplifies, and the teacher's accuracy falls (docs/jacobi-forcing.md §5).
   */
  readonly promptLoss?: boolean;
  /** EOS id: the AR loss stops after it in the clean chain; null for none. */
  readonly eosTokenId: Eos;
}

/**
 * Default AR-loss weight w_AR: 10, as in the released code (`L = L_pc + 10 · L_AR`).
 *
 * @category Jacobi Forcing
 */
export const DEFAULT_AR_WEIGHT = 10;

/**
 * A trajectory turned into what one forward needs ({@link buildExample}).
 *
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
}

/**
 * The loss of one example ({@link jacobiForcingLoss}), and its two parts.
 *
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
}

/**
 * The losses of one example of a minibatch, as the gradient computation reports them.
 *
 * @category Jacobi Forcing
 */
export interface ExampleLosses {
  /** The example's loss (not yet divided by the batch size). */
  readonly loss: number;
  /** Its named parts, kept apart in the history: `ar`, `consistency` (and `distill`'s `replay`). */
  readonly parts: Readonly<Record<string, number>>;
}

/**
 * The gradient of a minibatch, one example at a time: what {@link jacobiForcingStep} needs
 * (`GradientPool` of `parallel.ts` is one, inline or on worker threads).
 *
 * @category Jacobi Forcing
 */
export interface MinibatchGradients {
  /**
   * Sets every trainable tensor's `grad` to the gradient of the mean loss over `examples`: each
   * example's gradient computed alone from zeroed gradients, the gradients summed in example order.
   * Returns each example's losses, in order.
   */
  gradients(params: Params, examples: readonly JacobiForcingExample[]): Promise<ExampleLosses[]>;
}
