/**
 * The trajectory record and its JSONL file: round trips, atomic writes, the teacher recorded on the
 * header line (and files without one still read), and malformed input rejected with the line number and
 * the field.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { jacobi } from "../src/decoding/jacobi.ts";
import {
  TrajectoryError, checkTrajectory, firstMismatch, formatTrajectories, parseTrajectories, parseTrajectoryFile, type TeacherRecord, type Trajectory,
} from "../src/decoding/trajectory.ts";
import { readTrajectories, readTrajectoryFile, writeTrajectories } from "../src/node/trajectory-file.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";

const dir = mkdtempSync(join(tmpdir(), "jf-trajectory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Real trajectories: the small-vocabulary tiny model, two prompts, n = 4, one ending at EOS. */
function realTrajectories(): Trajectory[] {
  const config = { ...PRESETS.tiny, vocabSize: 8 };
  const params = initParams(config, { seed: 5, std: 0.5 });
  return [[1, 3, 4], [1, 7]].map((prompt, i) => {
    const result = jacobi(config, params, prompt, { maxNewTokens: 14, blockSize: 4, eosTokenId: i === 0 ? null : undefined, recordTrajectory: true });
    return result.trajectory as Trajectory;
  });
}

/** A small valid trajectory to break in the tests below. */
const valid = (): Trajectory => ({
  prompt: [1, 9],
  blockSize: 3,
  blocks: [
    { context: [1, 9], states: [[4, 0, 0], [4, 5, 0], [4, 5, 6]], fixedPoint: [4, 5, 6] },
    { context: [1, 9, 4, 5, 6], states: [[7, 2]], fixedPoint: [7, 2] },
  ],
});

