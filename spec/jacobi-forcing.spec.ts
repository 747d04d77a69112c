/**
 * The Jacobi Forcing objective: the consistency term vanishes (with its gradient) when the noisy blocks
 * equal the clean ones, no gradient reaches a teacher row through it, and the analytic gradient of the
 * total loss matches central differences (with the teacher distributions held fixed: stop-gradient).
 */
import { describe, expect, it } from "vitest";
import { jacobi } from "../src/decoding/jacobi.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams, namedParams } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { backward, zeroGrad } from "../src/tensor/autograd.ts";
import { crossEntropy, softCrossEntropy } from "../src/tensor/losses.ts";
import { add, scale } from "../src/tensor/ops.ts";
import { Rng } from "../src/tensor/random.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { distillLoss } from "../src/training/distill-loss.ts";
import { buildExample, jacobiForcingLoss, type JacobiForcingOptions, type TrajectoryData } from "../src/training/jacobi-forcing.ts";

const config: ModelConfig = { ...PRESETS.tiny, vocabSize: 24, maxPositions: 64, attentionBias: true, architecture: "Qwen2ForCausalLM" };

/** A real trajectory of a random tiny model (the decoding side hands it over as plain data). */
function trajectoryOf(seed: number, blockSize: number): TrajectoryData {
  const params = initParams(config, { seed, std: 0.5 });
  const result = jacobi(config, params, [1, 5, 7, 9], { maxNewTokens: 12, blockSize, eosTokenId: null, recordTrajectory: true, init: "vocab", seed });
  return result.trajectory!;
}

const options: JacobiForcingOptions = { window: 4, eosTokenId: null };

describe("the Jacobi Forcing loss", () => {
  it("has a consistency term of zero, with zero gradient, when every noisy block equals its clean block", () => {
    const t = trajectoryOf(3, 4);
    const params = initParams(config, { seed: 9, std: 0.5 });
    const clean = { ...options, window: 1 }; // one target, 0: the schedule picks the fixed point itself
    const ex = buildExample(t, clean, new Rng(0));
    expect(ex.studentRows).toEqual([]);
    const { loss, consistency, ar } = jacobiForcingLoss(config, params, ex, clean);
    expect(consistency).toBe(0);
    expect(loss.data[0]).toBeCloseTo(10 * ar, 12);
    // the gradient is exactly that of 10 · L_AR
    const trainable = namedParams(config, params).map(([, p]) => p);
    for (const p of trainable) p.requiresGrad = true;
    zeroGrad(trainable);
    backward(jacobiForcingLoss(config, params, ex, clean).loss);
    const a = trainable.map((p) => Float64Array.from(p.grad!));
    zeroGrad(trainable);
    const logits = forward(config, params, ex.packed.tokens, { positions: ex.packed.positions, mask: ex.mask });
    backward(scale(crossEntropy(logits, ex.arTargets, -1, "mean"), 10));
    trainable.forEach((p, i) => p.grad!.forEach((g, k) => expect(g).toBeCloseTo(a[i][k], 12)));
  });

  it("sends no gradient into a teacher row through the consistency term", () => {
    const t = trajectoryOf(4, 6);
    const ex = buildExample(t, options, new Rng(1));
    expect(ex.studentRows.length).toBeGreaterThan(0);
    const params = initParams(config, { seed: 2, std: 0.5 });
    const logits = forward(config, params, ex.packed.tokens, { positions: ex.packed.positions, mask: ex.mask });
    const leaf = new Tensor(Float64Array.from(logits.data), logits.shape, true);
    backward(softCrossEntropy(leaf, ex.studentRows, leaf, ex.teacherRows));
    const V = config.vocabSize;
    for (const r of ex.teacherRows) for (let j = 0; j < V; j++) expect(leaf.grad![r * V + j]).toBe(0);
    expect(ex.studentRows.some((r) => leaf.grad!.subarray(r * V, (r + 1) * V).some((g) => g !== 0))).toBe(true);
  });

  it("has the analytic gradient of central differences, teacher rows held fixed", () => {
    const t = trajectoryOf(5, 4);
    const opts: JacobiForcingOptions = { ...options, arWeight: 3, divideByBlocks: true };
    const ex = buildExample(t, opts, new Rng(2));
    expect(ex.studentRows.length).toBeGreaterThan(0);
    const params = initParams(config, { seed: 6, std: 0.5 });
    const named = namedParams(config, params);
    for (const [, p] of named) p.requiresGrad = true;
    zeroGrad(named.map(([, p]) => p));
    backward(jacobiForcingLoss(config, params, ex, opts).loss);
    // the same loss with the teacher distributions frozen at the base point: what stop-gradient differentiates
    const base = forward(config, params, ex.packed.tokens, { positions: ex.packed.positions, mask: ex.mask });
    const teacher = new Tensor(Float64Array.from(base.data), base.shape);
    const frozen = (): number => {
      const logits = forward(config, params, ex.packed.tokens, { positions: ex.packed.positions, mask: ex.mask });
      const pc = scale(softCrossEntropy(logits, ex.studentRows, teacher, ex.teacherRows), 1 / ex.packed.blocks.length);
      return add(pc, scale(crossEntropy(logits, ex.arTargets, -1, "mean"), 3)).data[0];
    };
    const rng = new Rng("fd");
    const h = 1e-5;
    let worst = 0;
    let where = "";
    for (const [name, p] of named) {
      for (let s = 0; s < 3; s++) {
        const i = rng.int(p.size);
        const saved = p.data[i];
        p.data[i] = saved + h;
        const plus = frozen();
        p.data[i] = saved - h;
        const minus = frozen();
        p.data[i] = saved;
        const numeric = (plus - minus) / (2 * h);
        const error = Math.abs(numeric - p.grad![i]) / Math.max(1, Math.abs(numeric));
        if (error > worst) { worst = error; where = `${name}[${i}]: analytic ${p.grad![i]}, numeric ${numeric}`; }
      }
    }
    expect(worst, where).toBeLessThan(1e-6);
  });
});

