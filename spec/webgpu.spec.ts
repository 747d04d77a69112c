/**
 * The WebGPU backend against the CPU reference and against itself (`npm run test:webgpu` runs this and `webgpu-weights.spec.ts`).
 *
 * - Logits: on random tiny models (GQA, tied embeddings, q/k/v biases, widths that are and are not
 *   multiples of 4, Qwen3's q/k head norms with a head size other than C / H, Llama 3's and YaRN's RoPE
 *   scaling, Mistral; norm gains random too), GPU logits are within 1e-4 of the CPU's, relative to the
 *   row's largest logit — with a cache, chunked, and with explicit positions and a mask.
 * - Batch invariance on the GPU: T tokens forwarded at once give bit-identical logits to one-token
 *   forwards (both matmul tiles included), so the exactness properties below cannot flake; and any
 *   tile (workgroup size, unrolled loads, per-matrix overrides) gives the same bits as the default.
 * - Decoders on the GPU: Jacobi (both modes) and multi-block with recycling return exactly the GPU's AR
 *   greedy, which equals the GPU's full-recompute oracle.
 * - The cache on the GPU: after `truncate`, it holds bit for bit what a cache that never saw the dropped
 *   tokens holds; `keepRows` likewise.
 * - The folders transformers wrote (spec/fixtures/hf), streamed from their files (BF16 and F16 kept
 *   16-bit on the GPU): the bits of the same folder loaded as Params, within 1e-4 of the CPU, and the
 *   decoders equal the GPU's AR. (`webgpu-weights.spec.ts`: 16-bit weights, split matrices, refusals.)
 * - Unavailability is explained: a runner that cannot start rejects with the reason.
 *
 * Runs wherever Dawn finds an adapter: a GPU, or SwiftShader on the CPU (`.ci/swiftshader.sh`). Without
 * one the specs are skipped, except under CI (CI=true), where a missing adapter is a failure.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/node/checkpoint-folder.ts";
import { forward } from "../src/model/transformer.ts";
import { WebGpuUnavailableError, webgpuRunner, type WebGpuRunner } from "../src/backend/webgpu/runner.ts";
import { DEFAULT_TILES, fitTile, tileFor, type TileChoice } from "../src/backend/webgpu/gpu-model.ts";
import { matmulSource, matmulWorkgroupBytes } from "../src/backend/webgpu/wgsl.ts";
import { answering, type Request } from "../src/backend/webgpu/worker.ts";
import { autoBlockSize, measureCostCurve } from "../src/decoding/block-size.ts";
import { arGreedy, arGreedyReference } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams, namedParams, type Params } from "../src/model/params.ts";
import { Rng } from "../src/tensor/random.ts";
import { cpuRunner, type ModelRunner, type SequenceCache } from "../src/model/runner.ts";
import { expectBitIdentical, expectSameTokens } from "./helpers/models.ts";

// ---------------------------------------------------------------- the models, started once

/**
 * Tiny models covering the code paths: GQA + bias + odd MLP width; MHA + tied; MQA with wider heads;
 * Qwen3's head norms with a head size that is not C / H (q is 24 wide, C 16; and heads of 160, more
 * pairs than the 64 threads the RoPE kernel gives a head); Llama 3's and YaRN's RoPE scaling (a context
 * of 64 from an original 16); Mistral (Llama's network under its own name).
 */
const MODELS: { name: string; config: ModelConfig; seed: number }[] = [
  { name: "GQA 4/2, q/k/v bias, I=7", seed: 11, config: { ...PRESETS.tiny, architecture: "Qwen2ForCausalLM", attentionBias: true, hiddenSize: 16, numHeads: 4, numKeyValueHeads: 2, intermediateSize: 7, numLayers: 2, vocabSize: 64, maxPositions: 64 } },
  { name: "MHA 2/2, tied embeddings, C=8", seed: 12, config: { ...PRESETS.tiny, tieWordEmbeddings: true, hiddenSize: 8, numHeads: 2, numKeyValueHeads: 2, intermediateSize: 24, numLayers: 1, vocabSize: 300, maxPositions: 64 } },
  { name: "MQA 4/1, D=8", seed: 13, config: { ...PRESETS.tiny, hiddenSize: 32, numHeads: 4, numKeyValueHeads: 1, intermediateSize: 20, numLayers: 2, vocabSize: 64, maxPositions: 96 } },
  { name: "Qwen3 4/2, q/k head norms, D=6 with C=16", seed: 15, config: { ...PRESETS.tiny, architecture: "Qwen3ForCausalLM", hiddenSize: 16, numHeads: 4, numKeyValueHeads: 2, headDim: 6, intermediateSize: 12, numLayers: 2, vocabSize: 64, maxPositions: 64 } },
  { name: "Llama 3 RoPE scaling, D=8", seed: 16, config: { ...PRESETS.tiny, hiddenSize: 32, numHeads: 4, numKeyValueHeads: 2, intermediateSize: 16, numLayers: 2, vocabSize: 64, maxPositions: 64,
    ropeScaling: { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 } } },
  { name: "YaRN RoPE scaling, Qwen3, D=160 with C=24", seed: 17, config: { ...PRESETS.tiny, architecture: "Qwen3ForCausalLM", hiddenSize: 24, numHeads: 2, numKeyValueHeads: 1, headDim: 160, intermediateSize: 16, numLayers: 1, vocabSize: 64, maxPositions: 64,
    ropeScaling: { type: "yarn", factor: 4, originalMaxPositions: 16, betaFast: 32, betaSlow: 1, attentionFactor: 1.1386, truncate: true } } },
  { name: "Mistral 4/2", seed: 18, config: { ...PRESETS.tiny, architecture: "MistralForCausalLM", hiddenSize: 16, numHeads: 4, numKeyValueHeads: 2, intermediateSize: 24, numLayers: 2, vocabSize: 64, maxPositions: 64 } },
];

