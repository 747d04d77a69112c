/**
 * Kernel threads: a `linear` given a pool and a weight in its shared arena is split over two threads,
 * attention over (row, head) pairs, SiLU over elements; all must give exactly the bits of one thread —
 * for single products and attention calls of many shapes (rows past one job's chunk, causal and explicit
 * masks) and for whole forwards and a CPU runner given the pool, so that every decoder stays exactly
 * equal to AR.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KVCache } from "../src/model/cache.ts";
import { headDim, PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams, namedParams, paramsFromNamed, type Params } from "../src/model/params.ts";
import { startKernelWorker } from "../src/node/kernel-threads.ts";
import { cpuRunner } from "../src/model/runner.ts";
import { forward } from "../src/model/transformer.ts";
import { linear, silu } from "../src/tensor/ops.ts";
import { Rng } from "../src/tensor/random.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { attentionKernel, attentionReference, type Visibility } from "../src/tensor/kernels.ts";
import { attentionShared, KernelThreads } from "../src/tensor/threads.ts";
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
  pool = await KernelThreads.start(2, [...named.map(([, t]) => t), ...weights], startKernelWorker, {
    attention: { numHeads: config.numHeads, numKeyValueHeads: config.numKeyValueHeads, headDim: headDim(config), maxKeys: config.maxPositions },
  });
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
      const two = linear(x, sharedWeights[which], undefined, pool);
      expectBitIdentical(`linear [${M}, 72] x [${weights[which].shape[0]}, 72]^T, 2 threads vs 1`, two.data, one.data, weights[which].shape[0]);
    }), { numRuns: 40 });
  });

  it("attention on 2 threads equals attention on 1 thread bit for bit (M 1..300, causal after a cache, or an explicit mask)", () => {
    const H = config.numHeads, Hkv = config.numKeyValueHeads, D = headDim(config);
    const shape = { numHeads: H, numKeyValueHeads: Hkv, headDim: D };
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 40 }), fc.boolean(), (M, P, explicit) => {
      const L = Math.min(P + M, config.maxPositions);
      const rows = L - P;
      if (rows < 1) return;
      const normal = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
      const q = normal(rows * H * D), k = normal(L * Hkv * D), v = normal(L * Hkv * D);
      let visibility: Visibility = { kind: "causal", offset: P };
      if (explicit) {
        const visible = Uint8Array.from({ length: rows * L }, () => (rng.uniform() < 0.5 ? 1 : 0));
        for (let i = 0; i < rows; i++) visible[i * L + rng.int(L)] = 1;        // every row sees at least one key
        visibility = { kind: "explicit", visible };
      }
      const one = { out: new Float64Array(rows * H * D), probs: new Float64Array(rows * H * L) };
      const two = { out: new Float64Array(rows * H * D), probs: new Float64Array(rows * H * L) };
      attentionKernel(one.out, one.probs, q, k, v, rows, L, shape, visibility);
      expect(pool.runsAttention(shape, L)).toBe(true);
      pool.attention(two.out, two.probs, q, k, v, rows, L, visibility);
      expectBitIdentical(`attention out, ${rows} rows over ${L} keys, ${visibility.kind}`, two.out, one.out, H * D);
      expectBitIdentical(`attention probs, ${rows} rows over ${L} keys, ${visibility.kind}`, two.probs, one.probs, L);
      const reference = { out: new Float64Array(rows * H * D), probs: new Float64Array(rows * H * L) };
      attentionReference(reference.out, reference.probs, q, k, v, rows, L, shape, visibility);
      expectBitIdentical(`attention out on 2 threads vs attentionReference, ${rows} rows over ${L} keys, ${visibility.kind}`, two.out, reference.out, H * D);
      expectBitIdentical(`attention probs on 2 threads vs attentionReference, ${rows} rows over ${L} keys, ${visibility.kind}`, two.probs, reference.probs, L);
      const three = new Float64Array(rows * H * D);
      attentionShared(three, new Float64Array(rows * H * L), q, k, v, rows, L, shape, visibility, pool);
      expectBitIdentical("attentionShared", three, one.out, H * D);
    }), { numRuns: 40 });
  });

  it("SiLU on 2 threads equals SiLU on 1 thread bit for bit (sizes past one chunk included)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 30_000 }), (size) => {
      const x = Tensor.from(Array.from({ length: size }, () => 4 * rng.normal()), [size]);
      expectBitIdentical(`silu of ${size}, 2 threads vs 1`, silu(x, pool).data, silu(x).data);
    }), { numRuns: 20 });
  });

  it("a forward on 2 threads gives the logits of 1 thread bit for bit, with and without a cache", () => {
    const tokens = Array.from({ length: 24 }, () => 3 + rng.int(config.vocabSize - 3));
    expectBitIdentical("uncached forward, 2 threads vs 1", forward(config, shared, tokens, { threads: pool }).data, forward(config, params, tokens).data, config.vocabSize);
    const one = new KVCache(config), two = new KVCache(config);
    for (const chunk of [tokens.slice(0, 10), tokens.slice(10, 11), tokens.slice(11)]) {
      expectBitIdentical(`cached forward of ${chunk.length}, 2 threads vs 1`,
        forward(config, shared, chunk, { cache: two, threads: pool }).data, forward(config, params, chunk, { cache: one }).data, config.vocabSize);
    }
    // two drafts of 4 sharing positions after the cache, each seeing the cache and its own prefix (multi-block's layout)
    const P = one.length, T = 8, L = P + T;
    const mask = new Uint8Array(T * L);
    for (let i = 0; i < T; i++) {
      mask.fill(1, i * L, i * L + P);
      mask.fill(1, i * L + P + (i < 4 ? 0 : 4), i * L + P + i + 1);
    }
    const positions = Array.from({ length: T }, (_, i) => P + (i % 4));
    const drafts = tokens.slice(0, T);
    expectBitIdentical("masked forward of two drafts, 2 threads vs 1",
      forward(config, shared, drafts, { cache: two, positions, mask, threads: pool }).data, forward(config, params, drafts, { cache: one, positions, mask }).data, config.vocabSize);
  });

  it("a CPU runner given the pool gives the logits of one thread bit for bit", () => {
    const tokens = Array.from({ length: 20 }, () => 3 + rng.int(config.vocabSize - 3));
    const one = cpuRunner(config, params), two = cpuRunner(config, shared, pool);
    const caches = [one.newCache(), two.newCache()];
    for (const chunk of [tokens.slice(0, 16), tokens.slice(16)]) {
      expectBitIdentical(`runner forward of ${chunk.length}, 2 threads vs 1`,
        two.forward(chunk, { cache: caches[1] }).logits().data, one.forward(chunk, { cache: caches[0] }).logits().data, config.vocabSize);
    }
  });

  it("linear refuses a weight that is not in the pool's shared memory, whatever the size of the product (and forward and the runner pass the pool on)", () => {
    const x = Tensor.from([1, 2], [1, 2]);
    expect(() => linear(x, Tensor.from([1, 0, 1, 1], [2, 2]), undefined, pool)).toThrow(/linear: the weight \[2, 2\] is not in the kernel threads' shared memory/);
    expect(() => forward(config, params, [5, 6], { threads: pool })).toThrow(/linear: the weight \[\d+, \d+\] is not in the kernel threads' shared memory/);
    expect(() => cpuRunner(config, params, pool).forward([5, 6])).toThrow(/linear: the weight \[\d+, \d+\] is not in the kernel threads' shared memory/);
  });
});
