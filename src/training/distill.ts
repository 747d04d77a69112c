/**
 * Jacobi Forcing distillation: the training loop over the objective of `jacobi-forcing.ts`.
 *
 * The model starts as a copy of the teacher (the AR model that produced the trajectories) and is trained
 * on its own Jacobi trajectories: each step draws `batchSize` trajectories, turns each into one packed
 * example by the noise schedule, and takes one AdamW step on the mean of their losses
 * `L = L_pc + w_AR · L_AR`. Checkpoints, resume, the loss table and the progress report are the AR
 * trainer's (`state.ts`); the history keeps `ar` and `consistency` apart.
 *
 * Progressive rounds (paper §3.1 "Progressive Distillation for Larger Block Sizes"): after round 1,
 * collect new trajectories WITH the distilled model at a larger block and distil again, starting from
 * the round-1 model (`teacher` = the round-1 folder).
 *
 * Determinism: the trajectory draws and the schedule's random targets come from one generator seeded by
 * `seed` and saved in the checkpoint, so a resumed run repeats the uninterrupted one bit for bit.
 *
 * @module
 */
import { loadCheckpoint } from "../model/checkpoint.ts";
import { toHfConfig, type ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import type { CharTokenizer } from "../model/tokenizer.ts";
import { Rng } from "../tensor/random.ts";
import { buildExample, type JacobiForcingOptions, type ReplaySequence, type TrajectoryData } from "./jacobi-forcing.ts";
import { DEFAULT_ADAMW, adamwInit, adamwStep, clipGradNorm, type AdamWOptions } from "./optimizer.ts";
import { GradientPool } from "./parallel.ts";
import { loadTrainState, saveTrainState, type TrainState } from "./state.ts";
import { runSteps, trainableParams, type TrainHooks, type TrainResult } from "./trainer.ts";

// ---------------------------------------------------------------- options

/**
 * Everything that defines a distillation run (saved with it; a resume must match).
 *
 * @example
 * ```ts
 * // what `distill --teacher models/math-teacher --trajectories t.jsonl --block-size 16 --steps 500` passes:
 * // { objective: "Jacobi Forcing", teacher: "models/math-teacher", window: 16, steps: 500, batchSize: 8, maxLr: 1e-3, ... }
 * ```
 * @category Jacobi Forcing
 */
export interface DistillOptions extends JacobiForcingOptions {
  /** Always "Jacobi Forcing" (names the run in its files). */
  readonly objective: "Jacobi Forcing";
  /** The blueprint: the teacher's. */
  readonly config: ModelConfig;
  /** The teacher folder whose weights the run starts from. */
  readonly teacher: string;
  /** Seed of the trajectory draws and of the random schedule. */
  readonly seed: number;
  /** Optimizer steps. */
  readonly steps: number;
  /** Trajectories per step (gradients accumulated). */
  readonly batchSize: number;
  /** Peak learning rate after warm-up. */
  readonly maxLr: number;
  /** Learning rate at the last step (cosine decay). */
  readonly minLr: number;
  /** Linear warm-up steps. */
  readonly warmupSteps: number;
  /** Global gradient-norm clip. */
  readonly clipNorm: number;
  /** AdamW betas, eps and weight decay. */
  readonly adamw: AdamWOptions;
  /** Evaluate (the hooks' `evaluate`) every this many steps and at the end. */
  readonly evalEvery: number;
  /** Checkpoint every this many steps, at the end, and on a stop request. */
  readonly checkpointEvery: number;
  /** With `replayWeight` > 0: the dataset whose training text is replayed (its name, saved with the run). */
  readonly replayData?: string;
  /** Tokens per replayed sequence (default 128). */
  readonly replayLength?: number;
}

/**
 * Draws one real-text training sequence for the replay loss from the run's generator.
 *
 * @example
 * ```ts
 * const replay: ReplaySource = (rng, length) => replayDataset.sample(rng, length); // real text for the replay loss
 * ```
 * @category Jacobi Forcing
 */
export type ReplaySource = (rng: Rng, length: number) => ReplaySequence;

/**
 * Defaults of the optimisation (a tiny model needs its own tuning; see docs/jacobi-forcing.md).
 *
 * @example
 * ```ts
 * DEFAULT_DISTILL.maxLr; // 1e-3, cosine down to 1e-4 after 20 warm-up steps; batch 8, clip 1
 * ```
 * @category Jacobi Forcing
 */
export const DEFAULT_DISTILL: Pick<DistillOptions, "batchSize" | "maxLr" | "minLr" | "warmupSteps" | "clipNorm" | "adamw" | "evalEvery" | "checkpointEvery"> = {
  batchSize: 8, maxLr: 1e-3, minLr: 1e-4, warmupSteps: 20, clipNorm: 1, adamw: DEFAULT_ADAMW, evalEvery: 100, checkpointEvery: 50,
};

// ---------------------------------------------------------------- the loop

/**
 * Distils the teacher on `trajectories`, or resumes the run saved in `hooks.outDir`.
 *
 * @param trajectories - Jacobi trajectories of the teacher (as plain data)
 * @param tokenizer - the teacher's vocabulary (saved with the student)
 * @example
 * ```ts
 * await distill(trajectories, tokenizer, { ...DEFAULT_DISTILL, objective: "Jacobi Forcing", config, teacher: "models/math-teacher",
 *   seed: 1, steps: 300, window: 16, eosTokenId: 2 }, { outDir: "runs/math-jf" });
 * ```
 * @category Jacobi Forcing
 */
export async function distill(
  trajectories: readonly TrajectoryData[], tokenizer: CharTokenizer, options: DistillOptions, hooks: TrainHooks, replay?: ReplaySource,
): Promise<TrainResult> {
  if (trajectories.length === 0) throw new Error("distill: no trajectories to train on");
  if ((options.replayWeight ?? 0) > 0 && replay === undefined) throw new Error("distill: replayWeight > 0 needs a replay source (the replayed dataset)");
  const { config } = options;
  const corpus = { name: `trajectories (${trajectories.length})`, tokenizer };
  let state: TrainState;
  if (hooks.resume) {
    state = loadTrainState(hooks.outDir, options, corpus, hooks.log);
  } else {
    const teacher = loadCheckpoint(options.teacher);
    if (JSON.stringify(toHfConfig(teacher.config)) !== JSON.stringify(toHfConfig(config))) {
      throw new Error(`distill: the teacher in ${options.teacher} has another config than this run's`);
    }
    state = { step: 0, params: teacher.params, optimizer: adamwInit(trainableParams(config, teacher.params).tensors), dataRng: new Rng(`distill-${options.seed}`), history: [], evals: [] };
  }
  const { params, optimizer, dataRng } = state;
  const trainable = trainableParams(config, params);
  const save = (): void => saveTrainState(hooks.outDir, state, options, corpus);
  const pool = new GradientPool(hooks.workers ?? 1, config, trainable.names, trainable.tensors, options.batchSize, options);
  try {
    return await runSteps(state, options, hooks, save, async (lr) => {
      const batch = Array.from({ length: options.batchSize }, () => trajectories[dataRng.int(trajectories.length)]);
      const step = await distillStep(pool, params, batch, options, dataRng, replay);
      const gradNorm = clipGradNorm(trainable.tensors, options.clipNorm);
      adamwStep(trainable.tensors, trainable.decay, optimizer, lr, options.adamw);
      const parts: Record<string, number> = { ar: step.ar, consistency: step.consistency };
      if ((options.replayWeight ?? 0) > 0) parts.replay = step.replay;
      return { loss: step.loss, gradNorm, tokens: step.tokens, parts };
    }, () => ({ ...hooks.evaluate?.(params) }));
  } finally {
    await pool.close();
  }
}

/**
 * The gradient of one minibatch (each trainable tensor's `grad` = the gradient of the batch-mean loss)
 * and its mean losses. The examples are built here, in order, from the run's generator; the pool
 * computes their gradients (inline or on workers: the same bits).
 */
async function distillStep(
  pool: GradientPool, params: Params, batch: readonly TrajectoryData[], options: DistillOptions, rng: Rng, replay: ReplaySource | undefined,
): Promise<{ loss: number; ar: number; consistency: number; replay: number; tokens: number }> {
  const withReplay = (options.replayWeight ?? 0) > 0 && replay !== undefined;
  const examples = batch.map((trajectory) => {
    const example = buildExample(trajectory, options, rng);
    return withReplay ? { ...example, replay: replay(rng, options.replayLength ?? 128) } : example;
  });
  const losses = await pool.gradients(params, examples);
  let loss = 0, ar = 0, consistency = 0, replayed = 0;
  for (const l of losses) {
    loss += l.loss / batch.length;
    ar += l.ar / batch.length;
    consistency += l.consistency / batch.length;
    replayed += l.replay / batch.length;
  }
  const tokens = examples.reduce((s, e) => s + e.packed.tokens.length + (e.replay?.tokens.length ?? 0), 0);
  return { loss, ar, consistency, replay: replayed, tokens };
}