describe("the replay loss (distill's option, outside the paper)", () => {
  const params = initParams(config, { seed: 6, std: 0.5 });
  const ex = buildExample(trajectoryOf(5, 4), options, new Rng(2));
  const replay = { tokens: [1, 4, 6, 8, 10], targets: [-1, 6, 8, 10, 12], positions: [0, 1, 2, 3, 4], mask: null };

  it("is not in jacobiForcingLoss, which is exactly L_pc + w_AR · L_AR; distillLoss without replay is the same loss", () => {
    const objective = jacobiForcingLoss(config, params, ex, options);
    expect(objective.consistency).toBeGreaterThan(0);
    expect(objective.loss.data[0]).toBe(objective.consistency + 10 * objective.ar);
    expect(Object.keys(objective).sort()).toEqual(["ar", "consistency", "consistencyPositions", "loss"]);
    const plain = distillLoss(config, params, { ...ex, replay }, options);
    expect(plain.loss.data[0]).toBe(objective.loss.data[0]);
    expect(plain.parts).toEqual({ ar: objective.ar, consistency: objective.consistency });
  });

  it("adds exactly w_replay times the next-token loss of the replayed sequence, and refuses an example without one", () => {
    const base = jacobiForcingLoss(config, params, ex, options);
    const withReplay = distillLoss(config, params, { ...ex, replay }, { ...options, replayWeight: 3 });
    const ce = crossEntropy(forward(config, params, replay.tokens), replay.targets, -1, "mean").data[0];
    expect(withReplay.parts.replay).toBe(ce);
    expect(withReplay.loss.data[0]).toBe(base.loss.data[0] + 3 * ce);
    expect(() => distillLoss(config, params, ex, { ...options, replayWeight: 1 })).toThrow(/replayWeight > 0 but the example carries no replay sequence/);
  });
});
