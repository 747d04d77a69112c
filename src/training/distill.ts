/**
 * Jacobi Forcing distillation: the training loop over the objective of `jacobi-forcing.ts`.
 *
 * The model starts as a copy of the teacher (the AR model that produced the trajectories) and is trained
 * on its own Jacobi trajectories: each step draws `batchSize` trajectories, turns each into one packed
 * example by the noise schedule, and takes one {@link jacobiForcingStep} on the mean of their losses
 * `L = L_pc + w_AR · L_AR`. Checkpoints, resume, the loss table and the progress report are the AR
 * trainer's (`state.ts`); the history keeps `ar` and `consistency` apart.
 *
 * Beyond the paper, a run may replay real text (`replayWeight` > 0): each example then also carries one
 * training sequence of the replayed dataset, and its loss gains `w_replay · L_replay`
 * (`distill-loss.ts`, whose gradient the pool takes).
 *
 * Progressive rounds (paper §3.1 "Progressive Distillation for Larger Block Sizes"): after round 1,
 * collect new trajectories WITH the distilled model at a larger block and distil again, starting from
 * the round-1 model (`teacher` = the round-1 folder).
 *
 * Determinism: the trajectory draws, the schedule's random targets and the replayed sequences come from
 * one generator seeded by `seed` and saved in the checkpoint, so a resumed run repeats the uninterrupted
 * one bit for bit.
 *
 * @module
 */
import { loadCheckpoint } from "../model/checkpoint.ts";
import { toHfConfig, type ModelConfig } from "../model/config.ts";
import type { CharTokenizer } from "../model/tokenizer.ts";
import { Rng } from "../tensor/random.ts";
import type { DistillExample, DistillLossOptions, ReplaySequence } from "./distill-loss.ts";
import { buildExample, jacobiForcingStep, type TrajectoryData } from "./jacobi-forcing.ts";
import { DEFAULT_ADAMW, adamwInit, type AdamWOptions } from "./optimizer.ts";
import { GradientPool } from "./parallel.ts";
import { loadTrainState, saveTrainState, type TrainState } from "./state.ts";
import { runSteps, trainableParams, type TrainHooks, type TrainResult } from "./trainer.ts";

// ---------------------------------------------------------------- the loop

/**
 * Distils the teacher on `trajectories`, or resumes the run saved in `hooks.outDir`.
 *
 * @param trajectories - Jacobi trajectories of the teacher (as plain data)
 * @param tokenizer - the teacher's vocabulary (saved with the student)
 * @param replay - with `replayWeight` > 0: draws the real-text sequences to replay
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
  const withReplay = (options.replayWeight ?? 0) > 0 && replay !== undefined;
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
      // the examples are built here, in order, from the run's generator, whatever the number of workers
      const batch = Array.from({ length: options.batchSize }, () => trajectories[dataRng.int(trajectories.length)]);
      const examples: DistillExample[] = batch.map((trajectory) => {
        const example = buildExample(trajectory, options, dataRng);
        return withReplay ? { ...example, replay: replay(dataRng, options.replayLength ?? 128) } : example;
      });
      const step = await jacobiForcingStep(pool, params, trainable, optimizer, examples, lr, options);
      const replayed = examples.reduce((n, e) => n + (e.replay?.tokens.length ?? 0), 0);
      return { ...step, tokens: step.tokens + replayed };
    }, () => ({ ...hooks.evaluate?.(params) }));
  } finally {
    await pool.close();
  }
}

// ---------------------------------------------------------------- options and defaults

/**
 * Everything that defines a distillation run (saved with it; a resume must match): the objective's
 * options, the replay weight, and the optimisation.
 *
 * @category Jacobi Forcing
 */
export interface DistillOptions extends DistillLossOptions {
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
 * Draws one real-text training sequence of `length` tokens for the replay loss from the run's
 * generator (the CLI's: `dataset.trainSequence(rng, length)` of the replayed dataset).
 *
 * @category Jacobi Forcing
 */
export type ReplaySource = (rng: Rng, length: number) => ReplaySequence;

/**
 * Defaults of the optimisation: lr 1e-3, cosine down to 1e-4 after 20 warm-up steps; batch 8, clip 1
 * (a tiny model needs its own tuning; see docs/jacobi-forcing.md).
 *
 * @category Jacobi Forcing
 */
export const DEFAULT_DISTILL: Pick<DistillOptions, "batchSize" | "maxLr" | "minLr" | "warmupSteps" | "clipNorm" | "adamw" | "evalEvery" | "checkpointEvery"> = {
  batchSize: 8, maxLr: 1e-3, minLr: 1e-4, warmupSteps: 20, clipNorm: 1, adamw: DEFAULT_ADAMW, evalEvery: 100, checkpointEvery: 50,
};
