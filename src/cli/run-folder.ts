/**
 * A training run of `train` and `distill` in its output folder (`--out`): {@link runInFolder} claims the
 * folder, runs the loop with the hooks every run gets (progress on stderr, stopping, notes), and says how
 * the run ended. The folder is claimed before anything is written there:
 *
 * - it is locked for this process (`src/util/run-lock.ts`): a second run into it is refused, naming the
 *   process that holds it; the lock of a run that died without removing it is taken over, and said so;
 * - without `--resume`, a folder that already holds a run (a model, a resume checkpoint, a loss table) is
 *   refused unless `--overwrite` is given, which removes that run first; with `--resume` it must hold one;
 * - the temporary files of a write that a killed run left behind are deleted.
 *
 * A refused claim leaves the folder as it was.
 *
 * Stopping a run honestly: the first Ctrl-C (SIGINT) or SIGTERM asks the loop to stop at the next step
 * boundary, after it has saved a checkpoint; the command then exits with 128 + the signal's number, as a
 * shell reports a process ended by that signal (130 for SIGINT, 143 for SIGTERM), so scripts can tell an
 * interrupted run from a finished one. A second signal exits at once, without saving.
 *
 * Read next: `src/training/state.ts` (what a run folder holds, and how a resume finds the files of its
 * last step).
 *
 * @module
 */
import { mkdirSync, statSync } from "node:fs";
import { constants } from "node:os";
import { resolve } from "node:path";
import { progressReporter } from "../training/progress.ts";
import { removeRun, runFiles } from "../training/state.ts";
import type { TrainHooks, TrainOptions, TrainResult } from "../training/trainer.ts";
import { removeLeftovers } from "../util/atomic-write.ts";
import { lockFolder, type FolderLock } from "../util/run-lock.ts";
import { CliError, type FlagSpec, type Flags, type Io } from "./args.ts";

/**
 * The flags that say how a run means to use its folder: `--resume` and `--overwrite`.
 *
 * @category CLI
 */
export const RUN_FOLDER_FLAGS: Readonly<Record<string, FlagSpec>> = {
  resume: { type: "boolean", help: "continue the run saved in --out (same flags)" },
  overwrite: { type: "boolean", help: "replace the run saved in --out, if any (without it, such a folder is refused)" },
};

/**
 * The optimizer schedule of `train` and `distill` from their shared flags (`--seed`, `--steps`,
 * `--batch`, `--lr`, `--eval-every`, `--checkpoint-every`): a cosine from `--lr` down to a tenth of it,
 * after a warm-up of the default length, or of a tenth of the steps when the run is shorter.
 *
 * @param defaults - the command's defaults, for the warm-up length
 * @example
 * ```ts
 * scheduleOptions({ seed: 1, steps: 100, batch: 8, lr: 3e-3, "eval-every": 50, "checkpoint-every": 50 }, DEFAULT_TRAINING);
 * // { seed: 1, steps: 100, batchSize: 8, maxLr: 0.003, minLr: 0.0003, warmupSteps: 10, evalEvery: 50, checkpointEvery: 50 }
 * ```
 * @category CLI
 */
export function scheduleOptions(flags: Flags, defaults: Pick<TrainOptions, "warmupSteps">): Omit<TrainOptions, "config" | "contextLength" | "clipNorm" | "adamw" | "evalSequences" | "initFrom"> {
  const steps = flags.steps as number;
  return {
    seed: flags.seed as number,
    steps,
    batchSize: flags.batch as number,
    maxLr: flags.lr as number,
    minLr: (flags.lr as number) / 10,
    warmupSteps: Math.min(defaults.warmupSteps, Math.ceil(steps / 10)),
    evalEvery: flags["eval-every"] as number,
    checkpointEvery: flags["checkpoint-every"] as number,
  };
}

/**
 * Runs a training loop of `command` in the folder of `--out`: claims the folder, calls `loop` with the
 * hooks it writes, reports and stops by, then says on stderr how the run ended.
 *
 * @param loop - the run: `train` or `distill` given these hooks (and any of its own)
 * @returns what the command's `run` returns: undefined when the run finished, else the exit code of the
 *   signal that stopped it (130 for SIGINT, 143 for SIGTERM)
 * @throws CliError when the folder holds a run and neither `--resume` nor `--overwrite` was given, holds
 *   none to resume, or is a file; FolderLockedError when another live run holds it
 * @example
 * ```ts
 * await runInFolder("train", { out: "runs/demo", resume: false, overwrite: false }, io, (hooks) => train(dataset, options, hooks));
 * // stderr: "train: done, 200 steps; this session took 41.0 s; model in runs/demo"
 * ```
 * @category CLI
 */
