/**
 * Distillation end to end, in seconds: a tiny random model distilled on its own Jacobi trajectories
 * decodes the trained prompts in fewer forwards (higher TPF), and its Jacobi output still equals ITS
 * OWN AR greedy output exactly — Jacobi Forcing changes the model, never the decoder's guarantee. And a
 * run stopped and resumed (with another number of workers) repeats the uninterrupted run bit for bit.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { arGreedyReference } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { saveCheckpoint } from "../src/node/checkpoint-folder.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams, type Params } from "../src/model/params.ts";
import { CharTokenizer } from "../src/model/tokenizer.ts";
import { DEFAULT_DISTILL, distill, type DistillOptions } from "../src/training/distill.ts";
import type { TrajectoryData } from "../src/training/jacobi-forcing.ts";

const tokenizer = new CharTokenizer([..."abcdefghijklmnopqrstu"]);
const config: ModelConfig = { ...PRESETS.tiny, hiddenSize: 32, intermediateSize: 64, vocabSize: 24, maxPositions: 64 };
// the trained prompts; TPF is measured on them with drafts none of the trajectories used (seed 3)
const blockSize = 4;
const prompts = [[1, 5, 9, 4], [1, 7, 3, 12], [1, 20, 6, 6], [1, 11, 15, 8]];
const maxNewTokens = 12;

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "jf-distill-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Tokens per forward of block Jacobi over `prompts`, with the same seeded drafts every time. */
function tpf(params: Params): number {
  let tokens = 0, forwards = 0;
  for (const prompt of prompts) {
    const r = jacobi(config, params, prompt, { maxNewTokens, blockSize, eosTokenId: null, init: "vocab", seed: 3 });
    tokens += r.tokens.length;
    forwards += r.stats.forwards;
  }
  return tokens / forwards;
}

function setup(): { teacherDir: string; teacher: Params; trajectories: TrajectoryData[]; options: DistillOptions } {
  const teacher = initParams(config, { seed: 4, std: 0.4 });
  const teacherDir = tempDir();
  saveCheckpoint(teacherDir, { config, params: teacher, tokenizer }, { dtype: "F64" });
  // eight trajectories per prompt, from different random drafts: the noise the model learns to see through
  const trajectories = prompts.flatMap((prompt, i) => Array.from({ length: 8 }, (_, s) =>
    jacobi(config, teacher, prompt, { maxNewTokens, blockSize, eosTokenId: null, init: "vocab", seed: 10 + 8 * i + s, recordTrajectory: true }).trajectory!));
  const options: DistillOptions = {
    ...DEFAULT_DISTILL, objective: "Jacobi Forcing", config, teacher: teacherDir, seed: 1, steps: 300, batchSize: 4,
    maxLr: 3e-3, minLr: 3e-4, warmupSteps: 5, window: 3, windowPhase: "random", eosTokenId: null, evalEvery: 1000, checkpointEvery: 1000,
  };
  return { teacherDir, teacher, trajectories, options };
}

describe("distill", () => {
  it("raises a tiny model's TPF on a toy task, and its Jacobi output still equals its own AR greedy output", async () => {
    const { teacher, trajectories, options } = setup();
    const before = tpf(teacher);
    const result = await distill(trajectories, tokenizer, options, { outDir: tempDir() });
    expect(result.finished).toBe(true);
    const after = tpf(result.params);
    expect(after).toBeGreaterThan(before * 1.2);
    for (const prompt of [...prompts, [1, 2, 3], [1, 18, 18, 18, 4]]) {
      const reference = arGreedyReference(config, result.params, prompt, { maxNewTokens, eosTokenId: null });
      for (const n of [2, 4, 7]) {
        expect(jacobi(config, result.params, prompt, { maxNewTokens, blockSize: n, eosTokenId: null }).tokens).toEqual(reference.tokens);
      }
    }
  }, 60_000);

  it("resumed with another number of workers, repeats the uninterrupted run bit for bit", async () => {
    const { trajectories, options } = setup();
    const short = { ...options, steps: 6, checkpointEvery: 2 };
    const whole = tempDir();
    await distill(trajectories, tokenizer, short, { outDir: whole });
    const split = tempDir();
    const first = await distill(trajectories, tokenizer, short, { outDir: split, stopAfter: 3, workers: 2 });
    expect(first.finished).toBe(false);
    const second = await distill(trajectories, tokenizer, short, { outDir: split, resume: true, workers: 3 });
    expect(second.finished).toBe(true);
    expect(readFileSync(join(split, "model.safetensors"))).toEqual(readFileSync(join(whole, "model.safetensors")));
    expect(readFileSync(join(split, "loss.csv"), "utf8")).toBe(readFileSync(join(whole, "loss.csv"), "utf8"));
  }, 60_000);
});