/**
 * `initParams` with every RMSNorm gain drawn in [0.5, 1.5] (float32) instead of 1, so that a gain
 * applied to the wrong values — a key head's gain on a query head, say — changes the logits.
 */
function randomParams(config: ModelConfig, seed: number): Params {
  const params = initParams(config, { seed, std: 0.5 });
  const rng = new Rng(seed + 1000);
  for (const [name, t] of namedParams(config, params)) {
    if (name.endsWith("norm.weight")) t.data.forEach((_, i) => { t.data[i] = Math.fround(0.5 + rng.uniform()); });
  }
  return params;
}

interface Started {
  readonly name: string;
  readonly config: ModelConfig;
  readonly params: Params;
  readonly gpu: WebGpuRunner;
}

let unavailable: string | null = null;
const started: Started[] = [];
for (const m of MODELS) {
  if (unavailable !== null) break;
  const params = randomParams(m.config, m.seed);
  try {
    started.push({ name: m.name, config: m.config, params, gpu: await webgpuRunner(m.config, params) });
  } catch (error) {
    if (!(error instanceof WebGpuUnavailableError)) throw error;
    unavailable = error.message;
  }
}
afterAll(() => started.forEach((s) => s.gpu.close()));

const required = process.env.CI === "true";
if (unavailable !== null && !required) console.warn(`spec/webgpu.spec.ts skipped: ${unavailable}`);

describe("WebGPU is available where it must be", () => {
  it.runIf(required)("under CI a GPU adapter (SwiftShader) was found", () => {
    expect(unavailable, "CI must run the WebGPU specs: .ci/run sets up SwiftShader").toBeNull();
  });
});

describe("tile choice (no GPU needed)", () => {
  it("tileFor: narrow, small and large by rows and columns; a 16-bit matrix streamed at T = 1 doubles U, as an override does; T > 1 keeps it", () => {
    const tiles = { ...DEFAULT_TILES, matrices: { lmHead: { small: { TM: 1, TN: 4, GM: 1, GN: 4, U: 3 } } } };
    expect(tileFor(tiles, "qkv", 2560, 1)).toEqual(DEFAULT_TILES.narrow);
    expect(tileFor(tiles, "gu", 10000, 1)).toEqual(DEFAULT_TILES.small);
    expect(tileFor(tiles, "qkv", 2560, 1, "BF16")).toEqual({ ...DEFAULT_TILES.narrow, U: 2 * (DEFAULT_TILES.narrow!.U ?? 1) });
    expect(tileFor(tiles, "gu", 10000, 1, "F16")).toEqual({ ...DEFAULT_TILES.small, U: 2 * (DEFAULT_TILES.small.U ?? 1) });
    expect(tileFor(tiles, "lmHead", 32000, 1, "BF16")).toEqual({ TM: 1, TN: 4, GM: 1, GN: 4, U: 6 });
    expect(tileFor(tiles, "qkv", 2560, 2, "BF16")).toEqual(DEFAULT_TILES.large);
  });
});

describe("the GPU worker's answering rules (no GPU needed)", () => {
  it("a posted request never replies; its failure fails the next answered request once, but never close", async () => {
    const ran: string[] = [];
    const answerFor = answering(async (request) => {
      ran.push(request.op);
      if (request.op === "keepRows" && request.count === 99) throw new Error("boom");
      return { json: request.op };
    });
    const keepRows = (count: number): Request => ({ op: "keepRows", cache: 1, length: 0, from: 1, count });
    expect(await answerFor(keepRows(1))).toBeNull();                          // its handler answered; nobody waits
    expect(await answerFor({ op: "newCache" })).toEqual({ status: 0, json: "newCache", ids: null });
    expect(await answerFor(keepRows(99))).toBeNull();
    expect(await answerFor({ op: "newCache" })).toEqual({ status: 1, json: 'GPU worker: an earlier "keepRows" failed: boom', ids: null });
    expect(await answerFor({ op: "newCache" })).toEqual({ status: 0, json: "newCache", ids: null });   // reported once
    expect(await answerFor(keepRows(99))).toBeNull();
    expect(await answerFor({ op: "close" })).toEqual({ status: 0, json: "close", ids: null });
    expect(ran).toEqual(["keepRows", "newCache", "keepRows", "newCache", "keepRows", "close"]);   // the failed-over request did not run
  });
});

