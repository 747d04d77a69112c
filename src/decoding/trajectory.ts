/**
 * Jacobi trajectories: the record of every state a block passes through on its way to the fixed point,
 * the data Jacobi Forcing trains on — and its JSONL file format.
 *
 * A trajectory is plain JSON-able data (arrays of token ids), because it crosses from decoding to
 * training as data: `decoding` and `training` never import each other. One JSONL line holds the
 * trajectory of one prompt. What each block records, and why:
 *
 * - `context`: the clean context the block was decoded after — prompt ++ the fixed points of the blocks
 *   before it. Training packs noisy and clean blocks after it (docs/ALGORITHM.md §3).
 * - `states`: y(0), y(1), ..., y* — the block before each forward: its accepted prefix, then its current
 *   draft. y(0) is the anchor plus the first draft tokens (the noisiest state), y* the fixed point.
 * - `fixedPoint`: y*, the tokens AR greedy produces there (equal to the last state).
 *
 * A block holds `blockSize` tokens, except where generation ends inside it (EOS or the token budget) or
 * the per-block iteration cap cut it: then the block is the tokens actually committed, and every state
 * is cut to that length too, so that all states of a block compare position by position.
 *
 * Invariant (checked on every read and write): the first index where a state differs from the fixed
 * point strictly increases along the trajectory, starting at 1 or more (the anchor is always right).
 * Each Jacobi iteration fixes at least the token after the longest correct prefix.
 *
 * The teacher. Trajectories are a teacher's own decodes, so training on them means something only for
 * that teacher. A file may open with one header line, `{"teacher": {"name": ..., "sha256": ...}}`, that
 * records the model it was collected with (`collect` writes it; `distill` refuses another teacher).
 * Files written before teachers were recorded have no header and still load.
 *
 * Paper: §2 "Jacobi trajectory", the record `J`; public code: `prompt_ids`, `answer_trajectory_ids`,
 * `teacher_output_ids`. docs/ALGORITHM.md §2.
 *
 * No file access here: `src/node/trajectory-file.ts` reads and writes these files on disk.
 *
 * Read next: `jacobi.ts`, which records these with `recordTrajectory: true`.
 *
 * @module
 */
import { commonPrefixLength } from "../util/sequences.ts";

// ---------------------------------------------------------------- the record

/**
 * One block of a {@link Trajectory}. For instance `{ context: [1, 40], states: [[4, 9, 9], [4, 5, 9],
 * [4, 5, 6]], fixedPoint: [4, 5, 6] }`: in y(0) the anchor 4 is right and the draft tokens wrong; each
 * iteration fixes one more token.
 *
 * @category Trajectories
 */
export interface TrajectoryBlock {
  /** [P + earlier blocks] the clean context: prompt ++ the fixed points of all earlier blocks. */
  readonly context: number[];
  /** [S][m] y(0) .. y*: the block before each of its S forwards; each as long as `fixedPoint`. */
  readonly states: number[][];
  /** [m] y*: the tokens AR greedy produces after `context` (equal to the last state); m ≤ blockSize. */
  readonly fixedPoint: number[];
}

/**
 * The Jacobi trajectory of one prompt: one JSONL line.
 *
 * @category Trajectories
 */
export interface Trajectory {
  /** [P] the prompt. */
  readonly prompt: number[];
  /** n, the block size it was decoded with. */
  readonly blockSize: number;
  /** The blocks in order; their fixed points, concatenated, are the whole greedy output. */
  readonly blocks: TrajectoryBlock[];
}

/**
 * Thrown for a malformed trajectory; the message names the function, the file and line where there is
 * one, the field, and what was expected.
 *
 * @example
 * ```ts
 * parseTrajectories("{}\n", "t.jsonl"); // throws TrajectoryError: parseTrajectories: t.jsonl line 1: prompt must be an array of token ids, got undefined
 * ```
 * @category Trajectories
 */
export class TrajectoryError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "TrajectoryError";
}

// ---------------------------------------------------------------- invariants

/**
 * The first index where `state` differs from `fixedPoint`, or the shorter length if one is a prefix of
 * the other: `firstMismatch(s, y*)` of docs/ALGORITHM.md §2–3, the `commonPrefixLength` of the
 * two. For a state of a trajectory this is how far it has already converged.
 *
 * @example
 * ```ts
 * firstMismatch([5, 6, 9, 9], [5, 6, 7, 8]); // 2
 * firstMismatch([5, 6, 7, 8], [5, 6, 7, 8]); // 4
 * ```
 * @category Trajectories
 */
