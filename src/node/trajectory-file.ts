/**
 * Trajectory files on disk: JSONL written atomically (readers see the old file or the complete new
 * one), and read back with every check of `decoding/trajectory.ts`, which formats and parses the text.
 *
 * Node only (`node:fs`): the decoders and the format itself run anywhere.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { formatTrajectories, parseTrajectoryFile, type TeacherRecord, type Trajectory, type TrajectoryFile } from "../decoding/trajectory.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";

/**
 * Writes trajectories to a JSONL file atomically (readers see the old file or the complete new one),
 * after a header line recording `teacher` when one is given.
 *
 * @example
 * ```ts
 * writeTrajectories("out/trajectories.jsonl", [jacobi(config, params, prompt, { maxNewTokens: 64, recordTrajectory: true }).trajectory!],
 *   { name: "math-teacher", sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" });
 * ```
 * @category Trajectories
 */
export function writeTrajectories(path: string, trajectories: readonly Trajectory[], teacher?: TeacherRecord): void {
  writeFileAtomic(path, formatTrajectories(trajectories, teacher));
}

/**
 * Reads and checks a JSONL file of trajectories, with the teacher its header records.
 *
 * @throws TrajectoryError for a malformed line (naming its number); the `node:fs` error for a missing file
 * @example
 * ```ts
 * readTrajectoryFile("out/trajectories.jsonl").teacher?.name; // "math-teacher"
 * ```
 * @category Trajectories
 */
export function readTrajectoryFile(path: string): TrajectoryFile {
  return parseTrajectoryFile(readFileSync(path, "utf8"), path);
}

/**
 * Reads and checks a JSONL file of trajectories.
 *
 * @throws TrajectoryError for a malformed line (naming its number); the `node:fs` error for a missing file
 * @example
 * ```ts
 * readTrajectories("out/trajectories.jsonl")[0].blocks[0].fixedPoint.length; // 16
 * ```
 * @category Trajectories
 */
export function readTrajectories(path: string): Trajectory[] {
  return readTrajectoryFile(path).trajectories;
}
