/**
 * `npm run bench:gpu`: the WebGPU backend measured on whatever GPU Dawn finds — forward latency t(T)
 * for T ∈ {1, 16, 32, 64, 128, 256}, AR tokens/s, Jacobi and multi-block TPF, tokens/s and speedup over
 * AR (same GPU, same run, identical output checked), and the matmul's weight-streaming bandwidth next to
 * the card's copy bandwidth measured in the same run. Two models: a trained checkpoint (a path; the
 * shipped JF model once it exists, the math teacher until then) and a realistic random one (hidden 2048,
 * 16 layers, 32k vocabulary, float32, weights generated on the GPU side).
 *
 * Prints one JSON object (the raw results, `bench/results/`); a human summary goes to stderr.
 * Usage: `tsx bench/gpu.ts [--model DIR] [--quick]`; on the lent GPU the bundle `dist/webgpu/gpu.mjs`
 * (`npm run build:gpu`) runs the same code. Never part of `npm test`. A benchmark, not a test: compare
 * numbers from the same run only. docs/webgpu.md reads the results.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { mathEvalSet, mathPrompt } from "../src/data/math.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { loadCheckpoint } from "../src/model/checkpoint.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { DEFAULT_TILES } from "../src/backend/webgpu/gpu-model.ts";
import { webgpuRunner, type WebGpuRunner } from "../src/backend/webgpu/runner.ts";
import type { MatmulTile } from "../src/backend/webgpu/wgsl.ts";
import type { Params } from "../src/model/params.ts";
import { Rng } from "../src/tensor/random.ts";

/** The realistic random model of issue 8: TinyLlama's shapes with 16 layers. */
const REALISTIC_CONFIG: ModelConfig = {
  ...PRESETS.small,
  vocabSize: 32000, hiddenSize: 2048, intermediateSize: 5632, numLayers: 16,
  numHeads: 32, numKeyValueHeads: 4, maxPositions: 2048,
};

/** `--smoke`: a small stand-in, to try the bench where the GPU is SwiftShader. */
const SMOKE: ModelConfig = { ...PRESETS.small, vocabSize: 1000, maxPositions: 512 };

const SIZES = [1, 16, 32, 64, 128, 256];