describe("trajectory JSONL", () => {
  it("writes one line per trajectory and reads back exactly what was written", () => {
    const trajectories = realTrajectories();
    expect(trajectories[0].blocks.length).toBeGreaterThan(2);
    expect(trajectories.some((t) => t.blocks.some((b) => b.states.length > 1))).toBe(true);
    const path = join(dir, "round-trip.jsonl");
    writeTrajectories(path, trajectories);
    expect(readTrajectories(path)).toEqual(trajectories);
    expect(formatTrajectories(trajectories).split("\n")).toHaveLength(trajectories.length + 1); // one line each, final newline
  });

  it("writes atomically: a failed write leaves the old file and no temporary file", () => {
    const path = join(dir, "atomic.jsonl");
    writeTrajectories(path, [valid()]);
    const broken = { ...valid(), blockSize: 0 };
    expect(() => writeTrajectories(path, [valid(), broken])).toThrow(/formatTrajectories: trajectory 1: blockSize must be a positive integer, got 0/);
    expect(readTrajectories(path)).toEqual([valid()]);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("records the teacher on a header line; a file without one reads with teacher null", () => {
    const teacher: TeacherRecord = { name: "math-teacher", sha256: "ab".repeat(32) };
    const path = join(dir, "teacher.jsonl");
    writeTrajectories(path, [valid(), valid()], teacher);
    const lines = readFileSync(path, "utf8").split("\n");
    expect(lines[0]).toBe(`{"teacher":{"name":"math-teacher","sha256":"${"ab".repeat(32)}"}}`);
    expect(lines).toHaveLength(4);
    expect(readTrajectoryFile(path)).toEqual({ teacher, trajectories: [valid(), valid()] });
    expect(readTrajectories(path)).toEqual([valid(), valid()]);
    expect(parseTrajectoryFile(formatTrajectories([valid()]), "old.jsonl")).toEqual({ teacher: null, trajectories: [valid()] });
    // errors still name the line of the file, counting the header
    expect(() => parseTrajectories(`${lines[0]}\n${JSON.stringify(valid())}\noops\n`, "t.jsonl")).toThrow(/t\.jsonl line 3: is not valid JSON/);
    expect(() => parseTrajectories(`{"teacher":{"name":"x","sha256":"12"}}\n`, "t.jsonl"))
      .toThrow(/t\.jsonl line 1: the teacher: expected \{"name": the folder name, "sha256": 64 hex digits\}, got \{"name":"x","sha256":"12"\}/);
    expect(() => writeTrajectories(path, [valid()], { name: "x", sha256: "no" })).toThrow(/formatTrajectories: the teacher: expected/);
    // a header anywhere but the first line is not a trajectory
    expect(() => parseTrajectories(`${JSON.stringify(valid())}\n${lines[0]}\n`, "t.jsonl")).toThrow(/t\.jsonl line 2: prompt must be an array/);
  });

  it("accepts CRLF line ends and a missing final newline", () => {
    const line = JSON.stringify(valid());
    expect(parseTrajectories(`${line}\r\n${line}`, "t.jsonl")).toEqual([valid(), valid()]);
  });

  const malformed: [string, string, RegExp][] = [
    ["not JSON", "{prompt: [1]", /t\.jsonl line 2: is not valid JSON/],
    ["an empty line", "", /t\.jsonl line 2: is empty, expected one JSON trajectory per line/],
    ["not an object", "[1, 2]", /t\.jsonl line 2: expected a trajectory object \{prompt, blockSize, blocks\}, got \[1,2\]/],
    ["a token that is not an id", JSON.stringify({ ...valid(), prompt: [1, -2] }), /t\.jsonl line 2: prompt\[1\] must be a non-negative integer token id, got -2/],
    ["a missing field", JSON.stringify({ prompt: [1], blocks: [] }), /t\.jsonl line 2: blockSize must be a positive integer, got undefined/],
    ["a wrong context", JSON.stringify({ ...valid(), blocks: [valid().blocks[0], { ...valid().blocks[1], context: [1, 9] }] }),
      /t\.jsonl line 2: blocks\[1\]\.context must be the prompt followed by the fixed points of blocks 0\.\.0 \(5 tokens\), got 2 tokens/],
    ["a block longer than n", JSON.stringify({ ...valid(), blockSize: 2 }), /t\.jsonl line 2: blocks\[0\]\.fixedPoint must hold 1\.\.2 tokens \(the block size\), got 3/],
    ["a state of the wrong length", JSON.stringify({ ...valid(), blocks: [{ ...valid().blocks[0], states: [[4, 0], [4, 5, 6]] }] }),
      /t\.jsonl line 2: blocks\[0\]\.states\[0\] has 2 tokens, expected 3 \(the fixed point's length\)/],
    ["a state that moves away from the fixed point", JSON.stringify({ ...valid(), blocks: [{ ...valid().blocks[0], states: [[4, 5, 0], [4, 0, 0], [4, 5, 6]] }] }),
      /t\.jsonl line 2: blocks\[0\]\.states\[1\] first differs from the fixed point at index 1, expected more than 2/],
    ["a first state without the right anchor", JSON.stringify({ ...valid(), blocks: [{ ...valid().blocks[0], states: [[0, 0, 0], [4, 5, 6]] }] }),
      /t\.jsonl line 2: blocks\[0\]\.states\[0\] first differs from the fixed point at index 0, expected more than 0/],
    ["a last state that is not the fixed point", JSON.stringify({ ...valid(), blocks: [{ ...valid().blocks[0], states: [[4, 0, 0], [4, 5, 0]] }] }),
      /t\.jsonl line 2: blocks\[0\]: the last state must equal the fixed point, but it differs at index 2/],
    ["no states", JSON.stringify({ ...valid(), blocks: [{ ...valid().blocks[0], states: [] }] }), /t\.jsonl line 2: blocks\[0\]\.states must be a non-empty array/],
  ];
  for (const [label, line, message] of malformed) {
    it(`rejects ${label}, naming the line`, () => {
      const text = `${JSON.stringify(valid())}\n${line}\n${JSON.stringify(valid())}\n`;
      expect(() => parseTrajectories(text, "t.jsonl")).toThrow(TrajectoryError);
      expect(() => parseTrajectories(text, "t.jsonl")).toThrow(message);
    });
  }

  it("reading names the file; a missing file is the file system's error", () => {
    const path = join(dir, "bad.jsonl");
    writeFileSync(path, `${JSON.stringify(valid())}\noops\n`);
    expect(() => readTrajectories(path)).toThrow(`parseTrajectories: ${path} line 2: is not valid JSON`);
    expect(existsSync(join(dir, "missing.jsonl"))).toBe(false);
    expect(() => readTrajectories(join(dir, "missing.jsonl"))).toThrow(/ENOENT/);
  });
});

describe("checkTrajectory and firstMismatch", () => {
  it("accepts the record jacobi produces, and the small example", () => {
    for (const t of realTrajectories()) expect(checkTrajectory(t, "real")).toBe(t);
    expect(checkTrajectory(valid(), "valid")).toEqual(valid());
  });

  it("firstMismatch is the first differing index, or the common length", () => {
    expect(firstMismatch([5, 6, 9, 9], [5, 6, 7, 8])).toBe(2);
    expect(firstMismatch([5, 6, 7, 8], [5, 6, 7, 8])).toBe(4);
    expect(firstMismatch([1], [2])).toBe(0);
    expect(firstMismatch([], [])).toBe(0);
  });
});
