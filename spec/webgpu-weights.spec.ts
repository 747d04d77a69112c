/**
 * The WebGPU backend's weights: 16-bit matrices kept 16-bit on the GPU, matrices split over several
 * buffers, a folder streamed by the worker thread, and what does not fit refused with the reason.
 *
 * - A folder of BF16 (with an F32 key projection, so a fused matrix of mixed dtypes, and F64, F32 and
 *   BF16 gains and biases) and one of F16 (a quarter of its values subnormal; tied embeddings), streamed
 *   to the GPU, give bit for bit the logits of the same weights loaded as Params and uploaded as float32;
 *   they stay batch-invariant, and Jacobi and multi-block equal the GPU's AR — decoded with no Params.
 * - A matrix split by rows over buffers of a few hundred bytes (every matrix, the embedding and the LM
 *   head, tied or not, float32 or 16-bit) gives the bits of the unsplit model.
 * - Refusals: a row longer than a buffer, a context the device cannot hold (named with the option that
 *   fixes it), a maxPositions above the config's; and a folder whose files disagree with its config
 *   gets the CheckpointError `loadCheckpoint` gives.
 * - `generate --backend webgpu` streams the folder too, in the context the call needs: a config naming
 *   2^20 positions decodes to the GPU's AR tokens with AR, Jacobi and multi-block.
 *
 * The transformers-written folders run through the streaming path in `webgpu.spec.ts`. Runs where Dawn
 * finds an adapter (SwiftShader on a CPU-only machine), else skips, except under CI.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { folderConfig, folderTensors } from "../src/backend/webgpu/folder.ts";
import { WEIGHTS_ON_GPU, WebGpuUnavailableError, webgpuRunner, type WebGpuRunner } from "../src/backend/webgpu/runner.ts";
import { main } from "../src/cli/main.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { CheckpointError } from "../src/model/checkpoint.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { writeRandomFolder } from "./helpers/folders.ts";
import { errorOf } from "./helpers/errors.ts";
import { expectBitIdentical, expectSameTokens } from "./helpers/models.ts";

const root = mkdtempSync(join(tmpdir(), "jf-webgpu-weights-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Qwen2 in BF16 but its key projections F32 (wqkv is held as float32) and its gains and biases in four dtypes; MLP width 7 (down's rows: odd K). */
const BF16: ModelConfig = { ...PRESETS.tiny, architecture: "Qwen2ForCausalLM", attentionBias: true, hiddenSize: 16, numHeads: 4, numKeyValueHeads: 2, intermediateSize: 7, numLayers: 2, vocabSize: 50, maxPositions: 48 };
/** Llama in F16 with subnormals, tied embeddings (one 16-bit buffer gathered and multiplied), head size 6, MLP width 10 (down's rows: K not a multiple of 4). */
const F16: ModelConfig = { ...PRESETS.tiny, hiddenSize: 12, numHeads: 2, numKeyValueHeads: 1, intermediateSize: 10, numLayers: 1, vocabSize: 40, maxPositions: 48, tieWordEmbeddings: true };
const folders = { bf16: join(root, "bf16"), f16: join(root, "f16") };
writeRandomFolder(folders.bf16, BF16, 1, "BF16", (name) => name.includes("k_proj.weight") ? "F32" : name === "model.norm.weight" ? "F64"
  : name.includes("input_layernorm") ? "F32" : undefined);
writeRandomFolder(folders.f16, F16, 2, "F16");

let unavailable: string | null = null;
const runners: WebGpuRunner[] = [];
/** A runner, closed after the file. */
async function start(...args: Parameters<typeof webgpuRunner>): Promise<WebGpuRunner> {
  const runner = await webgpuRunner(...args);
  runners.push(runner);
  return runner;
}
const streamed: Record<string, WebGpuRunner> = {};
try {
  for (const [name, dir] of Object.entries(folders)) streamed[name] = await start(folderConfig(dir), { kind: "folder", dir });
} catch (error) {
  if (!(error instanceof WebGpuUnavailableError)) throw error;
  unavailable = error.message;
}
afterAll(() => runners.forEach((r) => r.close()));
const required = process.env.CI === "true";
if (unavailable !== null && !required) console.warn(`spec/webgpu-weights.spec.ts skipped: ${unavailable}`);

