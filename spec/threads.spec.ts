/**
 * Kernel threads: a `linear` whose weight lives in a pool's shared arena is split over two threads and
 * must give exactly the bits of one thread — for single products of many shapes (rows past one job's
 * chunk included) and for whole forwards, so that every decoder stays exactly equal to AR.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { KVCache } from "../src/model/cache.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams, namedParams, paramsFromNamed, type Params } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { linear } from "../src/tensor/ops.ts";
import { Rng } from "../src/tensor/random.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { KernelThreads } from "../src/tensor/threads.ts";
import { expectBitIdentical } from "./helpers/models.ts";

const config: ModelConfig = { ...PRESETS.tiny, hiddenSize: 64, intermediateSize: 160, numHeads: 4, numKeyValueHeads: 2 };
const params = initParams(config, { seed: 11, std: 0.3 });
const rng = new Rng("threads-spec");
const weights = [40, 64, 100].map((N) => Tensor.from(Array.from({ length: N * 72 }, () => rng.normal()), [N, 72]));
let pool: KernelThreads;
let shared: Params;
let sharedWeights: readonly Tensor[];

beforeAll(async () => {
  const named = namedParams(config, params);
  pool = await KernelThreads.start(2, [...named.map(([, t]) => t), ...weights]);
  const byName = new Map(named.map(([name], i) => [name, pool.tensors[i]]));
  shared = paramsFromNamed(config, (name) => byName.get(name) as Tensor);
  sharedWeights = pool.tensors.slice(named.length);
});
afterAll(async () => { await pool.close(); });

describe("KernelThreads", () => {
  it("linear on 2 threads equals linear on 1 thread bit for bit (M 1..300, N 40, 64, 100)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 2 }), (M, which) => {
      const x = Tensor.from(Array.from({ length: M * 72 }, () => rng.normal()), [M, 72]);
      const one = linear(x, weights[which]);
      const two = linear(x, sharedWeights[which]);
      expectBitIdentical(`linear [${M}, 72] x [${weights[which].shape[0]}, 72]^T, 2 threads vs 1`, two.data, one.data, weights[which].shape[0]);
    }), { numRuns: 40 });
  });

  it("a forward on 2 threads gives the logits of 1 thread bit for bit, with and without a cache", () => {
    const tokens = Array.from({ length: 24 }, () => 3 + rng.int(config.vocabSize - 3));
    expectBitIdentical("uncached forward, 2 threads vs 1", forward(config, shared, tokens).data, forward(config, params, tokens).data, config.vocabSize);
    const one = new KVCache(config), two = new KVCache(config);
    for (const chunk of [tokens.slice(0, 10), tokens.slice(10, 11), tokens.slice(11)]) {
      expectBitIdentical(`cached forward of ${chunk.length}, 2 threads vs 1`,
        forward(config, shared, chunk, { cache: two }).data, forward(config, params, chunk, { cache: one }).data, config.vocabSize);
    }
  });
});
