/**
 * Autoregressive (AR) pretraining, one narrative function per level: `trainStep` (forward, loss,
 * backward over a minibatch, clip, AdamW) and `train` (the loop: steps, held-out evaluation,
 * checkpoints, resume, clean stop).
 *
 * Determinism. Everything random is drawn from generators seeded by `seed`: the initial weights and
 * the data stream (whose state is saved). A run is a pure function of its options; stopping at step k
 * and resuming gives the very same losses, bit for bit, as never stopping (the checkpoint holds the
 * weights and AdamW moments in float64, the step, the data generator's state and the loss history).
 *
 * What it is not: data-parallel, mixed-precision or fast. It is the reference trainer that Jacobi
 * Forcing training (docs/ALGORITHM.md §3) will reuse: packed sequences with explicit positions and masks
 * flow through the same `forward` as inference.
 *
 * Read next: `state.ts` (the checkpoint), `optimizer.ts`, `src/tensor/losses.ts`.
 *
 * @module
 */
import type { Dataset, TrainingSequence } from "../data/dataset.ts";
import { IGNORE } from "../data/dataset.ts";
import type { Checkpoint } from "../model/checkpoint.ts";
import { loadCheckpoint } from "../node/checkpoint-folder.ts";
import { toHfConfig, type ModelConfig } from "../model/config.ts";
import { initParams, namedParams, type Params } from "../model/params.ts";
import { forward } from "../model/transformer.ts";
import { backward, zeroGrad } from "../tensor/autograd.ts";
import { crossEntropy } from "../tensor/losses.ts";
import { scale } from "../tensor/ops.ts";
import { Rng } from "../tensor/random.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { KernelThreads } from "../tensor/threads.ts";
import { DEFAULT_ADAMW, adamwInit, adamwStep, clipGradNorm, learningRate, type AdamWOptions, type AdamWState } from "./optimizer.ts";
import { loadTrainState, saveTrainState, type Corpus, type HistoryRow, type RunOptions, type TrainState } from "./state.ts";

// ---------------------------------------------------------------- options

/**
 * Everything that defines a training run (saved in the checkpoint; a resume must match it).
 *
 * @category Training
 */
export interface TrainOptions {
  /** The model blueprint; `vocabSize` must equal the dataset tokenizer's. */
  readonly config: ModelConfig;
  /** Seed of the initial weights and of the data stream. */
  readonly seed: number;
  /** Total optimizer steps. */
  readonly steps: number;
  /** T: rows of each packed sequence (at most `config.maxPositions`). */
  readonly contextLength: number;
  /** Sequences per step; their gradients are accumulated one sequence at a time. */
  readonly batchSize: number;
  /** Peak learning rate (after warm-up). */
  readonly maxLr: number;
  /** Learning rate at the last step. */
  readonly minLr: number;
  /** Linear warm-up steps. */
  readonly warmupSteps: number;
  /** Global gradient-norm clip. */
  readonly clipNorm: number;
  /** AdamW betas, eps and weight decay. */
  readonly adamw: AdamWOptions;
  /** Held-out evaluation every this many steps (and at the end). */
  readonly evalEvery: number;
  /** Held-out sequences per evaluation. */
  readonly evalSequences: number;
  /** Checkpoint every this many steps (and at the end, and on a stop request). */
  readonly checkpointEvery: number;
  /**
   * A model folder to take the initial weights from (continued training, or the teacher that Jacobi
   * Forcing starts from); null draws fresh weights from `seed`. Its config must equal `config`.
   */
  readonly initFrom: string | null;
}

/**
 * Defaults for everything but the model, seed and length.
 *
 * @category Training
 */
export const DEFAULT_TRAINING: Pick<TrainOptions, "batchSize" | "maxLr" | "minLr" | "warmupSteps" | "clipNorm" | "adamw" | "evalEvery" | "evalSequences" | "checkpointEvery" | "initFrom"> = {
  batchSize: 8, maxLr: 3e-3, minLr: 3e-4, warmupSteps: 50, clipNorm: 1, adamw: DEFAULT_ADAMW,
  evalEvery: 100, evalSequences: 8, checkpointEvery: 100, initFrom: null,
};

// ---------------------------------------------------------------- parameters

/**
 * The trainable tensors of a model, in checkpoint order.
 *
 * @category Training
 */
export interface Trainable {
  /** Hugging Face names. */
  readonly names: string[];
  /** The tensors, marked `requiresGrad`. */
  readonly tensors: Tensor[];
  /** Whether AdamW decays each tensor (matrices yes, gains and biases no). */
  readonly decay: boolean[];
}

