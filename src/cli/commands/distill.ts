/**
 * `jacobi-forcing distill`: Jacobi Forcing training of a teacher on its own Jacobi trajectories
 * (written by `jacobi-forcing collect`), resumable, with the progress report and loss files of `train`.
 * On math it evaluates accuracy and Jacobi tokens per forward on held-out problems as it goes.
 *
 * @module
 */
import { mathEvalSet } from "../../data/math.ts";
import { jacobi } from "../../decoding/jacobi.ts";
import { readTrajectories } from "../../decoding/trajectory.ts";
import { mathAccuracy } from "../../evaluation/tasks.ts";
import { loadCheckpoint } from "../../model/checkpoint.ts";
import type { Params } from "../../model/params.ts";
import { DEFAULT_AR_WEIGHT } from "../../training/jacobi-forcing.ts";
import { DEFAULT_DISTILL, distill, type DistillOptions, type ReplaySource } from "../../training/distill.ts";
import { SCHEDULE_STRATEGIES, WINDOW_PHASES, type ScheduleStrategy, type TargetSpacing, type WindowPhase } from "../../training/noise-schedule.ts";
import { MASK_KINDS, type MaskKind } from "../../training/packing.ts";
import { progressReporter } from "../../training/progress.ts";
import { CliError } from "../args.ts";
import type { Command } from "../command.ts";
import { datasetFor } from "./train.ts";

/**
 * The `distill` command.
 *
 * @example
 * ```ts
 * // jacobi-forcing distill --teacher models/math-teacher --trajectories runs/traj.jsonl --block-size 16 --steps 500 --out runs/math-jf
 * ```
 * @category CLI
 */
