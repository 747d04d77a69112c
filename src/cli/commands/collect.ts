/**
 * `jacobi-forcing collect`: decodes training prompts with greedy Jacobi decoding and writes every
 * block's trajectory — the states y(0) .. y* each block passed through — to a JSONL file, the data
 * Jacobi Forcing trains on (paper §2, the record `J`; docs/ALGORITHM.md §2).
 *
 * ```
 * jacobi-forcing collect --model DIR --data math|code|FILE --prompts N --block-size n --out FILE.jsonl
 *                        [--seed S] [--max-new-tokens M]
 * ```
 * The prompts come from the TRAINING split (`Dataset.trainPrompt`), drawn from `Rng(S)`; prompt i is
 * decoded in block mode with the default draft initialisation and draft seed i of a second stream
 * derived from S, so the whole file is a function of the model, the flags and S. Greedy Jacobi's fixed
 * points are AR greedy's tokens, so the trajectories end exactly where the teacher's own answer does.
 * The file opens with a header line recording the teacher (its folder name and the SHA-256 of its
 * config and weights), which `distill` checks. `--out` is checked to be writable before any decoding;
 * the file is written once, atomically, at the end: an interrupted run leaves no half file.
 *
 * What it is not: a sampler (trajectories are greedy, as in the paper) or a trainer — `distill` reads
 * the file.
 *
 * Read next: `src/decoding/trajectory.ts` (the file format), `src/decoding/jacobi.ts` (what records it).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { jacobi } from "../../decoding/jacobi.ts";
import type { TeacherRecord, Trajectory } from "../../decoding/trajectory.ts";
import { writeTrajectories } from "../../node/trajectory-file.ts";
import { Rng } from "../../tensor/random.ts";
import { formatDuration } from "../../training/progress.ts";
import { checkWritable } from "../../util/atomic-write.ts";
import { CliError, type Command, type Io } from "../args.ts";
import { loadModelFor } from "./eval.ts";
import { datasetFor } from "./train.ts";

// ---------------------------------------------------------------- progress

/**
 * A progress display on stderr: a bar redrawn in place on a terminal, otherwise a line about every
 * tenth of the prompts (and at the last one), like the training progress of `train`.
 */
function collectProgress(io: Io, total: number): (done: number, tokens: number, seconds: number) => void {
  const every = Math.max(1, Math.ceil(total / 10));
  return (done, tokens, seconds) => {
    const eta = done === 0 ? Infinity : (seconds / done) * (total - done);
    const stats = `prompt ${done}/${total}  ${(tokens / Math.max(seconds, 1e-9)).toFixed(0)} tok/s  ETA ${formatDuration(eta)}`;
    if (io.isTTY) {
      const width = 30;
      const filled = Math.round((width * done) / total);
      io.err(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${stats}\x1b[K${done === total ? "\n" : ""}`);
    } else if (done % every === 0 || done === total) {
      io.err(`${stats}\n`);
    }
  };
}

/**
 * What identifies a model folder as a teacher: its folder name (for messages) and the SHA-256 of its
 * `config.json` and `model.safetensors`, the bytes that decide every token it decodes.
 *
 * @example
 * ```ts
 * teacherRecord("models/math-teacher"); // { name: "math-teacher", sha256: "…64 hex digits…" }
 * ```
 * @category CLI
 */
export function teacherRecord(dir: string): TeacherRecord {
  const hash = createHash("sha256");
  for (const file of ["config.json", "model.safetensors"]) hash.update(readFileSync(join(dir, file)));
  return { name: basename(resolve(dir)), sha256: hash.digest("hex") };
}

// ---------------------------------------------------------------- the command

/**
 * The `collect` command, e.g.
 * `jacobi-forcing collect --model models/math-teacher --data math --prompts 200 --block-size 16 --out runs/traj.jsonl`.
 *
 * @category CLI
 */
export const collectCommand: Command = {
  summary: "decode training prompts with Jacobi and write their trajectories (JSONL) for distill",
  flags: {
    model: { type: "string", help: "checkpoint folder made by train (the teacher)" },
    data: { type: "string", help: "math, code, or the path of the UTF-8 text file the model was trained on" },
    prompts: { type: "int", positive: true, help: "number of training prompts to decode" },
    "block-size": { type: "int", positive: true, help: "tokens per Jacobi block n" },
    out: { type: "string", help: "the JSONL file to write (atomically)" },
    seed: { type: "int", default: 0, help: "seed of the prompts and of the draft tokens" },
    "max-new-tokens": { type: "int", optional: true, positive: true, help: "most tokens per prompt (default 64 for math, 96 for text)" },
  },
  run(flags, io) {
    try {
      checkWritable(flags.out as string);   // now, not after all the decoding
    } catch (e) {
      throw new CliError(`collect: ${(e as Error).message}`);
    }
    const count = flags.prompts as number;
    const blockSize = flags["block-size"] as number;
    const seed = flags.seed as number;
    // Default budget: 64 tokens for math — a solution is 33 characters and EOS, whatever the operation
    // (three 8-character column lines, `A:` and 4 digits, newlines), so 64 always reaches EOS for a
    // trained model — and 96 for text, three times the 32-token prompt.
    const maxNewTokens = (flags["max-new-tokens"] as number | undefined) ?? (flags.data === "math" ? 64 : 96);
    const dataset = datasetFor(flags.data as string);
    const { config, params } = loadModelFor("collect", flags.model as string, dataset);
    const teacher = teacherRecord(flags.model as string);

    const prompts = new Rng(seed);
    const draftSeeds = new Rng(`collect-drafts-${seed}`);
    const progress = collectProgress(io, count);
    const trajectories: Trajectory[] = [];
    let tokens = 0, forwards = 0;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const prompt = dataset.trainPrompt(prompts);
      const result = jacobi(config, params, prompt, {
        maxNewTokens, blockSize, recordTrajectory: true, seed: draftSeeds.int(2 ** 31),
      });
      trajectories.push(result.trajectory!);
      tokens += result.stats.committedTokens;
      forwards += result.stats.forwards;
      progress(i + 1, tokens, (performance.now() - start) / 1000);
    }
    writeTrajectories(flags.out as string, trajectories, teacher);

    const blocks = trajectories.reduce((n, t) => n + t.blocks.length, 0);
    const states = trajectories.reduce((n, t) => n + t.blocks.reduce((m, b) => m + b.states.length, 0), 0);
    const seconds = (performance.now() - start) / 1000;
    io.out(`wrote ${count} trajectories to ${flags.out}\n`);
    io.out(`prompts: ${count}\n`);
    io.out(`blocks: ${blocks}\n`);
    io.out(`mean states per block: ${(states / Math.max(blocks, 1)).toFixed(2)}\n`);
    io.out(`tokens per forward: ${(tokens / Math.max(forwards, 1)).toFixed(2)} (${tokens} tokens in ${forwards} forwards)\n`);
    io.out(`wall time: ${seconds < 60 ? `${seconds.toFixed(1)} s` : formatDuration(seconds)}\n`);
  },
};
