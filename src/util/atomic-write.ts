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
 * What this module is not: it is not a lock (two concurrent writers both
 * succeed, the last rename wins), it is not asynchronous, and it does not
 * follow or preserve symlinks or file permissions of the file it replaces.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";

// ---------------------------------------------------------------- writing

/**
 * Writes bytes or text to `path` atomically.
 *
 * The data goes to `path + ".tmp-<pid>-<random>"` first, is fsynced, and is
 * then renamed over `path`. On failure the temporary file is removed, the
 * old file at `path` (if any) is untouched, and the original error is
 * rethrown. Strings are written as UTF-8.
 *
 * @param path - Destination file. Its directory must already exist.
 * @param data - The complete new contents.
 * @returns Nothing; the new contents are in place when it returns.
 * @throws The underlying `node:fs` error (for example `ENOENT` when the
 *   directory does not exist, or `EISDIR` when `path` is a directory).
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
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  // pid + randomness keeps concurrent writers (other processes, or two calls
  // in this process) from ever sharing one temporary file.
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;

  let fd: number | undefined;
  try {
    // "wx": fail rather than clobber if the name somehow already exists.
    fd = openSync(tmp, "wx", 0o666);
    let written = 0;
    // writeSync may write fewer bytes than asked; loop until all are out.
    while (written < bytes.byteLength) {
      written += writeSync(fd, bytes, written, bytes.byteLength - written);
    }
    // Without fsync the rename can reach the disk before the data does, and
    // a power cut would leave a complete-looking but empty file.
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already failing; the original error is the one worth reporting.
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // The temporary file may never have been created.
    }
    throw error;
  }

  syncDirectory(dirname(path));
}

// ---------------------------------------------------------------- helpers

/**
 * Best-effort fsync of a directory so that the rename itself is durable.
 * Some platforms (Windows) cannot open directories for syncing; the data is
 * already safely in place by now, so failures here are ignored.
 */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Durability of the directory entry is a bonus, not a requirement.
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Nothing useful to do.
      }
    }
  }
}
