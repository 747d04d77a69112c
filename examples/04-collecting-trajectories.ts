/**
 * Example 4 — collecting Jacobi trajectories: the data Jacobi Forcing trains on.
 *
 * 1. Decodes two TRAINING math problems with the shipped teacher (`models/math-teacher`) by greedy
 *    Jacobi, n = 16, with `recordTrajectory: true`: every block records every state y(0) .. y* it
 *    passed through. Prints one block's states with how far each has converged and its noise ratio
 *    `(n - firstMismatch(y, y*)) / n`.
 * 2. Checks the two facts training relies on: the first mismatch strictly increases along a trajectory,
 *    and the fixed points, concatenated, are exactly the AR greedy output.
 * 3. Writes the trajectories as JSONL (what `jacobi-forcing collect` writes) and reads them back.
 * 4. Hands them to the training side as plain data: the progressive noise schedule gives block b the
 *    target ratio W[b mod w] and picks the state closest to it — the noisy input the model will learn
 *    to complete in one step (paper §3.1, Eq. 7).
 *
 * Run: npx tsx examples/04-collecting-trajectories.ts
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mathDataset } from "../src/data/dataset.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { firstMismatch, type Trajectory } from "../src/decoding/trajectory.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { readTrajectories, writeTrajectories } from "../src/node/trajectory-file.ts";
import { visibleText } from "../src/model/tokenizer.ts";
import { Rng } from "../src/tensor/random.ts";
import { blockTargets, noiseRatio, selectState } from "../src/training/noise-schedule.ts";

const { config, params, tokenizer } = loadCheckpoint(join(import.meta.dirname, "..", "models", "math-teacher"));
const n = 16;
const show = (ids: readonly number[]) => visibleText(ids, tokenizer);                // ⏎ newline, ␄ EOS

// 1. decode two training prompts, recording every state of every block
const prompts = new Rng(0);
const data = mathDataset();
const trajectories: Trajectory[] = [];
let sameAsAr = true;
for (let i = 0; i < 2; i++) {
  const prompt = data.trainPrompt(prompts);                              // BOS + a training question + newline
  const r = jacobi(config, params, prompt, { maxNewTokens: 64, blockSize: n, recordTrajectory: true, seed: i });
  trajectories.push(r.trajectory!);
  const fixedPoints = r.trajectory!.blocks.flatMap((b) => b.fixedPoint);
  sameAsAr &&= fixedPoints.join() === arGreedy(config, params, prompt, { maxNewTokens: 64 }).tokens.join();
  console.log(`prompt ${i}: ${JSON.stringify(show(prompt.slice(1)))} -> ${r.trajectory!.blocks.length} blocks, ` +
    `states per block [${r.trajectory!.blocks.map((b) => b.states.length).join(", ")}], TPF ${r.stats.tokensPerForward.toFixed(2)}`);
}
const block = trajectories[0].blocks[1];
console.log(`\nprompt 0, block 1 (after ${block.context.length} tokens of clean context); | marks the converged prefix:`);
console.log("  state   converged   noise ratio   tokens");
let increasing = true;
let previous = 0;
block.states.forEach((y, j) => {
  const k = firstMismatch(y, block.fixedPoint);
  increasing &&= k > previous;
  previous = k;
  console.log(`  ${`y(${j})`.padEnd(5)}   ${String(k).padStart(9)}   ${noiseRatio(y, block.fixedPoint).toFixed(3).padStart(11)}   ${show(y.slice(0, k))}|${show(y.slice(k))}`);
});

// 2. the two invariants
console.log(`\nfirst mismatch strictly increasing: ${increasing}; fixed points concatenated = AR greedy output: ${sameAsAr}`);

// 3. the JSONL file that collect writes and distill reads
const dir = mkdtempSync(join(tmpdir(), "jf-example-"));
const file = join(dir, "trajectories.jsonl");
writeTrajectories(file, trajectories);
const back = readTrajectories(file);
console.log(`wrote ${file.replace(dir, "<tmp>")}: ${readFileSync(file, "utf8").length} bytes, one line per prompt; ` +
  `read back identical: ${JSON.stringify(back) === JSON.stringify(trajectories)}`);
rmSync(dir, { recursive: true });

// 4. the training side: which state of each block the progressive schedule picks (window w = 4 here)
const blocks = trajectories[0].blocks;
const targets = blockTargets(blocks.length, { window: 4 }, new Rng(0));
console.log(`\nnoise schedule, progressive, w = 4: targets W = linspace(0, 1, 4), block b gets W[b mod 4]`);
blocks.forEach((b, j) => {
  const s = selectState(b.states, b.fixedPoint, targets[j]);
  console.log(`  block ${j}: target ${targets[j].toFixed(3)} -> picks y(${s}) of ${b.states.length}, ratio ${noiseRatio(b.states[s], b.fixedPoint).toFixed(3)}: ${show(b.states[s])}`);
});
if (!increasing || !sameAsAr) throw new Error("example 4: a trajectory broke its invariant — a bug");
