/**
 * The optimizer and the training loop: AdamW against steps computed by hand, the schedule, clipping,
 * a golden 20-step run whose losses must equal a committed fixture bit for bit, and resume — stopping
 * at step k and resuming gives the same losses, evaluations and weights as never stopping.
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mathDataset } from "../src/data/dataset.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { namedParams } from "../src/model/params.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { adamwInit, adamwStep, clipGradNorm, learningRate } from "../src/training/optimizer.ts";
import { train } from "../src/training/trainer.ts";
import { goldenOptions } from "./fixtures/golden-options.ts";

// ---------------------------------------------------------------- AdamW

describe("AdamW", () => {
  it("matches two steps computed by hand, with decoupled weight decay on decayed tensors only", () => {
    const w = new Tensor(Float64Array.from([1, -2]), [2], true);
    const b = new Tensor(Float64Array.from([0.5]), [1], true);
    const state = adamwInit([w, b]);
    const o = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const lr = 0.01;
    // step 1: m = 0.1 g, v = 0.05 g^2; m^ = g, v^ = g^2; update = g / (|g| + eps)
    w.grad = Float64Array.from([0.5, -4]);
    b.grad = Float64Array.from([2]);
    adamwStep([w, b], [true, false], state, lr, o);
    const step1 = (x: number, g: number, decay: number): number => x - lr * (g / (Math.abs(g) + 1e-8) + decay * x);
    expect(w.data[0]).toBe(step1(1, 0.5, 0.1));
    expect(w.data[1]).toBe(step1(-2, -4, 0.1));
    expect(b.data[0]).toBe(step1(0.5, 2, 0));
    // step 2 with g = 1 for w[0]: m = 0.9*0.05 + 0.1 = 0.145, v = 0.95*0.0125 + 0.05 = 0.061875
    const w0 = w.data[0];
    w.grad = Float64Array.from([1, 0]);
    b.grad = null; // no gradient reached b: it must not move
    adamwStep([w, b], [true, false], state, lr, o);
    const mHat = 0.145 / (1 - 0.9 ** 2);
    const vHat = 0.061875 / (1 - 0.95 ** 2);
    expect(w.data[0]).toBeCloseTo(w0 - lr * (mHat / (Math.sqrt(vHat) + 1e-8) + 0.1 * w0), 15);
    expect(b.data[0]).toBe(step1(0.5, 2, 0));
    expect(state.step).toBe(2);
  });

  it("cosine schedule with warm-up, and clipping by the global norm", () => {
    const s = { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 };
    expect(learningRate(0, s)).toBeCloseTo(1e-4, 18);
    expect(learningRate(9, s)).toBe(1e-3);
    expect(learningRate(10, s)).toBe(1e-3);
    expect(learningRate(59.5, s)).toBeCloseTo(5.5e-4, 15); // half-way down the cosine
    expect(learningRate(109, s)).toBeCloseTo(1e-4, 18);
    const a = new Tensor(Float64Array.from([3]), [1]), b = new Tensor(Float64Array.from([4]), [1]);
    a.grad = Float64Array.from([3]);
    b.grad = Float64Array.from([4]);
    expect(clipGradNorm([a, b], 1)).toBe(5);
    expect(a.grad[0]).toBeCloseTo(0.6, 15);
    expect(b.grad[0]).toBeCloseTo(0.8, 15);
    expect(clipGradNorm([a, b], 10)).toBeCloseTo(1, 15); // under the limit: unchanged
    expect(a.grad[0]).toBeCloseTo(0.6, 15);
  });
});

// ---------------------------------------------------------------- runs

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "jf-train-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("training runs", () => {
  it("golden run: 20 steps on the tiny model reproduce the committed losses bit for bit", async () => {
    const fixture = JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", "golden-train.json"), "utf8")) as { losses: number[]; heldout: number[] };
    const dir = tempDir();
    const result = await train(mathDataset(), goldenOptions(), { outDir: dir });
    expect(result.finished).toBe(true);
    expect(result.history.map((h) => h.loss)).toEqual(fixture.losses);
    const csv = readFileSync(join(dir, "loss.csv"), "utf8").trim().split("\n");
    expect(csv.length).toBe(21);
    expect(Number(csv[20].split(",")[4])).toBe(fixture.heldout[1]);
    // it learns: the last losses are well below the first
    expect(fixture.losses[19]).toBeLessThan(fixture.losses[0] - 0.5);
  });

  it("resume: stopping at step 7 and resuming equals never stopping, bit for bit", async () => {
    const straightDir = tempDir();
    const straight = await train(mathDataset(), goldenOptions(), { outDir: straightDir });
    const dir = tempDir();
    const first = await train(mathDataset(), goldenOptions(), { outDir: dir, stopAfter: 7 });
    expect(first.finished).toBe(false);
    expect(first.history.length).toBe(7);
    const notes: string[] = [];
    const resumed = await train(mathDataset(), goldenOptions(), { outDir: dir, resume: true, log: (line) => notes.push(line) });
    expect(notes).toEqual(["resuming from step 7 of 20"]); // the folder is step 7's: nothing to rewrite
    expect(resumed.finished).toBe(true);
    expect(resumed.history).toEqual(straight.history);
    const wa = namedParams(goldenOptions().config, straight.params), wb = namedParams(goldenOptions().config, resumed.params);
    wa.forEach(([name, t], i) => expect(Array.from(wb[i][1].data), name).toEqual(Array.from(t.data)));
    expect(readFileSync(join(dir, "loss.csv"), "utf8")).toBe(readFileSync(join(straightDir, "loss.csv"), "utf8"));
    // the inference model is loadable, with its tokenizer
    expect(loadCheckpoint(dir).tokenizer?.vocabSize).toBe(20);
  });

  it("initFrom starts from a saved model's weights, and refuses another config", async () => {
    const source = tempDir();
    await train(mathDataset(), goldenOptions(), { outDir: source });
    const saved = namedParams(goldenOptions().config, loadCheckpoint(source).params);
    // one step at learning rate 0 leaves the weights as loaded
    const frozen = await train(mathDataset(), { ...goldenOptions(), steps: 1, maxLr: 0, minLr: 0, initFrom: source }, { outDir: tempDir() });
    namedParams(goldenOptions().config, frozen.params).forEach(([name, t], i) => expect(Array.from(t.data), name).toEqual(Array.from(saved[i][1].data)));
    const wider = { ...goldenOptions(), config: { ...goldenOptions().config, intermediateSize: 48 }, initFrom: source };
    await expect(train(mathDataset(), wider, { outDir: tempDir() })).rejects.toThrow(/has another config/);
  });

  it("resume refuses different options", async () => {
    const dir = tempDir();
    await train(mathDataset(), goldenOptions(), { outDir: dir, stopAfter: 1 });
    await expect(train(mathDataset(), { ...goldenOptions(), maxLr: 5e-3 }, { outDir: dir, resume: true })).rejects.toThrow(/options differ/);
    await expect(train(mathDataset(), goldenOptions(), { outDir: tempDir(), resume: true })).rejects.toThrow(/no run to resume/);
  });
});
