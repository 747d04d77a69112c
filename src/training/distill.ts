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
import type { TrainingSequence } from "../data/dataset.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import type { Rng } from "../tensor/random.ts";
import type { DistillExample, DistillLossOptions } from "./distill-loss.ts";
import { buildExample, jacobiForcingStep, type TrajectoryData } from "./jacobi-forcing.ts";
import { DEFAULT_ADAMW } from "./optimizer.ts";
import { GradientPool } from "./parallel.ts";
import { loadStartingModel, runSteps, startState, trainableParams, type TrainHooks, type TrainOptions, type TrainResult } from "./trainer.ts";

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
  trajectories: readonly TrajectoryData[], tokenizer: Tokenizer, options: DistillOptions, hooks: TrainHooks, replay?: ReplaySource,
): Promise<TrainResult> {
  if (trajectories.length === 0) throw new Error("distill: no trajectories to train on");
  if ((options.replayWeight ?? 0) > 0 && replay === undefined) throw new Error("distill: replayWeight > 0 needs a replay source (the replayed dataset)");
  const withReplay = (options.replayWeight ?? 0) > 0 && replay !== undefined;
  const { config } = options;
  const corpus = { name: `trajectories (${trajectories.length})`, tokenizer };
  const state = startState(options, corpus, hooks, `distill-${options.seed}`, () => loadStartingModel(options.teacher, config, "distill").params);
  const { params, optimizer, dataRng } = state;
  const trainable = trainableParams(config, params);
  const pool = new GradientPool(hooks.workers ?? 1, config, trainable.tensors, options.batchSize, options);
  try {
    return await runSteps(state, options, corpus, hooks, async (lr) => {
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
 * options, the replay weight, and the optimisation, whose fields are the AR trainer's ({@link TrainOptions}):
 * here `config` is the teacher's, `seed` seeds the trajectory draws and the random schedule, and
 * `batchSize` counts trajectories per step; `evalEvery` runs the hooks' `evaluate`.
 *
 * @category Jacobi Forcing
 */
export interface DistillOptions
  extends DistillLossOptions,
    Pick<TrainOptions, "config" | "seed" | "steps" | "batchSize" | "maxLr" | "minLr" | "warmupSteps" | "clipNorm" | "adamw" | "evalEvery" | "checkpointEvery"> {
  /** Always "Jacobi Forcing" (names the run in its files). */
  readonly objective: "Jacobi Forcing";
  /** The teacher folder whose weights the run starts from. */
  readonly teacher: string;
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
export type ReplaySource = (rng: Rng, length: number) => TrainingSequence;

/**
 * Defaults of the optimisation: lr 1e-3, cosine down to 1e-4 after 20 warm-up steps; batch 8, clip 1
 * (a tiny model needs its own tuning; see docs/jacobi-forcing.md).
 *
 * @category Jacobi Forcing
 */
export const DEFAULT_DISTILL: Pick<DistillOptions, "batchSize" | "maxLr" | "minLr" | "warmupSteps" | "clipNorm" | "adamw" | "evalEvery" | "checkpointEvery"> = {
  batchSize: 8, maxLr: 1e-3, minLr: 1e-4, warmupSteps: 20, clipNorm: 1, adamw: DEFAULT_ADAMW, evalEvery: 100, checkpointEvery: 50,
};