/** Matmul tiles tried for the bandwidth and T=64 measurements (same bits, different speed). */
const TILES: Record<string, MatmulTile> = {
  "1x1 (8 groups on N)": { TM: 1, TN: 1, GM: 1, GN: 8 },
  "1x2 (8 groups on N)": { TM: 1, TN: 2, GM: 1, GN: 8 },
  "2x2 (2x4 groups)": { TM: 2, TN: 2, GM: 2, GN: 4 },
  "4x4 (2x4 groups)": { TM: 4, TN: 4, GM: 2, GN: 4 },
  "4x4 (4x2 groups)": { TM: 4, TN: 4, GM: 4, GN: 2 },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function log(line: string): void {
  process.stderr.write(line + "\n");
}

/** Dawn toggles that drop bounds clamping, workgroup-memory zeroing and API validation. */
const FAST_TOGGLES = ["disable_robustness", "disable_workgroup_init", "skip_validation"];

interface LatencyRow {
  /** New tokens in the forward. */
  readonly T: number;
  /** Median wall time of `runner.forward` on the main thread (what a decoder pays). */
  readonly ms: number;
  /** Of which, median, in the worker: encoding the dispatches, and waiting for the GPU and the read-back. */
  readonly encodeMs: number;
  readonly waitMs: number;
  readonly ratio: number;
}

/** Median ms of a forward over T tokens after a 32-token cache, rolled back after each (as Jacobi does). */
function forwardLatency(runner: WebGpuRunner, reps: number): LatencyRow[] {
  const rng = new Rng("bench-gpu");
  const V = runner.config.vocabSize;
  const cache = runner.newCache();
  runner.forward(Array.from({ length: 32 }, () => rng.int(V)), { cache });
  const rows = SIZES.filter((T) => 32 + T <= runner.config.maxPositions).map((T) => {
    const tokens = Array.from({ length: T }, () => rng.int(V));
    const times: number[] = [];
    const encode: number[] = [];
    const wait: number[] = [];
    for (let r = 0; r < reps + 2; r++) {
      const start = performance.now();
      runner.forward(tokens, { cache });
      times.push(performance.now() - start);
      encode.push(runner.lastTiming().encodeMs);
      wait.push(runner.lastTiming().waitMs);
      cache.truncate(32);
    }
    return { T, ms: median(times.slice(2)), encodeMs: median(encode.slice(2)), waitMs: median(wait.slice(2)) };
  });
  return rows.map((r) => ({ ...r, ratio: r.ms / rows[0].ms }));
}

/** True when the logits of T tokens forwarded at once equal, bit for bit, those of one-token forwards. */
function batchInvariant(runner: WebGpuRunner, T: number): boolean {
  const rng = new Rng("bench-gpu-invariance");
  const tokens = Array.from({ length: T }, () => rng.int(runner.config.vocabSize));
  const together = runner.forward(tokens, { cache: runner.newCache() }).logits().data;
  const cache = runner.newCache();
  const V = runner.config.vocabSize;
  return tokens.every((t, i) => {
    const row = runner.forward([t], { cache }).logits().data;
    return row.every((x, v) => Object.is(x, together[i * V + v]));
  });
}

interface MethodRow {
  readonly method: string;
  readonly tokens: number;
  readonly forwards: number;
  readonly tokensPerForward: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  readonly speedup: number;
  readonly identicalToAr: boolean;
}

/** AR, Jacobi and multi-block over the same prompts on the same runner; speedups against this AR. */
function methods(runner: WebGpuRunner, config: ModelConfig, params: Params, prompts: number[][], maxNewTokens: number, eos: boolean, blockSizes: number[]): MethodRow[] {
  const runners = { runner, ...(eos ? {} : { eosTokenId: null }) };
  const decoders: [string, (p: number[]) => { tokens: number[]; stats: { forwards: number } }][] = [
    ["ar", (p) => arGreedy(config, params, p, { maxNewTokens, ...runners })],
    ...blockSizes.map((n): [string, (p: number[]) => { tokens: number[]; stats: { forwards: number } }] =>
      [`jacobi n=${n}`, (p) => jacobi(config, params, p, { maxNewTokens, blockSize: n, ...runners })]),
    ...blockSizes.map((n): [string, (p: number[]) => { tokens: number[]; stats: { forwards: number } }] =>
      [`multi-block n=${n} K=2 pool=4`, (p) => multiBlock(config, params, p, { maxNewTokens, blockSize: n, maxBlocks: 2, poolSize: 4, ...runners })]),
  ];
  let arOutputs: number[][] = [];
  let arRate = 0;
  return decoders.map(([method, decode]) => {
    decode(prompts[0]);                                                                   // warm-up
    const start = performance.now();
    const results = prompts.map(decode);
    const seconds = (performance.now() - start) / 1000;
    const tokens = results.reduce((s, r) => s + r.tokens.length, 0);
    const forwards = results.reduce((s, r) => s + r.stats.forwards, 0);
    if (method === "ar") { arOutputs = results.map((r) => r.tokens); arRate = tokens / seconds; }
    const identicalToAr = results.every((r, i) => JSON.stringify(r.tokens) === JSON.stringify(arOutputs[i]));
    const row = { method, tokens, forwards, tokensPerForward: tokens / forwards, seconds, tokensPerSecond: tokens / seconds, speedup: tokens / seconds / arRate, identicalToAr };
    log(`  ${method.padEnd(28)} TPF ${row.tokensPerForward.toFixed(2).padStart(5)}  ${row.tokensPerSecond.toFixed(0).padStart(6)} tok/s  speedup ${row.speedup.toFixed(2)}  ${identicalToAr ? "identical to AR" : "DIFFERS FROM AR"}`);
    return row;
  });
}

/** What to measure. */
export interface GpuBenchOptions {
  /** The trained checkpoint to decode with (default `models/math-teacher` until the JF models ship). */
  readonly model: string;
  /** Fewer repetitions and prompts. */
  readonly quick: boolean;
  /** A small stand-in for the realistic model (for SwiftShader). */
  readonly smoke: boolean;
}

/** Runs every measurement; returns the raw results (what `bench/results/` keeps). */
export async function gpuBench(options: GpuBenchOptions): Promise<Record<string, unknown>> {
  const { model: modelDir, quick } = options;
  const REALISTIC = options.smoke ? SMOKE : REALISTIC_CONFIG;
  const reps = quick ? 5 : 21;
  const result: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, options };

  // ---- the realistic random model: forward latency, bandwidth, AR vs Jacobi on random weights; twice,
  // with Dawn's safety defaults and with FAST_TOGGLES
  log(`realistic random model: ${JSON.stringify(REALISTIC)}`);
  const runs = [];
  for (const toggles of [[], FAST_TOGGLES]) {
    runs.push(await realisticRun(REALISTIC, toggles, reps, quick, result));
  }
  result.realistic = { config: REALISTIC, weights: "uniform random, std 0.02, seed 1", defaultTiles: DEFAULT_TILES, runs };

  // ---- the trained model: latency and the decoding methods on its own task
  const { config, params } = loadCheckpoint(modelDir);
  log(`trained model ${modelDir}: ${JSON.stringify(config)}`);
  const trained = await webgpuRunner(config, params);
  const trainedLatency = forwardLatency(trained, reps);
  for (const r of trainedLatency) log(`  T=${String(r.T).padStart(3)}  ${r.ms.toFixed(3)} ms (worker: encode ${r.encodeMs.toFixed(3)}, GPU + read-back ${r.waitMs.toFixed(3)})  t(T)/t(1) ${r.ratio.toFixed(2)}`);
  const { tokenizer } = loadCheckpoint(modelDir);
  const problems = mathEvalSet(quick ? 10 : 100, 1234);
  const prompts = problems.map((p) => tokenizer!.encode(mathPrompt(p)));
  const trainedMethods = methods(trained, config, params, prompts, 64, true, [16, 32]);
  trained.close();
  result.trained = { model: modelDir, config, prompts: `${prompts.length} held-out math problems (mathEvalSet seed 1234), EOS honoured, at most 64 new tokens`, forwardLatency: trainedLatency, methods: trainedMethods };
  return result;
}