/**
 * The trainable tensors of `params` in checkpoint order, marked `requiresGrad`, with the weight-decay
 * mask: matrices (rank 2: projections, embeddings) decay; RMSNorm gains and biases do not.
 *
 * @example
 * ```ts
 * const { names, decay } = trainableParams(PRESETS.tiny, initParams(PRESETS.tiny, { seed: 1 }));
 * names[0]; // "model.embed_tokens.weight"; decay[0] = true, decay[1] (input_layernorm) = false
 * ```
 * @category Training
 */
export function trainableParams(config: ModelConfig, params: Params): Trainable {
  const named = namedParams(config, params);
  for (const [, t] of named) t.requiresGrad = true;
  return { names: named.map(([n]) => n), tensors: named.map(([, t]) => t), decay: named.map(([, t]) => t.rank === 2) };
}

/**
 * The model in `dir` that a run starts from (F32 on disk, float64 in memory): `train`'s `initFrom`,
 * `distill`'s teacher. Its config must be the run's.
 *
 * @param command - `train` or `distill`, to start the error message
 * @throws Error when the model's config differs from `config`
 * @example
 * ```ts
 * loadStartingModel("models/math-teacher", config, "distill").params; // the teacher's weights
 * ```
 * @category Training
 */
export function loadStartingModel(dir: string, config: ModelConfig, command: string): Checkpoint {
  const loaded = loadCheckpoint(dir);
  if (JSON.stringify(toHfConfig(loaded.config)) !== JSON.stringify(toHfConfig(config))) {
    throw new Error(`${command}: the model in ${dir} has another config than this run's (compare its config.json)`);
  }
  return loaded;
}

// ---------------------------------------------------------------- one step

/**
 * What one step measured.
 *
 * @category Training
 */
export interface StepResult {
  /** Mean cross-entropy over the trained rows of the minibatch, nats per token. */
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Tokens the step trained on (for tokens/s): AR, the trained rows (targets not ignored) of the minibatch. */
  readonly tokens: number;
  /** Parts of the loss, kept apart in the history (Jacobi Forcing: the mean `ar` and `consistency`). */
  readonly parts?: Readonly<Record<string, number>>;
}

/**
 * One training step on a minibatch: for each sequence, forward (with its positions and mask), the
 * summed cross-entropy scaled by 1 / (trained rows of the whole minibatch), backward — so the
 * accumulated gradient is that of the token-mean loss; then clip and one AdamW update.
 *
 * @param batch - the packed sequences of this step
 * @param lr - learning rate of this step
 * @example
 * ```ts
 * const r = trainStep(config, params, trainable, adamwInit(trainable.tensors), [data.trainSequence(rng, 64)], 1e-3, DEFAULT_TRAINING);
 * r.loss; // e.g. 3.01 nats on a fresh model (ln 20 = 3.0 for the 20-id math vocabulary)
 * ```
 * @category Training
 */
export function trainStep(
  config: ModelConfig, params: Params, trainable: { tensors: Tensor[]; decay: boolean[] }, optimizer: AdamWState,
  batch: readonly TrainingSequence[], lr: number, options: Pick<TrainOptions, "clipNorm" | "adamw">,
): StepResult {
  zeroGrad(trainable.tensors);
  const tokens = batch.reduce((n, s) => n + s.targets.filter((t) => t !== IGNORE).length, 0);
  let total = 0;
  for (const seq of batch) {
    const summed = sequenceLoss(config, params, seq, "sum"); // []
    total += summed.data[0];
    backward(scale(summed, 1 / Math.max(tokens, 1)));
  }
  const gradNorm = clipGradNorm(trainable.tensors, options.clipNorm);
  adamwStep(trainable.tensors, trainable.decay, optimizer, lr, options.adamw);
  return { loss: total / Math.max(tokens, 1), gradNorm, tokens };
}

/**
 * The next-token cross-entropy of one packed sequence, from one forward with its positions and mask:
 * summed, or the mean over its trained rows (rows whose target is {@link IGNORE} add nothing).
 *
 * @param threads - kernel threads holding `params` to run the forward on; same result
 * @example
 * ```ts
 * const seq = { tokens: [1, 4, 6], targets: [4, 6, IGNORE], positions: [0, 1, 2], mask: null };
 * sequenceLoss(config, params, seq, "mean").data[0]; // ≈ ln 20 = 3.0 nats on a fresh math model
 * ```
 * @category Training
 */
export function sequenceLoss(
  config: ModelConfig, params: Params, seq: TrainingSequence, reduction: "sum" | "mean", threads?: KernelThreads,
): Tensor {
  const logits = forward(config, params, seq.tokens, { positions: seq.positions, mask: seq.mask ?? undefined, threads }); // [T, V]
  return crossEntropy(logits, seq.targets, IGNORE, reduction);                                                          // []
}