// ---------------------------------------------------------------- helpers

/** Throws unless every row of `gpu` is within `tolerance` of `cpu`, relative to that row's largest |logit|. */
function expectClose(label: string, gpu: Float64Array, cpu: Float64Array, V: number, tolerance: number): void {
  expect(gpu.length, `${label}: lengths`).toBe(cpu.length);
  for (let row = 0; row < cpu.length / V; row++) {
    let scale = 0, worst = 0, at = 0;
    for (let v = 0; v < V; v++) {
      scale = Math.max(scale, Math.abs(cpu[row * V + v]));
      const d = Math.abs(gpu[row * V + v] - cpu[row * V + v]);
      if (d > worst) { worst = d; at = v; }
    }
    if (worst > tolerance * scale) {
      throw new Error(`${label}: row ${row}, logit ${at}: GPU ${gpu[row * V + at]} vs CPU ${cpu[row * V + at]}, ` +
        `difference ${worst.toExponential(2)} > ${tolerance} x the row's largest |logit| ${scale.toFixed(4)}`);
    }
  }
}

const tokensArb = (config: ModelConfig, min: number, max: number): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 0, max: config.vocabSize - 1 }), { minLength: min, maxLength: max });

// ---------------------------------------------------------------- the specs

describe.skipIf(unavailable !== null)("WebGPU backend", () => {
  describe("logits: within 1e-4 of the CPU reference", () => {
    for (const s of started) {
      it(`${s.name}: whole, chunked through the cache, and with explicit positions and a mask`, () => {
        const cpu = cpuRunner(s.config, s.params);
        const V = s.config.vocabSize;
        fc.assert(fc.property(tokensArb(s.config, 1, 24), fc.integer({ min: 1, max: 23 }), (tokens, cut) => {
          expectClose("whole", s.gpu.forward(tokens).logits().data, cpu.forward(tokens).logits().data, V, 1e-4);
          const c = Math.min(cut, tokens.length);
          const gpuCache = s.gpu.newCache();
          const cpuCache = cpu.newCache();
          for (const part of [tokens.slice(0, c), tokens.slice(c)].filter((p) => p.length > 0)) {
            expectClose(`chunk after ${gpuCache.length}`, s.gpu.forward(part, { cache: gpuCache }).logits().data, cpu.forward(part, { cache: cpuCache }).logits().data, V, 1e-4);
          }
          // two rows sharing positions, each seeing the cached prefix and itself only (multi-block's layout)
          const P = gpuCache.length;
          const rows = [tokens.slice(0, 2), tokens.slice(-2)];
          const flat = rows.flat();
          const L = P + flat.length;
          const mask = new Uint8Array(flat.length * L);
          const positions: number[] = [];
          let t = 0;
          rows.forEach((r, ri) => r.forEach((_, i) => {
            positions.push(P + i);
            mask.fill(1, t * L, t * L + P);
            mask.fill(1, t * L + P + ri * rows[0].length, t * L + P + t + 1);
            t++;
          }));
          if (L <= s.config.maxPositions) {
            expectClose("masked rows", s.gpu.forward(flat, { cache: gpuCache, positions, mask }).logits().data,
              cpu.forward(flat, { cache: cpuCache, positions, mask }).logits().data, V, 1e-4);
          }
        }), { numRuns: 8, seed: 3 });
      });
    }
  });

  it("attention over 150 cached keys (more keys than the 128 threads of a workgroup; head sizes 8, 6 and 256: vec4 loads, scalar loads, more outputs than threads): within 1e-4 of the CPU, batch-invariant, masked rows too; a row that sees no key is refused", async () => {
    for (const [C, H] of [[16, 2], [12, 2], [512, 2]]) {
      const config: ModelConfig = { ...PRESETS.tiny, hiddenSize: C, numHeads: H, numKeyValueHeads: 1, intermediateSize: 12, numLayers: 1, vocabSize: 40, maxPositions: 160 };
      const params = initParams(config, { seed: 5, std: 0.5 });
      const V = config.vocabSize;
      const gpu = await webgpuRunner(config, params);
      const cpu = cpuRunner(config, params);
      try {
        const tokens = Array.from({ length: 150 }, (_, i) => (i * 7 + 1) % V);
        const gpuCache = gpu.newCache();
        const cpuCache = cpu.newCache();
        gpu.forward(tokens.slice(0, 140), { cache: gpuCache });
        cpu.forward(tokens.slice(0, 140), { cache: cpuCache });
        const label = `D = ${C / H}`;
        const together = gpu.forward(tokens.slice(140), { cache: gpuCache }).logits().data.slice();     // rows seeing 141..150 keys
        expectClose(`${label}: 10 rows after 140 cached`, together, cpu.forward(tokens.slice(140), { cache: cpuCache }).logits().data, V, 1e-4);
        gpuCache.truncate(140);
        tokens.slice(140).forEach((t, i) => {
          expectBitIdentical(`${label}: row ${i} alone`, gpu.forward([t], { cache: gpuCache }).logits().data, together.subarray(i * V, (i + 1) * V), V);
        });
        // two rows at the same position over 150 cached keys: one sees every even key, the other every key
        const L = 152;
        const mask = new Uint8Array(2 * L);
        for (let j = 0; j < 150; j++) { mask[j] = j % 2 === 0 ? 1 : 0; mask[L + j] = 1; }
        mask[150] = 1;
        mask[L + 151] = 1;
        const masked = { positions: [150, 150], mask };
        expectClose(`${label}: masked rows`, gpu.forward([3, 4], { cache: gpuCache, ...masked }).logits().data, cpu.forward([3, 4], { cache: cpuCache, ...masked }).logits().data, V, 1e-4);
        // a row that sees no key is refused on both backends, and the caches keep their length
        gpuCache.truncate(150);
        cpuCache.truncate(150);
        const blind = { positions: [150, 150], mask: mask.map((v, b) => (b >= L ? 0 : v)) };
        expect(() => gpu.forward([3, 4], { cache: gpuCache, ...blind })).toThrow(/query row 1 may attend to no key/);
        expect(() => cpu.forward([3, 4], { cache: cpuCache, ...blind })).toThrow(/query row 1 may attend to no key/);
        expect(gpuCache.length).toBe(150);
      } finally {
        gpu.close();
      }
    }
  });

  describe("batch invariance on the GPU", () => {
    for (const s of started) {
      it(`${s.name}: T tokens at once give the logits of T one-token forwards, bit for bit`, () => {
        fc.assert(fc.property(tokensArb(s.config, 2, 20), (tokens) => {
          const together = s.gpu.forward(tokens, { cache: s.gpu.newCache() }).logits().data;
          const cache = s.gpu.newCache();
          const V = s.config.vocabSize;
          tokens.forEach((t, i) => {
            expectBitIdentical(`row ${i} of ${tokens.length}`, s.gpu.forward([t], { cache }).logits().data, together.subarray(i * V, (i + 1) * V), V);
          });
        }), { numRuns: 6, seed: 4 });
      });
    }
  });

  describe("every matmul tile gives the same bits", () => {
    // Wide enough (K = 576, 144 quads) that lanes with U = 2, 3 and 4 (the default tiles) run both the
    // unrolled loop and the tail; the MLP width 30 is not a multiple of 4 (the scalar path).
    const config: ModelConfig = { ...PRESETS.tiny, hiddenSize: 576, numHeads: 4, numKeyValueHeads: 2, intermediateSize: 30, numLayers: 1, vocabSize: 64, maxPositions: 32 };
    const odd: TileChoice = {
      small: { TM: 1, TN: 3, GM: 1, GN: 2, U: 2 },
      large: { TM: 3, TN: 2, GM: 2, GN: 1, U: 3 },
      smallRows: 2,
      matrices: { down: { small: { TM: 1, TN: 1, GM: 1, GN: 1 } }, lmHead: { large: { TM: 4, TN: 4, GM: 2, GN: 4, U: 2 } } },
    };
    it("default tiles and odd ones (other workgroup sizes, unrolled loads, per-matrix overrides): identical logits at T = 1, 2 and 7", async () => {
      const params = initParams(config, { seed: 14, std: 0.5 });
      const runners = [await webgpuRunner(config, params), await webgpuRunner(config, params, { tiles: odd })];
      try {
        const [a, b] = runners.map((r) => {
          const cache = r.newCache();
          return [[5], [9, 33], [1, 2, 3, 60, 61, 62, 63]].map((tokens) => r.forward(tokens, { cache }).logits().data);
        });
        a.forEach((logits, i) => expectBitIdentical(`forward ${i}`, b[i], logits, config.vocabSize));
      } finally {
        runners.forEach((r) => r.close());
      }
    });
    it("fitTile shrinks a tile to the workgroup memory it is given, and leaves one that fits alone", () => {
      const big = { TM: 4, TN: 4, GM: 2, GN: 4, U: 2 };
      for (const limit of [1 << 15, 16384, 8192, 4096, 132]) {
        const fitted = fitTile(big, limit);
        expect(matmulWorkgroupBytes(fitted), `limit ${limit}`).toBeLessThanOrEqual(limit);
        expect(fitted.U).toBe(2);
      }
      expect(fitTile(big, 1 << 15)).toEqual(big);
    });
    it("a tile with more than 8 groups of 32 lanes is refused", () => {
      expect(() => matmulSource({ K: 8, N: 8, bias: false, residual: false }, { TM: 1, TN: 1, GM: 4, GN: 4 })).toThrow(/GM \* GN ≤ 8/);
    });
  });

  describe("decoders on the GPU return exactly the GPU's AR greedy", () => {
    for (const s of started) {
      it(`${s.name}: Jacobi (block, window) and multi-block with recycling`, () => {
        const { config, params, gpu: runner } = s;
        fc.assert(fc.property(
          tokensArb(config, 1, 6), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 4, max: 24 }), fc.constantFrom("context", "repeat-last", "vocab") as fc.Arbitrary<"context" | "repeat-last" | "vocab">,
          (prompt, blockSize, maxNewTokens, init) => {
            const stop = { maxNewTokens, eosTokenId: null, runner };
            const ar = arGreedy(config, params, prompt, stop).tokens;
            const label = `prompt [${prompt.join(", ")}], n=${blockSize}, init ${init}`;
            expectSameTokens(`${label}: GPU arGreedy vs the GPU full recompute`, ar, arGreedyReference(config, params, prompt, stop).tokens);
            expectSameTokens(`${label}: jacobi block`, jacobi(config, params, prompt, { ...stop, blockSize, init }).tokens, ar);
            expectSameTokens(`${label}: jacobi window`, jacobi(config, params, prompt, { ...stop, blockSize, init, mode: "window" }).tokens, ar);
            expectSameTokens(`${label}: multi-block`, multiBlock(config, params, prompt, { ...stop, blockSize, init, maxBlocks: 2, spawnRatio: 0.5, poolSize: 4 }).tokens, ar);
          }), { numRuns: 4, seed: 5 });
      });
    }
  });

  describe("folders transformers wrote (spec/fixtures/hf), streamed (16-bit stays 16-bit): the bits of the folder loaded as Params, within 1e-4 of the CPU, and the decoders equal the GPU's AR", () => {
    const root = join(import.meta.dirname, "fixtures", "hf");
    for (const name of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      it(name, async () => {
        const dir = join(root, name);
        const { config, params } = loadCheckpoint(dir);
        const prompt = (JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as { prompts: { ids: number[] }[] }).prompts[0].ids;
        const runner = await webgpuRunner(config, { kind: "folder", dir });
        const loaded = await webgpuRunner(config, params);
        try {
          const cpu = forward(config, params, prompt);
          const gpu = runner.forward(prompt, { cache: runner.newCache() }).logits();
          expectBitIdentical("streamed vs loaded as Params", gpu.data, loaded.forward(prompt, { cache: loaded.newCache() }).logits().data, config.vocabSize);
          const largest = Math.max(...Array.from(cpu.data, Math.abs));
          expect(Math.max(...Array.from(cpu.data, (v, i) => Math.abs(v - gpu.data[i]))) / largest, "logits").toBeLessThan(1e-4);
          const stop = { maxNewTokens: 12, eosTokenId: null, runner };                  // SwiftShader is slow: a short decode
          const ar = arGreedy(config, params, prompt, stop).tokens;
          expectSameTokens("jacobi", jacobi(config, params, prompt, { ...stop, blockSize: 8 }).tokens, ar);
          expectSameTokens("multi-block", multiBlock(config, params, prompt, { ...stop, blockSize: 8, maxBlocks: 2 }).tokens, ar);
        } finally {
          runner.close();
          loaded.close();
        }
      });
    }
  });

  it("a forward encoded ahead, for as many rows or more, gives the bits of one encoded on the spot", () => {
    const { gpu } = started[1];
    const prefix = [1, 2, 3, 4];
    const a = gpu.newCache();
    const b = gpu.newCache();
    gpu.forward(prefix, { cache: a });
    gpu.forward(prefix, { cache: b });
    const step = (tokens: number[], cache = a) => {
      const result = gpu.forward(tokens, { cache });
      const row = { logits: result.logits().data.slice(), ids: result.argmax(), prepared: gpu.lastTiming().prepared };
      cache.truncate(prefix.length);
      return row;
    };
    const spot = step([5, 6, 7]);                                      // the last forward was on another cache: encoded now
    const ahead = step([5, 6, 7]);                                     // encoded ahead, while the GPU ran the one before
    expect([spot.prepared, ahead.prepared]).toEqual([false, true]);
    expectBitIdentical("logits encoded ahead vs on the spot", ahead.logits, spot.logits);
    expect(ahead.ids).toEqual(spot.ids);
    // references encoded on the spot (the last forward was on the other cache): 1 token, and 17
    const many = Array.from({ length: 17 }, (_, i) => 1 + (i % 9));
    const one = step([5], b);
    gpu.forward([1], { cache: a });
    a.truncate(prefix.length);
    const manyOnTheSpot = step(many, b);
    expect([one.prepared, manyOnTheSpot.prepared]).toEqual([false, false]);
    // after a forward of 13 tokens the next is encoded for at least 16 rows (the largest T of the last
    // four, rounded up): 3 tokens, then 1 token (the large matmul tile, where T = 1 alone gets the small
    // one), in such a grid: the same bits
    const thirteen = [9, 8, 7, 6, 5, 4, 3, 2, 1, 9, 8, 7, 6];
    step(thirteen);
    const wide = step([5, 6, 7]);
    expect(wide.prepared).toBe(true);
    expectBitIdentical("logits of 3 tokens in a grid for 16 rows or more", wide.logits, spot.logits);
    step(thirteen);
    const wideOne = step([5]);
    expect(wideOne.prepared).toBe(true);
    expectBitIdentical("logits of 1 token in a grid for 16 rows or more", wideOne.logits, one.logits);
    // more tokens than the commands were encoded for (16 rows, after 13, 1, 13 and 3): on the spot, the same bits
    step(thirteen);
    const manyAgain = step(many);
    expect(manyAgain.prepared).toBe(false);
    expectBitIdentical("logits of 17 tokens after commands for 16 rows", manyAgain.logits, manyOnTheSpot.logits);
    const elsewhere = step([5, 6, 7], b);
    expect(elsewhere.prepared).toBe(false);
    expectBitIdentical("logits on another cache with the same rows", elsewhere.logits, spot.logits);
  });

  it("a decode's prompt does not set the rows its next step is encoded for; newCache's firstStep does, else the last decode's steps", () => {
    const { gpu } = started[1];
    const prompt = Array.from({ length: 13 }, (_, i) => 1 + (i % 9));
    // a decode: the prompt on a new cache, then `steps`; each step's [prepared, rows its grids covered]
    const decode = (steps: number[][], firstStep?: number) => {
      const cache = gpu.newCache({ firstStep });
      gpu.forward(prompt, { cache });
      const seen = steps.map((tokens) => {
        gpu.forward(tokens, { cache });
        const { prepared, rows } = gpu.lastTiming();
        return [prepared, rows];
      });
      cache.release?.();
      return seen;
    };
    decode([[5], [6], [7]]);                                           // one-token steps (AR)
    expect(decode([[5], [6]])).toEqual([[true, 1], [true, 1]]);       // not 16, the 13-token prompt rounded up
    expect(decode([[5, 6, 7], [5, 6, 7]])).toEqual([[false, 3], [true, 4]]);  // 3-token steps: the first one on the spot
    expect(decode([[5, 6, 7], [1, 2]])).toEqual([[true, 4], [true, 4]]);       // the next decode's first step guessed
    decode([[5], [6], [7]]);
    expect(decode([[5, 6, 7], [5, 6, 7]], 3)).toEqual([[true, 4], [true, 4]]);     // told: no step on the spot after AR's
    expect(decode([[5], [6]], 1)).toEqual([[true, 1], [true, 1]]);                  // told 1 after 3-token steps: no wider grid
    expect(() => gpu.newCache({ firstStep: 0 })).toThrow(/newCache: firstStep must be a positive whole number of tokens, got 0/);
    expect(() => gpu.newCache({ firstStep: 2.5 })).toThrow(/got 2\.5/);
  });

  it("the decoders tell newCache their first step: Jacobi's first window after an AR decode, and AR's first token after a Jacobi decode, run on commands encoded for them", () => {
    const { config, params, gpu } = started[1];
    const stop = { maxNewTokens: 12, eosTokenId: null, runner: gpu };
    const prompt = [3, 1, 4, 1, 5, 9, 2, 6];
    arGreedy(config, params, prompt, stop);                                // AR's steps: one token each
    const first: [boolean, number][] = [];
    jacobi(config, params, prompt, { ...stop, blockSize: 6, onIteration: () => { const t = gpu.lastTiming(); first.push([t.prepared, t.rows]); } });
    expect(first[0]).toEqual([true, 8]);                                    // 6 tokens, on commands for 8 rows
    // after the Jacobi decode, AR's first step runs on a 1-row grid: the last forward AR makes is a step,
    // and a forward of 1 token on commands for 8 rows would report rows 8
    const tokens = arGreedy(config, params, prompt, { ...stop, maxNewTokens: 2 }).tokens;
    expect(tokens).toHaveLength(2);
    expect(gpu.lastTiming()).toMatchObject({ prepared: true, rows: 1 });
  });

  it("released caches are reused (at most cachePool idle), with the bits of new buffers and the commands encoded ahead for them", async () => {
    const { config, params, gpu } = started[1];
    await expect(webgpuRunner(config, params, { cachePool: -1 })).rejects.toThrow(/cachePool must be a whole number of caches \(0 or more\), got -1/);
    const unpooled = await webgpuRunner(config, params, { cachePool: 0 });
    try {
      const prompt = [5, 9, 2, 7, 1, 3];
      const other = Array.from({ length: 40 }, (_, i) => (7 * i + 3) % config.vocabSize);
      const step = Array.from({ length: 8 }, (_, i) => 1 + i);
      // reference: new buffers, on a runner that keeps none
      const fresh = unpooled.newCache();
      const reference = [unpooled.forward(prompt, { cache: fresh }).logits().data.slice(), unpooled.forward([4], { cache: fresh }).logits().data.slice()];
      fresh.release?.();
      // a cache that held 40 other rows and then 8-token steps, released: the next cache gets its buffers,
      // and its prompt (6 tokens) runs on the commands encoded ahead for them (8 rows)
      const a = gpu.newCache();
      gpu.forward(other, { cache: a });
      gpu.forward(step, { cache: a });
      gpu.forward(step, { cache: a });
      a.release?.();
      const { reused } = gpu.cacheStats();
      const b = gpu.newCache();
      expect(gpu.cacheStats().reused).toBe(reused + 1);
      const got = [gpu.forward(prompt, { cache: b }).logits().data.slice()];
      expect(gpu.lastTiming()).toMatchObject({ prepared: true, rows: 8 });
      got.push(gpu.forward([4], { cache: b }).logits().data.slice());
      b.release?.();
      expectBitIdentical("prompt logits on reused buffers vs new ones", got[0], reference[0]);
      expectBitIdentical("next-step logits on reused buffers vs new ones", got[1], reference[1]);
      unpooled.newCache().release?.();                                  // made after a release: still new buffers
      expect(unpooled.cacheStats()).toEqual({ made: 2, reused: 0 });
      // three released, three made: two reused (the pool keeps two), one new
      const three = [gpu.newCache(), gpu.newCache(), gpu.newCache()];
      three.forEach((c) => c.release?.());
      const before = gpu.cacheStats();
      const again = [gpu.newCache(), gpu.newCache(), gpu.newCache()];
      expect(gpu.cacheStats()).toEqual({ made: before.made + 3, reused: before.reused + 2 });
      again.forEach((c) => c.release?.());
    } finally {
      unpooled.close();
    }
  });

  it("a released GPU cache refuses use, and the decoders release theirs", () => {
    const { config, params, gpu } = started[0];
    const cache = gpu.newCache();
    gpu.forward([1, 2], { cache });
    cache.release?.();
    cache.release?.();                                                 // a second call does nothing
    expect(() => gpu.forward([3], { cache })).toThrow(/webgpuRunner\.forward: the cache was released/);
    expect(() => cache.truncate(0)).toThrow(/GpuSequenceCache\.truncate: the cache was released/);
    const made: SequenceCache[] = [];
    const runner: ModelRunner = { ...gpu, newCache: () => { const c = gpu.newCache(); made.push(c); return c; } };
    const stop = { maxNewTokens: 5, eosTokenId: null, runner };
    const ar = arGreedy(config, params, [1, 5], stop).tokens;
    expect(jacobi(config, params, [1, 5], { ...stop, blockSize: 3 }).tokens).toEqual(ar);
    expect(made).toHaveLength(2);
    for (const c of made) expect(() => c.read(0)).toThrow(/the cache was released/);
  });

  describe("the KV cache in GPU buffers", () => {
    it("truncate equals never having forwarded the dropped tokens, bit for bit (keys, values, next logits)", () => {
      const { config, gpu } = started[0];
      fc.assert(fc.property(tokensArb(config, 1, 10), tokensArb(config, 1, 10), tokensArb(config, 1, 5), (kept, dropped, next) => {
        const rolled = gpu.newCache();
        gpu.forward(kept, { cache: rolled });
        gpu.forward(dropped, { cache: rolled });
        rolled.truncate(kept.length);
        const fresh = gpu.newCache();
        gpu.forward(kept, { cache: fresh });
        for (let l = 0; l < config.numLayers; l++) {
          expectBitIdentical(`keys of layer ${l}`, rolled.read(l).keys, fresh.read(l).keys);
          expectBitIdentical(`values of layer ${l}`, rolled.read(l).values, fresh.read(l).values);
        }
        expectBitIdentical("logits after the rollback", gpu.forward(next, { cache: rolled }).logits().data, gpu.forward(next, { cache: fresh }).logits().data);
      }), { numRuns: 5, seed: 6 });
    });

    it("keepRows equals forwarding only the kept rows", () => {
      const { config, gpu } = started[2];
      const prefix = [1, 5, 9];
      const [a, b] = [[7, 8, 9], [10, 11, 12]];
      const cache = gpu.newCache();
      gpu.forward(prefix, { cache });
      gpu.forward(a, { cache });
      // b forwarded at a's positions, as a second candidate row would be: keep it, drop a
      const P = prefix.length;
      const L = P + a.length + b.length;
      cache.truncate(P);
      const mask = new Uint8Array((a.length + b.length) * L);
      for (let t = 0; t < a.length + b.length; t++) {
        const start = t < a.length ? 0 : a.length;
        mask.fill(1, t * L, t * L + P);
        mask.fill(1, t * L + P + start, t * L + P + t + 1);
      }
      gpu.forward([...a, ...b], { cache, positions: [P, P + 1, P + 2, P, P + 1, P + 2], mask });
      cache.keepRows(P, P + a.length, b.length);
      const fresh = gpu.newCache();
      gpu.forward([...prefix, ...b], { cache: fresh });
      for (let l = 0; l < config.numLayers; l++) {
        expectBitIdentical(`keys of layer ${l}`, cache.read(l).keys, fresh.read(l).keys);
        expectBitIdentical(`values of layer ${l}`, cache.read(l).values, fresh.read(l).values);
      }
    });
  });

  it("the CLI: generate --backend webgpu --method jacobi prints the GPU's AR greedy tokens", async () => {
    const { config, params, gpu: runner } = started[2];
    const dir = mkdtempSync(join(tmpdir(), "jf-webgpu-"));
    try {
      saveCheckpoint(dir, { config, params, tokenizer: null }, { dtype: "F64" });
      let out = "";
      const code = await main(["generate", "--model", dir, "--prompt-ids", "1,5,9", "--max-new-tokens", "12", "--ignore-eos", "--method", "jacobi", "--block-size", "4", "--backend", "webgpu", "--json"],
        { out: (t) => { out += t; }, err: () => {}, isTTY: false });
      expect(code).toBe(0);
      expect(JSON.parse(out).tokens).toEqual(arGreedy(config, params, [1, 5, 9], { maxNewTokens: 12, eosTokenId: null, runner }).tokens);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--block-size auto calibrates on the GPU and the CLI still prints the GPU's AR greedy tokens", async () => {
    const { config, params, gpu } = started[2];
    let gpuForwards = 0;
    const runner: ModelRunner = { ...gpu, forward: (tokens, options) => { gpuForwards++; return gpu.forward(tokens, options); } };
    const stop = { maxNewTokens: 8, eosTokenId: null };
    const curve = { points: measureCostCurve(config, params, [1, 2, 4], { reps: 2, runner }), source: "measured here" };
    const choice = autoBlockSize(config, params, [[1, 5, 9]], { stop, blockSizes: [1, 2, 4], runner, curve });
    expect(gpuForwards).toBeGreaterThan(16);                     // the curve's 16 forwards, then the calibration decodes
    expect(jacobi(config, params, [1, 5, 9], { ...stop, blockSize: choice.blockSize, runner: gpu }).tokens)
      .toEqual(arGreedy(config, params, [1, 5, 9], { ...stop, runner: gpu }).tokens);
    // The CLI on an 8-position context (auto's candidates stop at n = 4): the same weights, and the same
    // GPU arithmetic for the first 8 positions, so the same tokens as the GPU's AR greedy.
    const dir = mkdtempSync(join(tmpdir(), "jf-webgpu-"));
    const cacheHome = process.env.XDG_CACHE_HOME;
    try {
      saveCheckpoint(dir, { config: { ...config, maxPositions: 8 }, params, tokenizer: null }, { dtype: "F64" });
      let out = "", err = "";
      process.env.XDG_CACHE_HOME = dir;                           // the GPU's cost curve is measured and stored there, not in the user's cache
      const code = await main(["generate", "--model", dir, "--prompt-ids", "1,5,9", "--max-new-tokens", "4", "--ignore-eos", "--method", "jacobi", "--block-size", "auto", "--backend", "webgpu", "--json"],
        { out: (t) => { out += t; }, err: (t) => { err += t; }, isTTY: false });
      expect(code).toBe(0);
      expect(err).toMatch(/^block size auto: n = \d+/m);
      expect(JSON.parse(out).tokens).toEqual(arGreedy(config, params, [1, 5, 9], { ...stop, maxNewTokens: 4, runner: gpu }).tokens);
    } finally {
      if (cacheHome === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = cacheHome;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a model the device cannot hold is refused with the reason", async () => {
    const config = { ...PRESETS.tiny, maxPositions: 1 << 20 };
    await expect(webgpuRunner(config, initParams({ ...config, maxPositions: 16 }, { seed: 1 }))).rejects.toThrow(
      /webgpu backend unavailable because GpuModel\.create: attention keeps 1048576 scores in workgroup memory .*; give the runner a smaller maxPositions/,
    );
  });
});