export const distillCommand: Command = {
  summary: "Jacobi Forcing: train a teacher on its own Jacobi trajectories; resumable",
  flags: {
    teacher: { type: "string", help: "the model the trajectories were collected with (the run starts from its weights)" },
    trajectories: { type: "string", help: "JSONL file written by collect" },
    out: { type: "string", help: "output folder (model, resume checkpoint, loss.csv with ar_loss and consistency_loss, loss.svg)" },
    "block-size": { type: "int", help: "n: must equal the block size the trajectories were collected with" },
    window: { type: "int", default: 16, help: "w: blocks over which noise targets rise from 0 to 1" },
    steps: { type: "int", help: "optimizer steps" },
    mask: { type: "string", choices: MASK_KINDS, default: "noise-conditioned", help: "attention mask of the packed sequence" },
    schedule: { type: "string", choices: SCHEDULE_STRATEGIES, default: "progressive", help: "order of the noise targets" },
    "window-phase": { type: "string", choices: WINDOW_PHASES, default: "zero", help: "zero: block b gets target W[b mod w] (paper); random: a random phase per sequence (short trajectories)" },
    spacing: { type: "string", choices: ["linspace", "paper"], default: "linspace", help: "targets linspace(0,1,w) (code) or k/w (paper)" },
    "ar-weight": { type: "number", default: DEFAULT_AR_WEIGHT, help: "w_AR, weight of the AR loss" },
    "divide-by-blocks": { type: "boolean", help: "also divide the consistency loss by the number of blocks (released code)" },
    "prompt-loss": { type: "boolean", help: "train the AR loss on the prompt's rows too (released recipe; off by default)" },
    data: { type: "string", optional: true, help: "math: evaluate held-out accuracy and Jacobi TPF during training" },
    resume: { type: "boolean", help: "continue the run saved in --out (same flags)" },
    seed: { type: "int", default: 1, help: "seed of trajectory draws and random targets" },
    batch: { type: "int", default: DEFAULT_DISTILL.batchSize, help: "trajectories per step" },
    lr: { type: "number", default: DEFAULT_DISTILL.maxLr, help: "peak learning rate (cosine down to lr/10)" },
    "eval-every": { type: "int", default: DEFAULT_DISTILL.evalEvery, help: "steps between evaluations" },
    "checkpoint-every": { type: "int", default: DEFAULT_DISTILL.checkpointEvery, help: "steps between checkpoints" },
    "replay-data": { type: "string", optional: true, help: "math, code or FILE: also train next-token loss on this real text (not in the paper; keeps held-out likelihood)" },
    "replay-weight": { type: "number", default: 0, help: "weight of the replay loss (0: none)" },
    "replay-length": { type: "int", default: 128, help: "tokens per replayed sequence" },
    workers: { type: "int", default: 1, help: "worker threads for the minibatch's gradients (same result for any count)" },
  },
  async run(flags, io) {
    const steps = flags.steps as number;
    for (const name of ["steps", "batch", "window", "block-size", "eval-every", "checkpoint-every", "workers"]) {
      if ((flags[name] as number) <= 0) throw new CliError(`distill: --${name} must be positive, got ${flags[name]}`);
    }
    const teacher = loadCheckpoint(flags.teacher as string);
    if (teacher.tokenizer === null) throw new CliError(`distill: ${flags.teacher} has no tokenizer.json`);
    const trajectories = readTrajectories(flags.trajectories as string);
    const n = flags["block-size"] as number;
    const other = trajectories.find((t) => t.blockSize !== n);
    if (other) throw new CliError(`distill: --block-size ${n} but the trajectories were collected with block size ${other.blockSize}`);
    const options: DistillOptions = {
      ...DEFAULT_DISTILL,
      objective: "Jacobi Forcing",
      config: teacher.config,
      teacher: flags.teacher as string,
      seed: flags.seed as number,
      steps,
      batchSize: flags.batch as number,
      maxLr: flags.lr as number,
      minLr: (flags.lr as number) / 10,
      warmupSteps: Math.min(DEFAULT_DISTILL.warmupSteps, Math.ceil(steps / 10)),
      evalEvery: flags["eval-every"] as number,
      checkpointEvery: flags["checkpoint-every"] as number,
      window: flags.window as number,
      spacing: flags.spacing as TargetSpacing,
      strategy: flags.schedule as ScheduleStrategy,
      windowPhase: flags["window-phase"] as WindowPhase,
      mask: flags.mask as MaskKind,
      arWeight: flags["ar-weight"] as number,
      divideByBlocks: flags["divide-by-blocks"] === true,
      promptLoss: flags["prompt-loss"] === true,
      eosTokenId: teacher.config.eosTokenId,
      replayWeight: flags["replay-weight"] as number,
      ...(flags["replay-data"] !== undefined ? { replayData: flags["replay-data"] as string, replayLength: flags["replay-length"] as number } : {}),
    };
    if ((flags["replay-weight"] as number) < 0) throw new CliError(`distill: --replay-weight must be >= 0, got ${flags["replay-weight"]}`);
    if ((flags["replay-weight"] as number) > 0 && flags["replay-data"] === undefined) throw new CliError("distill: --replay-weight needs --replay-data (the text to replay)");
    let replay: ReplaySource | undefined;
    if (options.replayData !== undefined) {
      const data = datasetFor(options.replayData);
      if (JSON.stringify(data.tokenizer.chars) !== JSON.stringify(teacher.tokenizer.chars)) {
        throw new CliError(`distill: --replay-data ${options.replayData} has another vocabulary than the teacher's`);
      }
      replay = (rng, length) => data.trainSequence(rng, Math.min(length, teacher.config.maxPositions));
    }
    let evaluate: ((params: Params) => Record<string, number>) | undefined;
    if (flags.data === "math") {
      const tokenizer = datasetFor("math").tokenizer;
      const problems = mathEvalSet(50, 99);
      evaluate = (params) => {
        const r = mathAccuracy(tokenizer, problems, (prompt, maxNewTokens) => {
          const g = jacobi(teacher.config, params, [...prompt], { maxNewTokens, blockSize: n });
          return { tokens: g.tokens, forwards: g.stats.forwards };
        });
        return { accuracy: r.accuracy, jacobiTPF: r.tokens / Math.max(r.forwards, 1) };
      };
    } else if (flags.data !== undefined) {
      throw new CliError(`distill: --data evaluates math only, got ${JSON.stringify(flags.data)}`);
    }
    let stopRequested = false;
    const onSigint = (): void => {
      if (stopRequested) process.exit(130);
      stopRequested = true;
      io.err("\ninterrupt: saving a checkpoint, then exiting (Ctrl-C again to abort)\n");
    };
    process.on("SIGINT", onSigint);
    io.err(`distill: ${trajectories.length} trajectories of block size ${n}; ${JSON.stringify({ ...options, adamw: undefined, config: undefined })}\n`);
    const started = performance.now();
    try {
      const result = await distill(trajectories, teacher.tokenizer, options, {
        outDir: flags.out as string,
        resume: flags.resume === true,
        onProgress: progressReporter({ write: io.err }, process.stderr.isTTY === true, 10),
        ...(evaluate ? { evaluate } : {}),
        shouldStop: () => stopRequested,
        workers: flags.workers as number,
      }, replay);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      io.err(result.finished
        ? `distill: done, ${result.history.length} steps; this session took ${seconds} s; model in ${flags.out}\n`
        : `distill: stopped at step ${result.history.length} after ${seconds} s; continue with --resume\n`);
    } finally {
      process.off("SIGINT", onSigint);
    }
  },
};