/**
 * Mean held-out cross-entropy (nats per trained row) of `sequences`; builds no graph.
 *
 * @param threads - kernel threads holding `params` to run the forwards on (`startKernelThreads`); same result
 * @example
 * ```ts
 * heldoutLoss(config, params, data.heldoutSequences(256, 8)); // nats per trained row; bits per character = this / ln 2
 * ```
 * @category Training
 */
export function heldoutLoss(config: ModelConfig, params: Params, sequences: readonly TrainingSequence[], threads?: KernelThreads): number {
  const constants = namedParams(config, params).map(([, t]) => [t, t.requiresGrad] as const);
  for (const [t] of constants) t.requiresGrad = false;
  let total = 0;
  let count = 0;
  try {
    for (const seq of sequences) {
      total += sequenceLoss(config, params, seq, "sum", threads).data[0];
      count += seq.targets.filter((t) => t !== IGNORE).length;
    }
  } finally {
    for (const [t, flag] of constants) t.requiresGrad = flag;
  }
  return total / Math.max(count, 1);
}

// ---------------------------------------------------------------- the loop

/**
 * One progress report.
 *
 * @category Training
 */
export interface Progress {
  /** Steps done. */
  readonly step: number;
  /** Total steps. */
  readonly steps: number;
  /** This step's training loss. */
  readonly loss: number;
  /** Trained tokens per second over this session. */
  readonly tokensPerSecond: number;
  /** Estimated seconds left. */
  readonly etaSeconds: number;
  /** Set on evaluation steps. */
  readonly eval?: Readonly<Record<string, number>>;
}

/**
 * Hooks of {@link train}: where to write, what to report, how to stop.
 *
 * @category Training
 */
export interface TrainHooks {
  /** Output folder: the model (F32) for inference, the resume checkpoint, loss.csv and loss.svg. */
  readonly outDir: string;
  /** Continue from `outDir`'s checkpoint instead of starting fresh. */
  readonly resume?: boolean;
  /** Called after every step. */
  readonly onProgress?: (p: Progress) => void;
  /** Extra held-out metrics at evaluation time (e.g. math accuracy by greedy decoding). */
  readonly evaluate?: (params: Params) => Record<string, number>;
  /** Polled between steps; true stops the run after a checkpoint (Ctrl-C). */
  readonly shouldStop?: () => boolean;
  /** Stop after this many steps of this session (for specs of resume); default: run to the end. */
  readonly stopAfter?: number;
  /**
   * Worker threads computing the minibatch's gradients (default 1: none). An execution choice only: the
   * result is bit-identical for any count, so a run may be resumed with another one. Used by `distill`.
   */
  readonly workers?: number;
  /** Notes for the user, one line each: the step a resume starts from, files rewritten from its checkpoint. */
  readonly log?: (line: string) => void;
}

/**
 * What {@link train} returns.
 *
 * @category Training
 */
export interface TrainResult {
  /** The trained weights. */
  readonly params: Params;
  /** One row per step done so far (all sessions). */
  readonly history: readonly HistoryRow[];
  /** True when every step is done (false after a stop request). */
  readonly finished: boolean;
}

/**
 * Trains a model from scratch or resumes it: each step draws `batchSize` sequences from the dataset's
 * seeded stream, takes one {@link trainStep}, evaluates every `evalEvery` steps and checkpoints every
 * `checkpointEvery` steps. Yields to the event loop between steps so that Ctrl-C (via `shouldStop`)
 * is seen; a stop saves a checkpoint first.
 *
 * @throws Error when resuming a run whose saved options or dataset differ from `options`
 * @example
 * ```ts
 * const result = await train(mathDataset(), { ...DEFAULT_TRAINING, config, seed: 1, steps: 100, contextLength: 128 }, { outDir: "runs/demo" });
 * result.history.at(-1)?.loss; // the last training loss
 * ```
 * @category Training
 */
