/**
 * Example 5 — one Jacobi Forcing distillation step, from a trajectory to an updated model.
 *
 * 1. Records the Jacobi trajectory of one training problem with the shipped math teacher, and picks a
 *    noisy state for each block by the progressive schedule.
 * 2. Packs the prompt, the noisy states and their clean fixed points into ONE sequence — noisy_j and
 *    clean_j share positions — and builds the noise-conditioned mask: noisy rows never see clean rows
 *    and clean rows never see noisy rows (paper §3.1, Fig. 2b).
 * 3. One forward gives both: the clean rows' logits are bit-identical to a plain causal forward of the AR
 *    text, so they serve as the teacher of the noisy rows in the same forward.
 * 4. The loss `L = L_pc + w_AR · L_AR` (Eq. 8–9), its backward, one clipped AdamW step; the loss of the
 *    same example goes down.
 *
 * The real loop (`jacobi-forcing distill`, `src/training/distill.ts`) does exactly this for batches of
 * trajectories, thousands of times.
 *
 * Run: npx tsx examples/05-distillation-step.ts
 */
import { join } from "node:path";
import { mathDataset } from "../src/data/dataset.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { visibleText } from "../src/model/tokenizer.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { forward } from "../src/model/transformer.ts";
import { backward, zeroGrad } from "../src/tensor/autograd.ts";
import { Rng } from "../src/tensor/random.ts";
import { buildExample, jacobiForcingLoss, type JacobiForcingOptions } from "../src/training/jacobi-forcing.ts";
import { DEFAULT_ADAMW, adamwInit, adamwStep, clipGradNorm } from "../src/training/optimizer.ts";
import { trainableParams } from "../src/training/trainer.ts";

const { config, params, tokenizer } = loadCheckpoint(join(import.meta.dirname, "..", "models", "math-teacher"));
const show = (ids: readonly number[]) => visibleText(ids, tokenizer);                // ⏎ newline, ␄ EOS

// 1. a trajectory (decoding side), handed over as plain data
const prompt = mathDataset().trainPrompt(new Rng(3));
const trajectory = jacobi(config, params, prompt, { maxNewTokens: 64, blockSize: 16, recordTrajectory: true }).trajectory!;
const options: JacobiForcingOptions = { window: 4, eosTokenId: config.eosTokenId };   // w = 4, w_AR = 10 (default)
const example = buildExample(trajectory, options, new Rng(0));
const { packed } = example;
console.log(`prompt ${JSON.stringify(show(prompt.slice(1)))}: ${trajectory.blocks.length} blocks; schedule targets [${example.targets.map((t) => t.toFixed(2)).join(", ")}]`);

// 2. the packed sequence: prompt | noisy_0 | clean_0 | noisy_1 | clean_1 | ...
console.log(`\npacked sequence: ${packed.tokens.length} tokens = P ${packed.promptLength} + 2 × ${packed.blocks.reduce((s, b) => s + b.length, 0)}`);
console.log(`  prompt    ${`positions 0..${packed.promptLength - 1}`.padEnd(17)} ${show(packed.tokens.slice(0, packed.promptLength))}`);
for (const [j, b] of packed.blocks.entries()) {
  const span = `positions ${b.position}..${b.position + b.length - 1}`;
  console.log(`  noisy_${j}   ${span.padEnd(17)} ${show(packed.tokens.slice(b.noisyStart, b.noisyStart + b.length))}`);
  console.log(`  clean_${j}   ${span.padEnd(17)} ${show(packed.tokens.slice(b.cleanStart, b.cleanStart + b.length))}`);
}
const L = packed.tokens.length;
const b1 = packed.blocks[1];
const sees = (row: number, from: number, to: number) => Array.from(example.mask.subarray(row * L + from, row * L + to)).join("");
console.log(`mask: the 3rd token of noisy_1 sees noisy_0 ${sees(b1.noisyStart + 2, packed.blocks[0].noisyStart, packed.blocks[0].noisyStart + 16)}, ` +
  `clean_0 ${sees(b1.noisyStart + 2, packed.blocks[0].cleanStart, packed.blocks[0].cleanStart + 16)}, ` +
  `noisy_1 ${sees(b1.noisyStart + 2, b1.noisyStart, b1.noisyStart + b1.length)}`);

// 3. one forward, two models' worth of rows: the clean rows equal a plain forward of prompt ++ y*_0 ++ y*_1 ...
const logits = forward(config, params, packed.tokens, { positions: packed.positions, mask: example.mask });   // [L, V]
const arText = [...prompt, ...trajectory.blocks.flatMap((b) => b.fixedPoint)];
const plain = forward(config, params, arText);                                                                 // [P + Σm, V]
const V = config.vocabSize;
let identical = true;
for (const b of packed.blocks) {
  for (let o = 0; o < b.length; o++) {
    for (let v = 0; v < V; v++) identical &&= Object.is(logits.data[(b.cleanStart + o) * V + v], plain.data[(b.position + o) * V + v]);
  }
}
console.log(`clean rows of the packed forward bit-identical to a plain causal forward of the AR text: ${identical}`);

// 4. the loss, its backward, one AdamW step
const trainable = trainableParams(config, params);
const optimizer = adamwInit(trainable.tensors);
zeroGrad(trainable.tensors);
const before = jacobiForcingLoss(config, params, example, options);
backward(before.loss);
const norm = clipGradNorm(trainable.tensors, 1);
adamwStep(trainable.tensors, trainable.decay, optimizer, 1e-3, DEFAULT_ADAMW);
const after = jacobiForcingLoss(config, params, example, options);
console.log(`\nL = L_pc + 10 · L_AR over ${before.consistencyPositions} consistency positions (from each block's first mismatch on)`);
console.log(`  before: L_pc ${before.consistency.toFixed(4)}, L_AR ${before.ar.toFixed(4)}, L ${before.loss.data[0].toFixed(4)}; gradient norm ${norm.toFixed(3)}, clipped to 1`);
console.log(`  after one AdamW step (lr 1e-3): L_pc ${after.consistency.toFixed(4)}, L_AR ${after.ar.toFixed(4)}, L ${after.loss.data[0].toFixed(4)}`);
if (!identical || !(after.loss.data[0] < before.loss.data[0])) throw new Error("example 5: the step did not do what it should — a bug");
