/**
 * The models and prompts `npm run bench` decodes with — the one place that names them.
 *
 * For each dataset: the shipped teacher, and the Jacobi Forcing (JF) model distilled from it. Until a JF
 * model exists at its path, its rows run on the teacher instead, and the bench says so (the rows are
 * then "Jacobi on the teacher" twice over, and the JF speedup is not measured).
 *
 * Prompts are held out from training: math problems from the held-out split, code windows from the
 * held-out files. Evaluation and calibration prompts are disjoint (the calibration set picks the block
 * size of the `auto` row; measuring it on the prompts it is then scored on would flatter it).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { datasetFor } from "../src/cli/commands/train.ts";
import { mathEvalSet, mathPrompt } from "../src/data/math.ts";
import type { Checkpoint } from "../src/model/checkpoint.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { SPECIAL_TOKENS } from "../src/model/tokenizer.ts";

/** The datasets the bench decodes. */
export type BenchDataset = "math" | "code";

/** Checkpoint folders, relative to the repository root. */
export const BENCH_MODELS: Readonly<Record<BenchDataset, { readonly teacher: string; readonly jf: string }>> = {
  math: { teacher: "models/math-teacher", jf: "models/math-jf" },
  code: { teacher: "models/code-teacher", jf: "models/code-jf" },
};

/**
 * Multi-block configuration per dataset, chosen on the grid's 4 prompts (not the results table's):
 * math, the best n = 32 cell on models/math-jf (docs/multiblock.md); code, the best cell of the small
 * grid on models/code-jf (`npx tsx bench/multiblock-grid.ts --model models/code-jf --data code --prompts 4
 * --new-tokens 96 --grid small --dry-run`): recycling pays on code, where n-grams repeat.
 */
export const MULTI_BLOCK = {
  math: { blockSize: 32, maxBlocks: 2, spawnRatio: 0.5, poolSize: 1 },
  code: { blockSize: 16, maxBlocks: 2, spawnRatio: 0.5, poolSize: 4 },
} as const;

/** The two models of one dataset, loaded. */
export interface BenchModels {
  readonly dataset: BenchDataset;
  readonly teacher: Checkpoint;
  readonly jf: Checkpoint;
  /** Where the JF rows' model came from: the JF folder, or the teacher's when it is missing. */
  readonly jfPath: string;
  /** True when the JF model is missing and the teacher stands in for it. */
  readonly jfIsTeacher: boolean;
}

/** Loads the teacher and the JF model of `dataset`; `note` is told when the teacher stands in. */
export function loadBenchModels(dataset: BenchDataset, note: (line: string) => void): BenchModels {
  const paths = BENCH_MODELS[dataset];
  const teacher = loadCheckpoint(paths.teacher);
  if (existsSync(paths.jf)) return { dataset, teacher, jf: loadCheckpoint(paths.jf), jfPath: paths.jf, jfIsTeacher: false };
  note(`${dataset}: no Jacobi Forcing model at ${paths.jf} yet — the "jf" rows run on the teacher ${paths.teacher}`);
  return { dataset, teacher, jf: teacher, jfPath: paths.teacher, jfIsTeacher: true };
}

/**
 * `count` evaluation prompts and `calibration` more, disjoint, as token ids (BOS first).
 *
 * @example
 * ```ts
 * benchPrompts("math", models.teacher, 8, 4); // { evaluation: 8 prompts, calibration: 4 prompts }
 * ```
 */
export function benchPrompts(dataset: BenchDataset, model: Checkpoint, count: number, calibration: number): { evaluation: number[][]; calibration: number[][] } {
  let prompts: number[][];
  if (dataset === "math") {
    const tokenizer = model.tokenizer;
    if (tokenizer === null) throw new Error("bench: the math model has no tokenizer.json");
    prompts = mathEvalSet(count + calibration, 1234).map((p) => [SPECIAL_TOKENS.bos, ...tokenizer.encode(mathPrompt(p))]);
  } else {
    // 48-character windows of the held-out TypeScript declarations, one per 64-character stretch.
    prompts = datasetFor("code").heldoutSequences(64, count + calibration).map((w) => w.tokens.slice(0, 48));
  }
  return { evaluation: prompts.slice(0, count), calibration: prompts.slice(count) };
}
