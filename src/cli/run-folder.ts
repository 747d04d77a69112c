/**
 * The output folder of `train` and `distill`, claimed before anything is written there:
 *
 * - it is locked for this process (`src/util/run-lock.ts`): a second run into it is refused, naming the
 *   process that holds it; the lock of a run that died without removing it is taken over, and said so;
 * - without `--resume`, a folder that already holds a run (a model, a resume checkpoint, a loss table) is
 *   refused unless `--overwrite` is given, which removes that run first; with `--resume` it must hold one;
 * - the temporary files of a write that a killed run left behind are deleted.
 *
 * A refused claim leaves the folder as it was. Read next: `src/training/state.ts` (what a run folder
 * holds, and how a resume finds the files of its last step).
 *
 * @module
 */
import { mkdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { removeRun, runFiles } from "../training/state.ts";
import { removeLeftovers } from "../util/atomic-write.ts";
import { FolderLockedError, lockFolder, type FolderLock } from "../util/run-lock.ts";
import { CliError } from "./args.ts";
import type { Io } from "./command.ts";

/**
 * How a run means to use its folder: `--resume` and `--overwrite`.
 *
 * @category CLI
 */
export interface RunFolderIntent {
  /** Continue the run saved there. */
  readonly resume: boolean;
  /** Replace the run saved there, if any. */
  readonly overwrite: boolean;
}

/**
 * Claims `dir` for a run of `command` (creating it if needed) and returns its lock; release it when the
 * run ends, whatever way it ends.
 *
 * @throws CliError when the folder holds a run and neither `--resume` nor `--overwrite` was given, holds
 *   none to resume, or is a file; Error when another live run holds it
 * @example
 * ```ts
 * const lock = claimRunFolder("train", "runs/demo", { resume: false, overwrite: false }, io);
 * try { await train(dataset, options, { outDir: "runs/demo" }); } finally { lock.release(); }
 * ```
 * @category CLI
 */
export function claimRunFolder(command: string, dir: string, intent: RunFolderIntent, io: Io): FolderLock {
  if (intent.resume && intent.overwrite) throw new CliError(`${command}: --resume continues the run in ${dir}, --overwrite replaces it: give one of them`);
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat !== undefined && !stat.isDirectory()) throw new CliError(`${command}: --out ${dir} is a file; it must be a folder`);
  if (intent.resume && !runFiles(dir).includes("resume.safetensors")) {
    throw new CliError(`${command}: ${dir} holds no run to resume (no resume.safetensors); start the run without --resume`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`${command}: cannot create the folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }

  let lock: FolderLock;
  try {
    lock = lockFolder(dir, command);
  } catch (e) {
    if (e instanceof FolderLockedError) throw new Error(`${command}: ${e.message}`);
    throw new Error(`${command}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const present = runFiles(dir);
    if (!intent.resume && present.length > 0) {
      if (!intent.overwrite) {
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
 * Bad usage when two flags name the same folder: a run must not write into the folder it reads its
 * starting weights from (`--overwrite` would delete them first).
 *
 * @throws CliError naming both flags
 * @example
 * ```ts
 * checkDistinctFolders("distill", ["teacher", "models/math-teacher"], ["out", "models/math-teacher/"]);
 * // throws: distill: --out and --teacher are the same folder (models/math-teacher/); write the new run elsewhere
 * ```
 * @category CLI
 */
export function checkDistinctFolders(command: string, source: readonly [string, string], out: readonly [string, string]): void {
  if (resolve(source[1]) === resolve(out[1])) {
    throw new CliError(`${command}: --${out[0]} and --${source[0]} are the same folder (${out[1]}); write the new run elsewhere`);
  }
}