/** The logits of a prompt of 9 tokens, then of 3 more through the cache. */
function logits(runner: WebGpuRunner): Float64Array[] {
  const cache = runner.newCache();
  const V = runner.config.vocabSize;
  const out = [[3, 1, 4, 1, 5, 9, 2, 6, 5], [7, 0, V - 1]].map((tokens) => runner.forward(tokens, { cache }).logits().data.slice());
  cache.release?.();
  return out;
}

describe("a folder's files disagreeing with its config get loadCheckpoint's CheckpointError", () => {
  it("a tensor of the wrong shape, and a missing one", () => {
    const dir = join(root, "bad");
    writeRandomFolder(dir, BF16, 3, "BF16");
    const json = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    for (const [change, expected] of [
      [{ intermediate_size: 8 }, /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight": has shape \[7, 16\] but the config implies \[8, 16\]/],
      [{ num_hidden_layers: 3 }, /model\.safetensors: tensor "model\.layers\.2\.input_layernorm\.weight": is missing/],
    ] as const) {
      writeFileSync(join(dir, "config.json"), JSON.stringify({ ...json, ...change }));
      const message = errorOf(CheckpointError, () => folderTensors(dir, folderConfig(dir))).message;
      expect(message).toMatch(expected);
      expect(message).toBe(errorOf(CheckpointError, () => loadCheckpoint(dir)).message);
    }
  });
});

describe.skipIf(unavailable !== null)("16-bit weights, split matrices and folders on the GPU", () => {
  it.runIf(required)("under CI a GPU adapter (SwiftShader) was found", () => {
    expect(unavailable).toBeNull();
  });

  for (const [name, dir] of Object.entries(folders)) {
    it(`${name}: streamed, the logits of the weights widened to float32 and uploaded as F32, bit for bit; half the bytes for the 16-bit matrices`, async () => {
      const { config, params } = loadCheckpoint(dir);
      const f32 = await start(config, params);
      const [a, b] = [logits(streamed[name]), logits(f32)];
      a.forEach((x, i) => expectBitIdentical(`${name}: forward ${i}, streamed vs Params`, x, b[i], config.vocabSize));
      const { hiddenSize: C, intermediateSize: I, vocabSize: V, numLayers } = config;
      const qkv = name === "bf16" ? 0 : 24 * C;                                   // bf16's is float32 (its k_proj is); f16's (2 + 2 x 1) x 6 rows
      const matrices = (name === "bf16" ? 2 * V * C : V * C) + numLayers * (qkv + C * C + 3 * C * I);   // embed (and lm_head), q/k/v, o, gate, up, down
      expect(f32.weightBytes - streamed[name].weightBytes).toBe(2 * matrices);                    // 4 bytes a value against 2
    });

    it(`${name}: T tokens at once give the logits of T one-token forwards, and Jacobi and multi-block equal the GPU's AR, with no Params`, () => {
      const runner = streamed[name];
      const tokens = [5, 1, 30, 2, 2, 17, 8];
      const V = runner.config.vocabSize;
      const together = runner.forward(tokens, { cache: runner.newCache() }).logits().data.slice();
      const cache = runner.newCache();
      tokens.forEach((t, i) => expectBitIdentical(`row ${i}`, runner.forward([t], { cache }).logits().data, together.subarray(i * V, (i + 1) * V), V));
      const stop = { maxNewTokens: 16, eosTokenId: null, runner };
      for (const prompt of [[1, 5, 9], [7]]) {
        const ar = arGreedy(runner.config, WEIGHTS_ON_GPU, prompt, stop).tokens;
        expectSameTokens("jacobi", jacobi(runner.config, WEIGHTS_ON_GPU, prompt, { ...stop, blockSize: 5 }).tokens, ar);
        expectSameTokens("multi-block", multiBlock(runner.config, WEIGHTS_ON_GPU, prompt, { ...stop, blockSize: 4, maxBlocks: 2, poolSize: 2 }).tokens, ar);
      }
      expect(() => arGreedy(runner.config, WEIGHTS_ON_GPU, [1], { maxNewTokens: 2 })).toThrow(/the weights are on the GPU; pass their webgpuRunner as the runner option/);
    });
  }

  it("matrices split by rows over buffers of at most 512 bytes give the bits of the unsplit model: 16-bit untied, float32 tied", async () => {
    const split = await start(folderConfig(folders.bf16), { kind: "folder", dir: folders.bf16 }, { chunkBytes: 512 });
    logits(split).forEach((x, i) => expectBitIdentical(`bf16 forward ${i}, split vs whole`, x, logits(streamed.bf16)[i], BF16.vocabSize));
    const tied: ModelConfig = { ...F16, vocabSize: 70 };
    const params = initParams(tied, { seed: 4, std: 0.5 });
    const [whole, parts] = [await start(tied, params), await start(tied, params, { chunkBytes: 512 })];
    logits(parts).forEach((x, i) => expectBitIdentical(`tied float32 forward ${i}, split vs whole`, x, logits(whole)[i], tied.vocabSize));
    expect(parts.weightBytes).toBe(whole.weightBytes);
  });

  it("what does not fit is refused with the buffer, the limit and the numbers; a smaller maxPositions makes a long context fit", async () => {
    await expect(webgpuRunner(F16, initParams(F16, { seed: 1 }), { chunkBytes: 40 })).rejects.toThrow(
      /webgpu backend unavailable because GpuModel\.create: a row of layer 0 wqkv needs 48 bytes, more than a buffer may hold \(40 bytes/);
    const long = { ...F16, maxPositions: 1 << 20 };
    const params = initParams(F16, { seed: 1 });
    await expect(webgpuRunner(long, params)).rejects.toThrow(/attention keeps 1048576 scores in workgroup memory .*; give the runner a smaller maxPositions/);
    const fitted = await start(long, params, { maxPositions: 48 });
    expect(fitted.config.maxPositions).toBe(48);
    expectBitIdentical("logits with maxPositions 48 of a config of 2^20", logits(fitted)[1], logits(await start(F16, params))[1]);
    await expect(webgpuRunner(F16, params, { maxPositions: 49 })).rejects.toThrow(/maxPositions must be a whole number in 1\.\.48 \(the config's context\), got 49/);
    const wide = { ...F16, vocabSize: 150000, maxPositions: 8000 };               // logits [8000, 150000]: 4.8 GB, beyond any binding
    await expect(webgpuRunner(wide, initParams({ ...wide, maxPositions: 8 }, { seed: 1 }))).rejects.toThrow(
      /the activations logits need 4800000000 bytes for 8000 positions, the device's maxStorageBufferBindingSize is \d+; give the runner a smaller maxPositions/);
  });

  it("the CLI: generate --backend webgpu streams a BF16 folder whose config names 2^20 positions, in the context the call needs, and prints the GPU's AR greedy tokens; a context too long is refused saying what to change", async () => {
    const dir = join(root, "long-context");
    cpSync(folders.bf16, dir, { recursive: true });
    const json = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...json, max_position_embeddings: 1 << 20 }));
    await expect(webgpuRunner(folderConfig(dir), { kind: "folder", dir })).rejects.toThrow(/give the runner a smaller maxPositions/);   // the whole context does not fit
    const stop = { maxNewTokens: 10, eosTokenId: null, runner: streamed.bf16 };
    for (const method of ["ar", "jacobi", "mr"]) {
      let out = "";
      const code = await main(["generate", "--model", dir, "--prompt-ids", "1,5,9", "--max-new-tokens", "10", "--ignore-eos", "--method", method, "--block-size", "4", "--backend", "webgpu", "--json"],
        { out: (t) => { out += t; }, err: () => {}, isTTY: false });
      expect(code).toBe(0);
      expectSameTokens(method, JSON.parse(out).tokens, arGreedy(streamed.bf16.config, WEIGHTS_ON_GPU, [1, 5, 9], stop).tokens);
    }
    let err = "";
    const code = await main(["generate", "--model", dir, "--prompt-ids", "1,5,9", "--max-new-tokens", "1000000", "--backend", "webgpu"], { out: () => {}, err: (t) => { err += t; }, isTTY: false });
    expect(code).toBe(2);
    expect(err).toMatch(/^jacobi-forcing: generate: webgpu backend unavailable because GpuModel\.create: .*; this call's context is 1000131 positions: use a shorter prompt or fewer --max-new-tokens\n$/);
  });
});
