/**
 * One run per folder: a lock file that a training run creates in its output folder before it writes
 * anything there, and removes when it ends.
 *
 * Two runs writing into one folder interleave their files (the model of one beside the loss table of
 * the other) and the first to finish is lost without a word. So a run claims its folder by creating
 * `run.lock` exclusively (`open` with `O_EXCL`, Node's `"wx"`): of two processes, exactly one creates
 * it; the other finds it and is refused, told which process holds the folder. The lock holds that
 * process's id, host and start time as one line of JSON.
 *
 * A run killed with `kill -9` (or a power cut) cannot remove its lock. Such a lock is stale: its host is
 * this machine and its process no longer runs. It is recognised and taken over, and the caller is told
 * whose it was. A lock of another host cannot be checked from here and is never taken over.
 *
 * The lock is removed by `release()` (normal end and errors, from a `finally`), and by a handler of the
 * process's `exit` event for the paths that skip `finally` blocks (`process.exit`, as a second Ctrl-C
 * calls it).
 *
 * What it is not: a lock against other programs (they do not look for it), or across machines that
 * share a network file system (the process check needs the same host).
 *
 * Read next: `atomic-write.ts` (how each file is replaced), `src/cli/run-folder.ts` (who claims).
 *
 * @module
 */
import { readFileSync, renameSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { processRuns, writeNewFile } from "./atomic-write.ts";

// ---------------------------------------------------------------- the lock

/** The lock's file name inside the folder it guards. */
const LOCK_FILE = "run.lock";

/**
 * Who holds a folder: what the lock file records.
 *
 * @category Checkpoints
 */
export interface LockOwner {
  /** Process id. */
  readonly pid: number;
  /** Host name of the machine the process runs on. */
  readonly host: string;
  /** When the lock was taken, ISO 8601. */
  readonly started: string;
  /** What the process runs, e.g. "train". */
  readonly command: string;
}

/**
 * A claimed folder.
 *
 * @category Checkpoints
 */
export interface FolderLock {
  /** The lock file. */
  readonly file: string;
  /** The owner of a stale lock that was taken over (its process had ended), else null. */
  readonly staleOwner: LockOwner | null;
  /** Removes the lock; safe to call more than once. */
  release(): void;
}

/**
 * The folder is held by another live run (or by a lock that cannot be read or checked).
 *
 * @example
 * ```ts
 * lockFolder("runs/demo", "train"); // throws FolderLockedError: train: runs/demo is in use by another run: pid 4242 ...
 * ```
 * @category Checkpoints
 */
export class FolderLockedError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "FolderLockedError";
}

/**
 * Claims `dir` (which must exist) for this process: creates `dir/run.lock` exclusively, holding this
 * process's id, host, start time and `command`. A stale lock (same host, process gone) is taken over and
 * returned as `staleOwner`.
 *
 * @param command - what this process runs, e.g. "train": recorded in the lock, and the first word of a refusal
 * @throws FolderLockedError when another live process holds the folder, or its lock is unreadable or of
 *   another host; the `node:fs` error when the folder cannot be written in
 * @example
 * ```ts
 * const lock = lockFolder("runs/demo", "train");
 * try { await train(dataset, options, { outDir: "runs/demo" }); } finally { lock.release(); }
 * ```
 * @category Checkpoints
 */
export function lockFolder(dir: string, command: string): FolderLock {
  const file = join(dir, LOCK_FILE);
  const own: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  const text = JSON.stringify(own) + "\n";
  let staleOwner: LockOwner | null = null;
  // Each pass either creates the lock, refuses, or removes one stale lock; a few passes settle any race.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, text)) return heldLock(file, text, staleOwner);
    const seen = readLock(file);
    if (seen === null) continue;                                   // removed meanwhile: try again
    const owner = parseOwner(seen);
    if (owner === null) {
      throw new FolderLockedError(`${command}: ${dir} has a lock file that is not a run's (${file}); remove it if no run is using the folder`);
    }
    if (owner.host !== own.host) {
      throw new FolderLockedError(`${command}: ${dir} is in use by ${describe(owner)}; this machine cannot check that process (remove ${file} if it has ended)`);
    }
    if (processRuns(owner.pid)) throw new FolderLockedError(`${command}: ${dir} is in use by another run: ${describe(owner)}`);
    if (removeStale(file, seen)) staleOwner = owner;
  }
  throw new FolderLockedError(`${command}: ${dir}: could not take its lock ${file} (other processes keep claiming it)`);
}

/** Words for a lock's owner: "train, pid 4242 on box, started 2025-01-01T10:00:00.000Z". */
function describe(owner: LockOwner): string {
  return `${owner.command}, pid ${owner.pid} on ${owner.host}, started ${owner.started}`;
}

// ---------------------------------------------------------------- the file

/**
 * `action()`, or `fallback` when it fails with the `node:fs` error `code`: the one outcome of a race with
 * another process that is expected here (the file already exists, or is already gone). Other errors pass.
 */
function tolerate<T>(code: "EEXIST" | "ENOENT", fallback: T, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === code) return fallback;
    throw error;
  }
}

/** Creates `file` holding `text` (flushed to disk), or returns false when it already exists. */
function createExclusive(file: string, text: string): boolean {
  return tolerate("EEXIST", false, () => {
    writeNewFile(file, text);
    return true;
  });
}

/** The text of the lock `file`, or null when there is none. */
function readLock(file: string): string | null {
  return tolerate("ENOENT", null, () => readFileSync(file, "utf8"));
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    const valid = Number.isSafeInteger(o.pid) && typeof o.host === "string" && typeof o.started === "string" && typeof o.command === "string";
    return valid ? (o as LockOwner) : null;
  } catch {
    return null;
  }
}

/**
 * Removes the stale lock whose contents were `seen`, or nothing. Two processes may find the same stale
 * lock; deleting by name could then delete the new lock the other has just created. So the lock is first
 * renamed to a name of this process (a rename is atomic: one of the two gets it), and deleted only if it
 * is still the stale one; otherwise it is someone's fresh lock, which is put back.
 */
function removeStale(file: string, seen: string): boolean {
  const aside = `${file}.stale-${process.pid}`;
  const moved = tolerate("ENOENT", null, () => {
    renameSync(file, aside);
    return readFileSync(aside, "utf8");
  });
  if (moved === null) return false;                                         // another process moved it first
  // a fresh lock: put it back (unless yet another has appeared; then that one holds the folder)
  if (moved !== seen) createExclusive(file, moved);
  unlinkSync(aside);
  return moved === seen;
}

/** The claimed lock, removed on release or when the process exits. */
function heldLock(file: string, text: string, staleOwner: LockOwner | null): FolderLock {
  const release = (): void => {
    process.off("exit", release);
    // remove only our own lock (never one that another run took over meanwhile): so a second call,
    // which finds no lock or another's, removes nothing
    try {
      if (readLock(file) === text) unlinkSync(file);
    } catch {
      // the folder itself is gone or unreadable: there is no lock left to remove
    }
  };
  process.on("exit", release);
  return { file, staleOwner, release };
}
