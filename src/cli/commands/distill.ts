/**
 * `jacobi-forcing distill`: Jacobi Forcing training of a teacher on its own Jacobi trajectories
 * (written by `jacobi-forcing collect`), resumable, with the progress report and loss files of `train`.
 * On math it evaluates accuracy and Jacobi tokens per forward on held-out problems as it goes.
 *
 * The trajectories must be the teacher's: a file whose header records another teacher (by the SHA-256
 * of its config and weights) is refused; a file of an older `collect`, without the record, is used with a
 * warning. The output folder is claimed as `train` claims it (`--resume`, `--overwrite`, one run at a
 * time), and a signal stops the run after a checkpoint with exit code 130 (SIGINT) or 143 (SIGTERM).
 *
 * @module
 */
import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { mathEvalSet } from "../../data/math.ts";
import { jacobi } from "../../decoding/jacobi.ts";
import type { Trajectory } from "../../decoding/trajectory.ts";
import { loadCheckpoint } from "../../node/checkpoint-folder.ts";
import { readTrajectoryFile } from "../../node/trajectory-file.ts";
import { mathAccuracy } from "../../evaluation/tasks.ts";
import type { Params } from "../../model/params.ts";
import { DEFAULT_AR_WEIGHT } from "../../training/jacobi-forcing.ts";
import { DEFAULT_DISTILL, distill, type DistillOptions, type ReplaySource } from "../../training/distill.ts";
import { SCHEDULE_STRATEGIES, WINDOW_PHASES, type ScheduleStrategy, type TargetSpacing, type WindowPhase } from "../../training/noise-schedule.ts";
import { MASK_KINDS, type MaskKind } from "../../training/packing.ts";
import { CliError, type Command, type Io } from "../args.ts";
import { evaluationDecoder } from "../methods.ts";
import { checkDistinctFolders, RUN_FOLDER_FLAGS, runInFolder, scheduleOptions } from "../run-folder.ts";
import { teacherRecord } from "./collect.ts";
import { datasetFor } from "./train.ts";

/**
 * The trajectories of `--trajectories`, checked to be the teacher's: refused when the file records
 * another teacher, used with a warning on stderr when it records none (an older file).
 */
function teachersTrajectories(file: string, teacherDir: string, io: Io): Trajectory[] {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (stat === undefined) throw new CliError(`distill: --trajectories ${file}: no such file (write one with collect)`);
  if (stat.isDirectory()) throw new CliError(`distill: --trajectories ${file} is a folder, not a JSONL file of trajectories`);
  const { teacher: recorded, trajectories } = readTrajectoryFile(file);
  const teacher = teacherRecord(teacherDir);
  if (recorded === null) {
    io.err(`distill: warning: ${file} does not record its teacher (an older collect wrote it); it must have been collected with ${teacherDir}\n`);
  } else if (recorded.sha256 !== teacher.sha256) {
    throw new CliError(`distill: ${file} was collected with the teacher ${recorded.name} (sha256 ${recorded.sha256.slice(0, 12)}), not with --teacher ${teacherDir} (${teacher.name}, sha256 ${teacher.sha256.slice(0, 12)}); collect trajectories with this teacher`);
  }
  return trajectories;
}

/**
 * The `distill` command, e.g.
 * `jacobi-forcing distill --teacher models/math-teacher --trajectories runs/traj.jsonl --block-size 16 --steps 500 --out runs/math-jf`.
 *
 * @category CLI
 */