export async function train(dataset: Dataset, options: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const { config } = options;
  if (config.vocabSize !== dataset.tokenizer.vocabSize) {
    throw new Error(`train: the config has vocabSize ${config.vocabSize}, the ${dataset.name} tokenizer ${dataset.tokenizer.vocabSize}`);
  }
  if (options.contextLength > config.maxPositions) {
    throw new Error(`train: context length ${options.contextLength} exceeds the model's maxPositions ${config.maxPositions}`);
  }

  const state = startState(options, dataset, hooks, `data-${options.seed}`, () => {
    if (options.initFrom === null) return initParams(config, { seed: options.seed });
    const loaded = loadStartingModel(options.initFrom, config, "train");
    if (loaded.tokenizer === null || JSON.stringify(loaded.tokenizer.files()) !== JSON.stringify(dataset.tokenizer.files())) {
      throw new Error(`train: the model in ${options.initFrom} has another vocabulary than the ${dataset.name} dataset`);
    }
    return loaded.params;
  });
  const { params, optimizer, dataRng } = state;
  const trainable = trainableParams(config, params);
  const heldout = dataset.heldoutSequences(options.contextLength, options.evalSequences);

  return runSteps(state, options, dataset, hooks, (lr) => {
    const batch = Array.from({ length: options.batchSize }, () => dataset.trainSequence(dataRng, options.contextLength));
    return trainStep(config, params, trainable, optimizer, batch, lr, options);
  }, () => ({ heldoutLoss: heldoutLoss(config, params, heldout), ...hooks.evaluate?.(params) }));
}

/**
 * The state a run starts from: with `hooks.resume`, the run saved in `hooks.outDir` (whose options and
 * corpus must be these); else step 0 with the weights `weights()` returns, zeroed AdamW moments and a
 * data generator seeded by `rngSeed`.
 *
 * @example
 * ```ts
 * startState(options, dataset, { outDir: "runs/demo" }, "data-1", () => initParams(config, { seed: 1 })).step; // 0
 * ```
 * @category Training
 */
export function startState(options: RunOptions, corpus: Corpus, hooks: TrainHooks, rngSeed: string, weights: () => Params): TrainState {
  if (hooks.resume) return loadTrainState(hooks.outDir, options, corpus, hooks.log);
  const params = weights();
  return { step: 0, params, optimizer: adamwInit(trainableParams(options.config, params).tensors), dataRng: new Rng(rngSeed), history: [], evals: [] };
}

/**
 * The fields of a run that {@link runSteps} reads: the schedule, and what a checkpoint records.
 *
 * @category Training
 */
export type LoopOptions = RunOptions & Pick<TrainOptions, "steps" | "maxLr" | "minLr" | "warmupSteps" | "evalEvery" | "checkpointEvery">;

/**
 * The training loop shared by `train` and `distill`: from `state.step` to `options.steps`, one `step(lr)`
 * per optimizer step (it draws its batch, computes the gradient and updates the weights), the history,
 * evaluation every `evalEvery` steps and at the end, a checkpoint of `state` on `corpus` into
 * `hooks.outDir` every `checkpointEvery` steps, at the end and on a stop request, and a progress report
 * after every step. A resumed run first logs the step it starts from.
 *
 * @param step - one optimizer step at learning rate `lr`
 * @param evaluate - the held-out metrics, on evaluation steps
 * @example
 * ```ts
 * await runSteps(state, options, dataset, hooks, (lr) => trainStep(config, params, trainable, optimizer, batch(), lr, options), () => ({}));
 * ```
 * @category Training
 */
export async function runSteps(
  state: TrainState, options: LoopOptions, corpus: Corpus, hooks: TrainHooks,
  step: (lr: number) => StepResult | Promise<StepResult>, evaluate: () => Record<string, number>,
): Promise<TrainResult> {
  const { params } = state;
  const save = (): void => saveTrainState(hooks.outDir, state, options, corpus);
  const schedule = { maxLr: options.maxLr, minLr: options.minLr, warmupSteps: options.warmupSteps, totalSteps: options.steps };
  const started = performance.now();
  let sessionTokens = 0;
  let sessionSteps = 0;
  if (hooks.resume) hooks.log?.(`resuming from step ${state.step} of ${options.steps}`);
  while (state.step < options.steps) {
    if (hooks.shouldStop?.() || (hooks.stopAfter !== undefined && sessionSteps >= hooks.stopAfter)) {
      save();
      return { params, history: state.history, finished: false };
    }
    const lr = learningRate(state.step, schedule);
    const result = await step(lr);
    state.step++;
    sessionSteps++;
    sessionTokens += result.tokens;
    state.history.push({ step: state.step, lr, loss: result.loss, gradNorm: result.gradNorm, ...(result.parts ? { parts: result.parts } : {}) });

    const last = state.step === options.steps;
    const evaluation = state.step % options.evalEvery === 0 || last ? evaluate() : undefined;
    if (evaluation) state.evals.push({ step: state.step, ...evaluation });
    if (state.step % options.checkpointEvery === 0 || last) save();

    const seconds = (performance.now() - started) / 1000;
    hooks.onProgress?.({
      step: state.step, steps: options.steps, loss: result.loss, tokensPerSecond: sessionTokens / seconds,
      etaSeconds: (seconds / sessionSteps) * (options.steps - state.step),
      ...(evaluation ? { eval: evaluation } : {}),
    });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { params, history: state.history, finished: true };
}