export async function runInFolder(command: string, flags: Flags, io: Io, loop: (hooks: TrainHooks) => Promise<TrainResult>): Promise<number | undefined> {
  const out = flags.out as string;
  const resume = flags.resume === true;
  const lock = claimRunFolder(command, out, resume, flags.overwrite === true, io);
  let signalled: number | undefined;                      // the exit code of the first signal received
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = (): void => {
      if (signalled !== undefined) process.exit(signalled);
      signalled = 128 + constants.signals[signal];
      const again = signal === "SIGINT" ? " (Ctrl-C again to abort)" : "";
      io.err(`\n${command}: ${signal}: saving a checkpoint, then exiting with code ${signalled}${again}\n`);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  try {
    const started = performance.now();
    const result = await loop({
      outDir: out,
      resume,
      onProgress: progressReporter({ write: io.err }, process.stderr.isTTY === true, 10),
      shouldStop: () => signalled !== undefined,
      log: (line) => io.err(`${command}: ${line}\n`),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    io.err(result.finished
      ? `${command}: done, ${result.history.length} steps; this session took ${seconds} s; model in ${out}\n`
      : `${command}: stopped at step ${result.history.length} after ${seconds} s; continue with --resume\n`);
    return result.finished ? undefined : signalled;      // a signal during the last step still ends in a finished run
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    lock.release();
  }
}

/**
 * Claims `dir` for a run of `command` (creating it if needed) and returns its lock; release it when the
 * run ends, whatever way it ends.
 *
 * @throws CliError when the folder holds a run and neither `--resume` nor `--overwrite` was given, holds
 *   none to resume, or is a file; FolderLockedError when another live run holds it
 */
function claimRunFolder(command: string, dir: string, resume: boolean, overwrite: boolean, io: Io): FolderLock {
  if (resume && overwrite) throw new CliError(`${command}: --resume continues the run in ${dir}, --overwrite replaces it: give one of them`);
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat !== undefined && !stat.isDirectory()) throw new CliError(`${command}: --out ${dir} is a file; it must be a folder`);
  if (resume && !runFiles(dir).includes("resume.safetensors")) {
    throw new CliError(`${command}: ${dir} holds no run to resume (no resume.safetensors); start the run without --resume`);
  }
  // a folder that cannot be created or written in fails with its `node:fs` error, which the CLI words
  mkdirSync(dir, { recursive: true });
  const lock = lockFolder(dir, command);
  try {
    const present = runFiles(dir);
    if (!resume && present.length > 0) {
      if (!overwrite) {
        throw new CliError(`${command}: ${dir} already holds a run (${present.join(", ")}); continue it with --resume, or replace it with --overwrite`);
      }
      removeRun(dir);
      io.err(`${command}: --overwrite: removed the run in ${dir} (${present.join(", ")})\n`);
    }
    const s = lock.staleOwner;
    if (s !== null) io.err(`${command}: took over the lock of ${dir} from a run that ended without releasing it (${s.command}, pid ${s.pid}, started ${s.started})\n`);
    const leftovers = removeLeftovers(dir);
    if (leftovers.length > 0) io.err(`${command}: removed ${leftovers.join(", ")} from ${dir}: left by a write that was interrupted\n`);
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}

/**
 * Bad usage when `--out` names the folder of the flag `source`: a run must not write into the folder it
 * reads its starting weights from (`--overwrite` would delete them first).
 *
 * @throws CliError naming both flags
 * @example
 * ```ts
 * checkDistinctFolders("distill", { teacher: "models/math-teacher", out: "models/math-teacher/" }, "teacher");
 * // throws: distill: --out and --teacher are the same folder (models/math-teacher/); write the new run elsewhere
 * ```
 * @category CLI
 */
export function checkDistinctFolders(command: string, flags: Flags, source: string): void {
  if (resolve(flags[source] as string) === resolve(flags.out as string)) {
    throw new CliError(`${command}: --out and --${source} are the same folder (${flags.out}); write the new run elsewhere`);
  }
}