export function firstMismatch(state: readonly number[], fixedPoint: readonly number[]): number {
  return commonPrefixLength(state, fixedPoint);
}

function tokenArray(value: unknown, field: string, where: string): number[] {
  if (!Array.isArray(value)) throw new TrajectoryError(`${where}: ${field} must be an array of token ids, got ${describe(value)}`);
  const i = value.findIndex((id) => typeof id !== "number" || !Number.isInteger(id) || id < 0);
  if (i >= 0) throw new TrajectoryError(`${where}: ${field}[${i}] must be a non-negative integer token id, got ${describe(value[i])}`);
  return value as number[];
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/**
 * Checks that `value` is a well-formed {@link Trajectory}: the fields and their types, each block's
 * context equal to prompt ++ earlier fixed points, each state as long as its fixed point, the last
 * state equal to it, and the first mismatch strictly increasing from at least 1.
 *
 * @param value - parsed JSON
 * @param where - prefix of error messages, e.g. `readTrajectories: out.jsonl line 3`
 * @returns `value`, typed
 * @throws TrajectoryError naming the first bad field
 * @example
 * ```ts
 * checkTrajectory({ prompt: [1], blockSize: 2, blocks: [{ context: [1], states: [[4, 9], [4, 5]], fixedPoint: [4, 5] }] }, "demo");
 * // passes: the first mismatch goes 1 -> 2, and the last state is the fixed point
 * ```
 * @category Trajectories
 */
export function checkTrajectory(value: unknown, where: string): Trajectory {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TrajectoryError(`${where}: expected a trajectory object {prompt, blockSize, blocks}, got ${describe(value)}`);
  }
  const o = value as Record<string, unknown>;
  const prompt = tokenArray(o.prompt, "prompt", where);
  if (prompt.length === 0) throw new TrajectoryError(`${where}: prompt must hold at least one token`);
  const n = o.blockSize;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new TrajectoryError(`${where}: blockSize must be a positive integer, got ${describe(n)}`);
  }
  if (!Array.isArray(o.blocks)) throw new TrajectoryError(`${where}: blocks must be an array, got ${describe(o.blocks)}`);
  const clean = [...prompt];                                     // prompt ++ fixed points so far
  o.blocks.forEach((block: unknown, b) => {
    const at = `blocks[${b}]`;
    if (typeof block !== "object" || block === null || Array.isArray(block)) {
      throw new TrajectoryError(`${where}: ${at} must be an object {context, states, fixedPoint}, got ${describe(block)}`);
    }
    const k = block as Record<string, unknown>;
    const context = tokenArray(k.context, `${at}.context`, where);
    if (context.length !== clean.length || firstMismatch(context, clean) !== clean.length) {
      throw new TrajectoryError(`${where}: ${at}.context must be the prompt followed by the fixed points of blocks 0..${b - 1} (${clean.length} tokens), got ${context.length} tokens that differ`);
    }
    const fixedPoint = tokenArray(k.fixedPoint, `${at}.fixedPoint`, where);
    if (fixedPoint.length < 1 || fixedPoint.length > n) {
      throw new TrajectoryError(`${where}: ${at}.fixedPoint must hold 1..${n} tokens (the block size), got ${fixedPoint.length}`);
    }
    if (!Array.isArray(k.states) || k.states.length === 0) {
      throw new TrajectoryError(`${where}: ${at}.states must be a non-empty array of states, got ${describe(k.states)}`);
    }
    let previous = 0;
    k.states.forEach((s: unknown, j) => {
      const state = tokenArray(s, `${at}.states[${j}]`, where);
      if (state.length !== fixedPoint.length) {
        throw new TrajectoryError(`${where}: ${at}.states[${j}] has ${state.length} tokens, expected ${fixedPoint.length} (the fixed point's length)`);
      }
      const converged = firstMismatch(state, fixedPoint);
      if (converged <= previous) {
        throw new TrajectoryError(`${where}: ${at}.states[${j}] first differs from the fixed point at index ${converged}, expected more than ${previous} (the first mismatch must strictly increase, from at least 1)`);
      }
      previous = converged;
    });
    if (previous !== fixedPoint.length) {
      throw new TrajectoryError(`${where}: ${at}: the last state must equal the fixed point, but it differs at index ${previous}`);
    }
    clean.push(...fixedPoint);
  });
  return value as Trajectory;
}