export const distillCommand: Command = {
  summary: "Jacobi Forcing: train a teacher on its own Jacobi trajectories; resumable",
  flags: {
    teacher: { type: "string", help: "the model the trajectories were collected with (the run starts from its weights)" },
    trajectories: { type: "string", help: "JSONL file written by collect" },
    out: { type: "string", help: "output folder (model, resume checkpoint, loss.csv with ar_loss and consistency_loss, loss.svg)" },
    "block-size": { type: "int", positive: true, help: "n: must equal the block size the trajectories were collected with" },
    window: { type: "int", default: 16, positive: true, help: "w: blocks over which noise targets rise from 0 to 1" },
    steps: { type: "int", positive: true, help: "optimizer steps" },
    mask: { type: "string", choices: MASK_KINDS, default: "noise-conditioned", help: "attention mask of the packed sequence" },
    schedule: { type: "string", choices: SCHEDULE_STRATEGIES, default: "progressive", help: "order of the noise targets" },
    "window-phase": { type: "string", choices: WINDOW_PHASES, default: "zero", help: "zero: block b gets target W[b mod w] (paper); random: a random phase per sequence (short trajectories)" },
    spacing: { type: "string", choices: ["linspace", "paper"], default: "linspace", help: "targets linspace(0,1,w) (code) or k/w (paper)" },
    "ar-weight": { type: "number", default: DEFAULT_AR_WEIGHT, min: 0, help: "w_AR, weight of the AR loss" },
    "divide-by-blocks": { type: "boolean", help: "also divide the consistency loss by the number of blocks (released code)" },
    "prompt-loss": { type: "boolean", help: "train the AR loss on the prompt's rows too (released recipe; off by default)" },
    data: { type: "string", choices: ["math"], optional: true, help: "math: evaluate held-out accuracy and Jacobi TPF during training" },
    ...RUN_FOLDER_FLAGS,
    seed: { type: "int", default: 1, help: "seed of trajectory draws and random targets" },
    batch: { type: "int", default: DEFAULT_DISTILL.batchSize, positive: true, help: "trajectories per step" },
    lr: { type: "number", default: DEFAULT_DISTILL.maxLr, positive: true, help: "peak learning rate (cosine down to lr/10)" },
    "eval-every": { type: "int", default: DEFAULT_DISTILL.evalEvery, positive: true, help: "steps between evaluations" },
    "checkpoint-every": { type: "int", default: DEFAULT_DISTILL.checkpointEvery, positive: true, help: "steps between checkpoints" },
    "replay-data": { type: "string", optional: true, help: "math, code or FILE: also train next-token loss on this real text (not in the paper; keeps held-out likelihood)" },
    "replay-weight": { type: "number", default: 0, min: 0, help: "weight of the replay loss (0: none)" },
    "replay-length": { type: "int", default: 128, positive: true, help: "tokens per replayed sequence" },
    workers: {
      type: "int", default: 1, positive: true, max: availableParallelism(), maxIs: "the cores of this machine",
      help: "worker threads for the minibatch's gradients (same result for any count)",
    },
  },
  async run(flags, io) {
    checkDistinctFolders("distill", flags, "teacher");
    const { config, tokenizer } = loadCheckpoint(flags.teacher as string);
    if (tokenizer === null) throw new CliError(`distill: ${flags.teacher} has no tokenizer.json`);
    const trajectories = teachersTrajectories(flags.trajectories as string, flags.teacher as string, io);
    const n = flags["block-size"] as number;
    const other = trajectories.find((t) => t.blockSize !== n);
    if (other) throw new CliError(`distill: --block-size ${n} but the trajectories were collected with block size ${other.blockSize}`);
    const options: DistillOptions = {
      ...DEFAULT_DISTILL,
      objective: "Jacobi Forcing",
      config,
      teacher: flags.teacher as string,
      ...scheduleOptions(flags, DEFAULT_DISTILL),
      window: flags.window as number,
      spacing: flags.spacing as TargetSpacing,
      strategy: flags.schedule as ScheduleStrategy,
      windowPhase: flags["window-phase"] as WindowPhase,
      mask: flags.mask as MaskKind,
      arWeight: flags["ar-weight"] as number,
      divideByBlocks: flags["divide-by-blocks"] === true,
      promptLoss: flags["prompt-loss"] === true,
      eosTokenId: config.eosTokenId,
      replayWeight: flags["replay-weight"] as number,
      ...(flags["replay-data"] !== undefined ? { replayData: flags["replay-data"] as string, replayLength: flags["replay-length"] as number } : {}),
    };
    if ((flags["replay-weight"] as number) > 0 && flags["replay-data"] === undefined) throw new CliError("distill: --replay-weight needs --replay-data (the text to replay)");
    let replay: ReplaySource | undefined;
    if (options.replayData !== undefined) {
      const data = datasetFor(options.replayData);
      if (JSON.stringify(data.tokenizer.files()) !== JSON.stringify(tokenizer.files())) {
        throw new CliError(`distill: --replay-data ${options.replayData} has another vocabulary than the teacher's`);
      }
      replay = (rng, length) => data.trainSequence(rng, Math.min(length, config.maxPositions));
    }
    const math = flags.data === "math" ? { tokenizer: datasetFor("math").tokenizer, problems: mathEvalSet(50, 99) } : null;
    const evaluate = math === null ? undefined : (params: Params) => {
      const r = mathAccuracy(math.tokenizer, math.problems, evaluationDecoder((prompt, stop) => jacobi(config, params, prompt, { ...stop, blockSize: n })));
      return { accuracy: r.accuracy, jacobiTPF: r.tokens / Math.max(r.forwards, 1) };
    };
    return runInFolder("distill", flags, io, (hooks) => {
      io.err(`distill: ${trajectories.length} trajectories of block size ${n}; ${JSON.stringify({ ...options, adamw: undefined, config: undefined })}\n`);
      return distill(trajectories, tokenizer, options, { ...hooks, evaluate, workers: flags.workers as number }, replay);
    });
  },
};
