/**
 * Atomic file replacement for checkpoints and other artefacts.
 *
 * A plain `writeFileSync(path, data)` truncates `path` first and then writes
 * into it, so a crash, a full disk or a Ctrl-C halfway through leaves a file
 * that is neither the old version nor the new one. For a checkpoint that is
 * the worst outcome: hours of training replaced by a torn file. This module
 * writes to a sibling temporary file, flushes it to disk, and only then
 * renames it over the target. POSIX `rename` within one directory is atomic,
 * so readers see either the complete old file or the complete new one.
 *
 * A failure is a {@link WriteError} naming the file the caller asked for, in
 * plain words ("is a folder", "its folder does not exist"), never the
 * temporary file. A process killed mid-write leaves its temporary file
 * behind: {@link removeLeftovers} deletes those of processes that are gone
 * (a training run does when it claims its folder).
 *
 * What this module is not: it is not a lock (two concurrent writers both
 * succeed, the last rename wins; `run-lock.ts` keeps runs apart), it is not
 * asynchronous, and it does not follow or preserve symlinks or file
 * permissions of the file it replaces.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

// ---------------------------------------------------------------- errors

/**
 * A file could not be written; the message names the file the caller asked for and why, in plain
 * words, with the system's code in parentheses.
 *
 * @example
 * ```ts
 * writeFileAtomic("/tmp", "x"); // throws WriteError: cannot write /tmp: it is a folder (EISDIR)
 * ```
 * @category Checkpoints
 */
export class WriteError extends Error {
  /**
   * @param path - the file the caller asked for
   * @param reason - why it cannot be written, e.g. "it is a folder (EISDIR)"
   */
  constructor(readonly path: string, reason: string, options?: ErrorOptions) {
    super(`cannot write ${path}: ${reason}`, options);
    this.name = "WriteError";
  }
}

/** The reason of a `node:fs` error in plain words, for a write of `path`. */
function reasonOf(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    EISDIR: "it is a folder",
    ENOENT: `its folder ${dirname(path)} does not exist`,
    ENOTDIR: `a part of ${dirname(path)} is a file, not a folder`,
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "the file system is read-only",
    ENOSPC: "the disk is full",
    EDQUOT: "the disk quota is used up",
  };
  if (code === undefined) return (error as Error).message ?? String(error);
  return `${words[code] ?? "the system refused"} (${code})`;
}

// ---------------------------------------------------------------- writing

/**
 * Writes bytes or text to `path` atomically.
 *
 * The data goes to `path + ".tmp-<pid>-<random>"` first, is fsynced, and is
 * then renamed over `path`. On failure the temporary file is removed, the
 * old file at `path` (if any) is untouched, and a {@link WriteError} naming
 * `path` is thrown (the `node:fs` error is its `cause`). Strings are written
 * as UTF-8.
 *
 * @param path - Destination file. Its directory must already exist.
 * @param data - The complete new contents.
 * @returns Nothing; the new contents are in place when it returns.
 * @throws WriteError, for example "its folder out does not exist (ENOENT)"
 *   or "it is a folder (EISDIR)".
 *
 * @example
 * ```ts
 * writeFileAtomic("out/model.safetensors", encodeSafetensors(tensors));
 * writeFileAtomic("out/config.json", JSON.stringify(config, null, 2));
 * ```
 *
 * @category Checkpoints
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = temporaryName(path);
  try {
    writeNewFile(tmp, data);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });                         // it may never have been created
    // Renaming over a folder fails with EISDIR, or with EACCES when the temporary
    // file could not even be created beside it: say what is really wrong.
    throw new WriteError(path, reasonOf(isFolder(path) ? { code: "EISDIR" } : error, path), { cause: error });
  }

  syncDirectory(dirname(path));
}

/**
 * Creates `path`, which must not exist yet, holding `data` (strings as UTF-8), and flushes it to disk
 * before returning: the first half of {@link writeFileAtomic}, and how `run-lock.ts` creates its lock.
 *
 * @throws the `node:fs` error, EEXIST when `path` already exists
 * @example
 * ```ts
 * writeNewFile("runs/demo/run.lock", "{\"pid\":4242}\n"); // a second call throws EEXIST
 * ```
 * @category Checkpoints
 */
export function writeNewFile(path: string, data: Uint8Array | string): void {
  // "wx": fail rather than clobber if the name already exists.
  const fd = openSync(path, "wx", 0o666);
  try {
    // writeFileSync on a descriptor loops until every byte is out.
    writeFileSync(fd, data);
    // Without fsync a rename over the target (writeFileAtomic's) can reach the
    // disk before the data does, and a power cut would leave a complete-looking
    // but empty file.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks, before any long work, that {@link writeFileAtomic} will be able to write `path`: it is not a
 * folder, its folder exists, and a file can be created there (a temporary file is created and removed).
 *
 * @throws WriteError naming `path` and why it cannot be written
 * @example
 * ```ts
 * checkWritable("runs/traj.jsonl"); // passes when runs/ exists and is writable
 * checkWritable("/tmp");            // throws WriteError: cannot write /tmp: it is a folder (EISDIR)
 * ```
 * @category Checkpoints
 */
export function checkWritable(path: string): void {
  if (isFolder(path)) throw new WriteError(path, reasonOf({ code: "EISDIR" }, path));
  const tmp = temporaryName(path);
  try {
    closeSync(openSync(tmp, "wx", 0o666));
    unlinkSync(tmp);
  } catch (error) {
    throw new WriteError(path, reasonOf(error, path), { cause: error });
  }
}

// ---------------------------------------------------------------- leftovers

/** The temporary files of this module: `<name>.tmp-<pid>-<12 hex digits>`. */
const TEMPORARY = /\.tmp-(\d+)-[0-9a-f]{12}$/;

function temporaryName(path: string): string {
  // pid + randomness keeps concurrent writers (other processes, or two calls
  // in this process) from ever sharing one temporary file; the pid also tells
  // removeLeftovers whether the writer is still alive.
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
}

/**
 * Deletes the temporary files that writes into `dir` left behind when their process was killed
 * mid-write (`kill -9`, a power cut). Only files named as this module names them, of a process id that
 * no longer runs, are deleted; a live writer's file is left alone.
 *
 * @returns the names of the files deleted
 * @example
 * ```ts
 * removeLeftovers("runs/demo"); // ["loss.csv.tmp-4242-0a1b2c3d4e5f"] after a run killed while saving
 * ```
 * @category Checkpoints
 */
export function removeLeftovers(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const match = TEMPORARY.exec(name);
    if (match === null || processRuns(Number(match[1]))) continue;
    unlinkSync(join(dir, name));
    removed.push(name);
  }
  return removed;
}

/**
 * Whether a process with this id runs on this machine. Signal 0 checks without sending anything:
 * ESRCH means there is no such process; EPERM means there is one, of another user.
 *
 * @example
 * ```ts
 * processRuns(process.pid); // true
 * ```
 * @category Checkpoints
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ---------------------------------------------------------------- helpers

function isFolder(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

/**
 * Best-effort fsync of a directory so that the rename itself is durable.
 * Some platforms (Windows) cannot open directories for syncing; the data is
 * already safely in place by now, so failures here are ignored.
 */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Durability of the directory entry is a bonus, not a requirement.
  }
}