// ---------------------------------------------------------------- JSONL

/**
 * The model a trajectory file was collected with, as its header line records it.
 *
 * @category Trajectories
 */
export interface TeacherRecord {
  /** The teacher's folder name, e.g. "math-teacher": for messages. */
  readonly name: string;
  /** SHA-256 (64 hex digits) of its `config.json` and `model.safetensors`: what identifies it. */
  readonly sha256: string;
}

/**
 * A trajectory file: its trajectories, and the teacher its header records (null for a file without one).
 *
 * @category Trajectories
 */
export interface TrajectoryFile {
  /** The teacher, or null when the file does not say (written before teachers were recorded). */
  readonly teacher: TeacherRecord | null;
  /** The trajectories, in file order. */
  readonly trajectories: Trajectory[];
}

/**
 * One JSON object per line, each checked first; with `teacher`, a header line recording it comes first.
 *
 * @example
 * ```ts
 * formatTrajectories([trajectory]).endsWith("\n"); // true
 * formatTrajectories([trajectory], teacher).split("\n").length; // 3: the header line, the trajectory, and ""
 * ```
 * @category Trajectories
 */
export function formatTrajectories(trajectories: readonly Trajectory[], teacher?: TeacherRecord): string {
  const header = teacher === undefined ? "" : JSON.stringify({ teacher: checkTeacher(teacher, "formatTrajectories: the teacher") }) + "\n";
  return header + trajectories.map((t, i) => JSON.stringify(checkTrajectory(t, `formatTrajectories: trajectory ${i}`)) + "\n").join("");
}

function checkTeacher(value: unknown, where: string): TeacherRecord {
  const t = value as Partial<TeacherRecord> | null;
  if (typeof t !== "object" || t === null || typeof t.name !== "string" || typeof t.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(t.sha256)) {
    throw new TrajectoryError(`${where}: expected {"name": the folder name, "sha256": 64 hex digits}, got ${describe(value)}`);
  }
  return { name: t.name, sha256: t.sha256 };
}

/**
 * Parses the JSONL text of a trajectory file: an optional header line `{"teacher": ...}`, then one
 * checked trajectory per line. Lines may end in `\n` or `\r\n`; the text may end with a newline; any
 * other empty line is an error.
 *
 * @param file - named in error messages
 * @throws TrajectoryError naming the file and the 1-based line number
 * @example
 * ```ts
 * parseTrajectoryFile(formatTrajectories([trajectory], teacher), "t.jsonl"); // { teacher, trajectories: [trajectory] }
 * parseTrajectoryFile(formatTrajectories([trajectory]), "old.jsonl").teacher; // null
 * ```
 * @category Trajectories
 */
export function parseTrajectoryFile(text: string, file: string): TrajectoryFile {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  let teacher: TeacherRecord | null = null;
  const trajectories: Trajectory[] = [];
  lines.forEach((raw, i) => {
    const where = `parseTrajectories: ${file} line ${i + 1}`;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") throw new TrajectoryError(`${where}: is empty, expected one JSON trajectory per line`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new TrajectoryError(`${where}: is not valid JSON (${(e as Error).message})`);
    }
    const isHeader = i === 0 && typeof value === "object" && value !== null && "teacher" in value && !("prompt" in value);
    if (isHeader) teacher = checkTeacher((value as { teacher: unknown }).teacher, `${where}: the teacher`);
    else trajectories.push(checkTrajectory(value, where));
  });
  return { teacher, trajectories };
}

/**
 * Parses JSONL text into checked trajectories (the header line, if any, is checked and left out; see
 * {@link parseTrajectoryFile}).
 *
 * @param file - named in error messages
 * @throws TrajectoryError naming the file and the 1-based line number
 * @example
 * ```ts
 * parseTrajectories(formatTrajectories([trajectory]), "in memory"); // [trajectory]
 * parseTrajectories("{}\n", "t.jsonl"); // throws: parseTrajectories: t.jsonl line 1: prompt must be an array of token ids, got undefined
 * ```
 * @category Trajectories
 */
export function parseTrajectories(text: string, file: string): Trajectory[] {
  return parseTrajectoryFile(text, file).trajectories;
}