/** Every measurement of the realistic model on one runner, opened with `toggles`. */
async function realisticRun(REALISTIC: ModelConfig, toggles: string[], reps: number, quick: boolean, result: Record<string, unknown>): Promise<Record<string, unknown>> {
  log(`dawn toggles: ${toggles.length === 0 ? "none" : toggles.join(", ")}`);
  const realistic = await webgpuRunner(REALISTIC, { random: true, seed: 1, std: 0.02 }, { dawnToggles: toggles });
  result.adapter = realistic.adapter;
  log(`adapter: ${realistic.adapter}`);
  const latency = forwardLatency(realistic, reps);
  for (const r of latency) log(`  T=${String(r.T).padStart(3)}  ${r.ms.toFixed(3)} ms (worker: encode ${r.encodeMs.toFixed(3)}, GPU + read-back ${r.waitMs.toFixed(3)})  t(T)/t(1) ${r.ratio.toFixed(2)}`);
  const copy = realistic.timeCopy(1 << 30, quick ? 5 : 20);
  const copyKernel = realistic.timeCopyKernel(1 << 30, quick ? 5 : 20);
  const copyBest = Math.max(copy.bytesPerSecond, copyKernel.bytesPerSecond);
  log(`  copy bandwidth (read + write): copyBufferToBuffer ${(copy.bytesPerSecond / 1e9).toFixed(0)} GB/s, copy kernel ${(copyKernel.bytesPerSecond / 1e9).toFixed(0)} GB/s`);
  const matmul = Object.entries(TILES).map(([name, tile]) => {
    const rows = [1, 64].map((M) => {
      const { bytes, seconds } = realistic.timeMatmul(M, tile, quick ? 10 : 50);
      return { M, microseconds: seconds * 1e6, weightBytesPerSecond: bytes / seconds, ofCopy: bytes / seconds / copyBest };
    });
    log(`  matmul [2I, C] = [${2 * REALISTIC.intermediateSize}, ${REALISTIC.hiddenSize}] tile ${name}: ` +
      rows.map((r) => `M=${r.M} ${r.microseconds.toFixed(1)} us ${(r.weightBytesPerSecond / 1e9).toFixed(0)} GB/s (${(100 * r.ofCopy).toFixed(0)}% of copy)`).join(", "));
    return { tile: name, ...tile, rows };
  });
  const invariant = batchInvariant(realistic, 64);
  log(`  batch-invariant (64 rows at once == one by one, bit for bit): ${invariant}`);
  const rng = new Rng("bench-gpu-prompts");
  const randomPrompts = Array.from({ length: quick ? 2 : 4 }, () => Array.from({ length: 16 }, () => rng.int(REALISTIC.vocabSize)));
  const emptyParams = null as unknown as Params;                                         // the runner holds the weights
  const realisticMethods = methods(realistic, REALISTIC, emptyParams, randomPrompts, quick ? 32 : 128, false, [16, 64]);
  realistic.close();
  return { dawnToggles: toggles, forwardLatency: latency, copy: { bufferCopy: copy.bytesPerSecond, kernel: copyKernel.bytesPerSecond, best: copyBest }, matmul, batchInvariant: invariant, methods: realisticMethods };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const model = args.includes("--model") ? args[args.indexOf("--model") + 1] : "models/math-teacher";
  const result = await gpuBench({ model, quick: args.includes("--quick"), smoke: args.includes("--smoke") });
  process.stdout.write(JSON.stringify(result, null, 1) + "\n");
}
