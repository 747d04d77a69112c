/**
 * Data-parallel gradients (src/training/parallel.ts): the gradient of a minibatch is the same, bit for
 * bit, computed inline or on worker threads, and equals the plain sum of the per-example gradients in
 * example order. (Workers start a TypeScript module through the tsx bootstrap, so this also proves
 * that path works.)
 */
import { afterAll, describe, expect, it } from "vitest";
import { jacobi } from "../src/decoding/jacobi.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { Rng } from "../src/tensor/random.ts";
import { buildExample, type JacobiForcingOptions } from "../src/training/jacobi-forcing.ts";
import { GradientPool, exampleGradient } from "../src/training/parallel.ts";
import { trainableParams } from "../src/training/trainer.ts";

const config: ModelConfig = { ...PRESETS.tiny, vocabSize: 24, maxPositions: 64 };
const options: JacobiForcingOptions = { window: 3, eosTokenId: null };

/** Five examples from real Jacobi trajectories of random tiny models. */
function examples() {
  const rng = new Rng(7);
  return [11, 12, 13, 14, 15].map((seed) => {
    const teacher = initParams(config, { seed, std: 0.5 });
    const t = jacobi(config, teacher, [1, seed % 20, 4], { maxNewTokens: 10, blockSize: 4, eosTokenId: null, recordTrajectory: true, init: "vocab", seed }).trajectory!;
    return buildExample(t, options, rng);
  });
}

const pools: GradientPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe("data-parallel gradients", () => {
  it("are bit-identical inline and on 1, 2 or 3 workers, and equal the in-order sum of per-example gradients", async () => {
    const batch = examples();
    const grads: Float64Array[][] = [];
    for (const workers of [1, 2, 3]) {
      const params = initParams(config, { seed: 3, std: 0.3 });
      const trainable = trainableParams(config, params);
      const pool = new GradientPool(workers, config, trainable.tensors, batch.length, options);
      pools.push(pool);
      const losses = await pool.gradients(params, batch);
      expect(losses).toHaveLength(batch.length);
      expect(losses.every((l) => Number.isFinite(l.loss) && l.loss > 0)).toBe(true);
      grads.push(trainable.tensors.map((t) => Float64Array.from(t.grad!)));
    }
    expect(grads[1]).toEqual(grads[0]);
    expect(grads[2]).toEqual(grads[0]);

    // the reference: per-example gradients summed left to right
    const params = initParams(config, { seed: 3, std: 0.3 });
    const trainable = trainableParams(config, params);
    const total = trainable.tensors.reduce((s, t) => s + t.size, 0);
    const slots = batch.map((ex) => {
      const out = new Float64Array(total);
      exampleGradient(config, params, trainable.tensors, ex, options, 1 / batch.length, out);
      return out;
    });
    let at = 0;
    trainable.tensors.forEach((t, k) => {
      for (let i = 0; i < t.size; i++) {
        let sum = slots[0][at + i];
        for (let e = 1; e < slots.length; e++) sum += slots[e][at + i];
        expect(grads[0][k][i]).toBe(sum);
      }
      at += t.size;
    });
    expect(grads[0].some((g) => g.some((x) => x !== 0))).toBe(true);
  });

  it("with the replay loss too: bit-identical inline and on 2 workers, each example reporting its replay part", async () => {
    const replayOptions = { ...options, replayWeight: 2 };
    const batch = examples().map((ex, e) => ({
      ...ex, replay: { tokens: [1, 4 + e, 6, 8], targets: [4 + e, 6, 8, 10], positions: [0, 1, 2, 3], mask: null },
    }));
    const runs: { grads: Float64Array[]; losses: unknown }[] = [];
    for (const workers of [1, 2]) {
      const params = initParams(config, { seed: 3, std: 0.3 });
      const trainable = trainableParams(config, params);
      const pool = new GradientPool(workers, config, trainable.tensors, batch.length, replayOptions);
      pools.push(pool);
      const losses = await pool.gradients(params, batch);
      expect(losses.every((l) => Object.keys(l.parts).join() === "ar,consistency,replay" && l.parts.replay > 0)).toBe(true);
      runs.push({ grads: trainable.tensors.map((t) => Float64Array.from(t.grad!)), losses });
    }
    expect(runs[1].grads).toEqual(runs[0].grads);
    expect(runs[1].losses).toEqual(runs[0].losses);
  });

  it("refuses a worker count that is not a positive integer, and a batch larger than it was made for", async () => {
    const params = initParams(config, { seed: 3, std: 0.3 });
    const trainable = trainableParams(config, params);
    expect(() => new GradientPool(0, config, trainable.tensors, 2, options)).toThrow(/workers must be a positive integer, got 0/);
    const pool = new GradientPool(1, config, trainable.tensors, 2, options);
    await expect(pool.gradients(params, examples())).rejects.toThrow(/5 examples, but the pool was made for at most 2/);
  });
});
