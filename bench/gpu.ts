/**
 * `npm run bench:gpu`: the WebGPU backend measured on whatever GPU Dawn finds — forward latency t(T)
 * for T ∈ {1, 16, 32, 64, 128, 256}, AR tokens/s, Jacobi and multi-block TPF, tokens/s and speedup over
 * AR (same GPU, same run, identical output checked), and the matmul's weight-streaming bandwidth next to
 * the card's copy bandwidth measured in the same run, the card's float32 multiply-add rate, the floor those
 * two rates put under t(64)/t(1), the fixed cost of one dispatch, and every matmul tile on every matrix
 * (any tile gives the same bits; the fastest per matrix is then run as "tuned").
 * Models: a realistic random one (hidden 2048, 16 layers, 32k vocabulary, float32, weights generated on
 * the GPU side) and the trained checkpoints — by default the shipped JF models, math and code, each on
 * its own held-out prompts (`bench/models.ts`).
 *
 * Decoding, wall times and the worker's split of each forward come from the runner (`webgpuRunner`); the
 * GPU time of the kernels alone, from the same model loaded on a device of the bench's own
 * (`bench/gpu-probe.ts`).
 *
 * Prints one JSON object (the raw results, kept in `bench/experiments/results/`); a human summary goes
 * to stderr. Usage: `npx tsx bench/gpu.ts [--model DIR --data math|code | --realistic-only] [--quick]
 * [--smoke]`, or `--hf DIR [--prompts FILE] [--new-tokens N] [--max-positions N] [--tiles JSON] [--dawn-toggles LIST] [--latency-only]` for one model folder
 * streamed to the GPU (`bench/gpu-folder.ts`); on the lent GPU the bundle `dist/webgpu/gpu.mjs` (`npm run build:gpu`) runs the same code.
 * Never part of `npm test`. A benchmark, not a test: compare numbers from the same run only.
 * docs/webgpu.md reads the results.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { AUTO_BLOCK_SIZES, autoBlockSize, formatBlockSizeChoice, measureCostCurve } from "../src/decoding/block-size.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import type { ModelRunner } from "../src/model/runner.ts";
import { PRESETS, type ModelConfig } from "../src/model/config.ts";
import { CACHE_POOL, DEFAULT_TILES, OTHER_KERNELS, tileFor, weightArrays, type MatrixName, type RandomSource, type TileChoice } from "../src/backend/webgpu/gpu-model.ts";
import { webgpuRunner, type WebGpuRunner } from "../src/backend/webgpu/runner.ts";
import type { MatmulTile } from "../src/backend/webgpu/wgsl.ts";
import type { Params } from "../src/model/params.ts";
import { Rng } from "../src/tensor/random.ts";
import { BENCH_MODELS, MULTI_BLOCK, benchPrompts, type BenchDataset } from "./models.ts";
import { forwardLatency, log, median, warmUp, type LatencyRow } from "./gpu-latency.ts";
import { folderBench, folderBenchOptions } from "./gpu-folder.ts";
import { cardName, openProbe, timeCopy, timeCopyKernel, timeDispatch, timeFmaKernel, timeForward, timeMatmul, type GpuProbe } from "./gpu-probe.ts";

/** The realistic random model of issue 8: TinyLlama's shapes with 16 layers. */
const REALISTIC_CONFIG: ModelConfig = {
  ...PRESETS.small,
  vocabSize: 32000, hiddenSize: 2048, intermediateSize: 5632, numLayers: 16,
  numHeads: 32, numKeyValueHeads: 4, maxPositions: 2048,
};

/** `--smoke`: a small stand-in, to try the bench where the GPU is SwiftShader. */
const SMOKE: ModelConfig = { ...PRESETS.tiny, hiddenSize: 64, intermediateSize: 128, numLayers: 1, numHeads: 4, numKeyValueHeads: 2, vocabSize: 300, maxPositions: 320 };

const SIZES = [1, 16, 32, 64, 128, 256];

/** A tile's name in the sweep: outputs a thread, warps a workgroup, quads in flight ("4x4 g2x4 U2"). */
function tileName(t: MatmulTile): string {
  return `${t.TM}x${t.TN} g${t.GM}x${t.GN}${t.U === undefined ? "" : ` U${t.U}`}`;
}

/** Tiles by name. */
function named(tiles: MatmulTile[]): Record<string, MatmulTile> {
  return Object.fromEntries(tiles.map((t) => [tileName(t), t]));
}

/**
 * Matmul tiles tried at T = 1 on every matrix (same bits, different speed): workgroups of 1 to 8
 * groups of 32 lanes along the columns, 1 to 4 columns a thread, loads unrolled or not.
 */
const SMALL_TILES = named([
  { TM: 1, TN: 2, GM: 1, GN: 8 }, { TM: 1, TN: 1, GM: 1, GN: 8 }, { TM: 1, TN: 2, GM: 1, GN: 4 },
  { TM: 1, TN: 1, GM: 1, GN: 4 }, { TM: 1, TN: 2, GM: 1, GN: 2 }, { TM: 1, TN: 1, GM: 1, GN: 2 },
  { TM: 1, TN: 1, GM: 1, GN: 1 }, { TM: 1, TN: 4, GM: 1, GN: 2 }, { TM: 1, TN: 2, GM: 1, GN: 8, U: 2 },
  { TM: 1, TN: 2, GM: 1, GN: 2, U: 2 }, { TM: 1, TN: 1, GM: 1, GN: 2, U: 2 }, { TM: 1, TN: 1, GM: 1, GN: 2, U: 4 },
  { TM: 1, TN: 1, GM: 1, GN: 1, U: 4 },
]);

/** Matmul tiles tried at T = 16 and 64: a block of outputs a thread, so each loaded weight serves several tokens. */
const LARGE_TILES = named([
  { TM: 2, TN: 2, GM: 2, GN: 4 }, { TM: 4, TN: 4, GM: 2, GN: 4 }, { TM: 4, TN: 4, GM: 4, GN: 2 },
  { TM: 4, TN: 4, GM: 2, GN: 2 }, { TM: 4, TN: 2, GM: 4, GN: 2 }, { TM: 8, TN: 2, GM: 8, GN: 1 },
  { TM: 8, TN: 4, GM: 4, GN: 1 }, { TM: 4, TN: 8, GM: 2, GN: 2 }, { TM: 2, TN: 2, GM: 2, GN: 4, U: 2 },
  { TM: 4, TN: 4, GM: 2, GN: 4, U: 2 }, { TM: 4, TN: 4, GM: 2, GN: 2, U: 2 }, { TM: 4, TN: 4, GM: 4, GN: 2, U: 2 },
  { TM: 4, TN: 4, GM: 2, GN: 4, U: 4 }, { TM: 2, TN: 4, GM: 4, GN: 2, U: 2 }, { TM: 8, TN: 4, GM: 2, GN: 2, U: 2 },
]);

/** The five matrix products of a forward. */
const MATRICES: MatrixName[] = ["qkv", "wo", "gu", "down", "lmHead"];

/** Dawn toggles that drop bounds clamping, workgroup-memory zeroing and API validation. */
const FAST_TOGGLES = ["disable_robustness", "disable_workgroup_init", "skip_validation"];

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
  /** Wall seconds over all prompts, prefill included. */
  readonly seconds: number;
  /** Decode seconds: `seconds` minus the prompts' prefill (a new cache and a forward of the prompt), as `npm run bench` counts. */
  readonly decodeSeconds: number;
  /** Decode tokens per second (prefill subtracted). */
  readonly tokensPerSecond: number;
  /** Speedup over AR in decode tokens per second. */
  readonly speedup: number;
  /** Speedup over AR divided by TPF: 1 when a forward of the block costs what a one-token forward costs. */
  readonly speedupPerTpf: number;
  /** Speedup over AR end to end (prefill included). */
  readonly endToEndSpeedup: number;
  readonly identicalToAr: boolean;
  /** Where a decode step's time went, averaged over the method's forwards after each prompt's first. */
  readonly perStep: StepCosts;
}

/**
 * One method's decode steps, averaged (every forward of a decode but its prompt's): what the main thread
 * waited for the forward, the decoder's own work between two forwards, and the worker's share as
 * `WebGpuRunner.lastTiming` reports it.
 */
interface StepCosts {
  readonly steps: number;
  /** Tokens a forward (T) and rows its commands covered. */
  readonly tokens: number;
  readonly rows: number;
  /** Share of the steps whose commands had been encoded ahead. */
  readonly prepared: number;
  /** Milliseconds: the forward's call on the main thread; the decoder's work before it (since the last forward returned). */
  readonly forwardMs: number;
  readonly betweenMs: number;
  /** Milliseconds in the worker: writing the inputs and encoding (when not encoded ahead), the submit call, until the GPU was done. */
  readonly encodeMs: number;
  readonly submitMs: number;
  readonly gpuDoneMs: number;
}

/** Sums of {@link StepCosts} for the method now decoding; `recording` adds to it. */
interface StepSink {
  current: { steps: number; tokens: number; rows: number; prepared: number; forwardMs: number; betweenMs: number; encodeMs: number; submitMs: number; gpuDoneMs: number } | null;
  /** When the last forward returned, or null before a decode's first forward (its prompt's, not counted). */
  lastEnd: number | null;
}

/** `runner`, adding each decode step's costs to `sink.current` (see {@link StepCosts}). */
function recording(runner: WebGpuRunner, sink: StepSink): WebGpuRunner {
  return {
    ...runner,
    forward(tokens, options) {
      const start = performance.now();
      const result = runner.forward(tokens, options);
      const end = performance.now();
      const t = runner.lastTiming();
      const c = sink.current;
      if (c !== null && sink.lastEnd !== null) {
        c.steps++; c.tokens += tokens.length; c.rows += t.rows; c.prepared += t.prepared ? 1 : 0;
        c.forwardMs += end - start; c.betweenMs += start - sink.lastEnd;
        c.encodeMs += t.encodeMs; c.submitMs += t.submitMs; c.gpuDoneMs += t.queueMs;
      }
      sink.lastEnd = end;
      return result;
    },
  };
}

type Decode = (p: number[]) => { tokens: number[]; stats: { forwards: number } };

/** A decoding method by name: AR, Jacobi at a block size, multi-block with a configuration. */
interface MethodSpec {
  readonly name: string;
  readonly decode: Decode;
}

/**
 * The runner with `newCache`'s hint dropped: the worker guesses each decode's first step from the last
 * decode's steps, as before the decoders told it (`NewCacheOptions.firstStep`).
 */
function untold(runner: WebGpuRunner): ModelRunner {
  return {
    backend: runner.backend, settleForwards: runner.settleForwards, config: runner.config,
    newCache: () => runner.newCache(),
    forward: (tokens, options) => runner.forward(tokens, options),
    close: () => runner.close(),
  };
}

/**
 * The methods of the trained models' rows: AR, Jacobi at `blockSizes`, and multi-block with `mr`. With
 * `compareFirstStep`, each Jacobi row is preceded by the same decode on a runner that is not told the
 * first step (`untold`): it follows AR or the previous Jacobi size, so its first step is guessed wrong.
 */
function methodSpecs(config: ModelConfig, params: Params, runner: WebGpuRunner, maxNewTokens: number, eos: boolean, blockSizes: number[],
  mr: { blockSize: number; maxBlocks: number; spawnRatio: number; poolSize: number } | null, compareFirstStep = false): MethodSpec[] {
  const stop = { maxNewTokens, runner, ...(eos ? {} : { eosTokenId: null }) };
  const guessing = untold(runner);
  return [
    { name: "ar", decode: (p) => arGreedy(config, params, p, stop) },
    ...blockSizes.flatMap((n): MethodSpec[] => [
      ...(compareFirstStep ? [{ name: `jacobi n=${n}, first step not told`, decode: (p: number[]) => jacobi(config, params, p, { ...stop, runner: guessing, blockSize: n }) }] : []),
      { name: `jacobi n=${n}`, decode: (p) => jacobi(config, params, p, { ...stop, blockSize: n }) },
    ]),
    ...(mr === null ? [] : [{
      name: `multi-block n=${mr.blockSize} K=${mr.maxBlocks} r=${mr.spawnRatio} pool=${mr.poolSize}`,
      decode: (p: number[]) => multiBlock(config, params, p, { ...stop, ...mr }),
    }]),
  ];
}

/**
 * Every method over the same prompts on the same runner; speedups against this AR. The methods take
 * turns prompt by prompt (AR, Jacobi, ..., then the next prompt), so a slow spell of the shared machine
 * falls on all of them alike. The prefill (a new cache and a forward of the prompt) is timed in the same
 * turns and subtracted, as `npm run bench` does on the CPU; the end-to-end speedup keeps it. Each step's
 * costs arrive through `sink`: the specs must decode on `recording(runner, sink)`.
 */
function methods(specs: MethodSpec[], prompts: number[][], runner: WebGpuRunner, sink: StepSink, rounds = 1): MethodRow[] {
  const prefill = (p: number[]) => {
    const cache = runner.newCache();
    runner.forward(p, { cache }).argmax();
    cache.release?.();                                          // as the decoders do with theirs
  };
  warmUp(runner, 0.5);
  specs.forEach((m) => m.decode(prompts[0]));                                            // warm-up
  prefill(prompts[0]);
  const outputs = specs.map(() => [] as { tokens: number[]; forwards: number }[]);
  const seconds = specs.map(() => 0);
  const sums = specs.map(() => ({ steps: 0, tokens: 0, rows: 0, prepared: 0, forwardMs: 0, betweenMs: 0, encodeMs: 0, submitMs: 0, gpuDoneMs: 0 }));
  let prefillSeconds = 0;
  for (const prompt of Array.from({ length: rounds }, () => prompts).flat()) {
    specs.forEach((m, i) => {
      sink.current = sums[i];
      sink.lastEnd = null;
      const start = performance.now();
      const r = m.decode(prompt);
      seconds[i] += (performance.now() - start) / 1000;
      sink.current = null;
      outputs[i].push({ tokens: r.tokens, forwards: r.stats.forwards });
    });
    const start = performance.now();
    prefill(prompt);
    prefillSeconds += (performance.now() - start) / 1000;
  }
  const count = (i: number) => outputs[i].reduce((s, o) => s + o.tokens.length, 0);
  const arRate = count(0) / (seconds[0] - prefillSeconds);
  const arEndToEnd = count(0) / seconds[0];
  log(`  prefill (new cache + prompt forward), all prompts: ${(1000 * prefillSeconds).toFixed(1)} ms`);
  return specs.map((m, i) => {
    const tokens = count(i);
    const forwards = outputs[i].reduce((s, o) => s + o.forwards, 0);
    const identicalToAr = outputs[i].every((o, p) => JSON.stringify(o.tokens) === JSON.stringify(outputs[0][p].tokens));
    const decodeSeconds = seconds[i] - prefillSeconds;
    const speedup = tokens / decodeSeconds / arRate;
    const { steps, ...sum } = sums[i];
    const perStep = { steps, ...Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, v / steps])) } as unknown as StepCosts;
    const row = {
      method: m.name, tokens, forwards, tokensPerForward: tokens / forwards, seconds: seconds[i], decodeSeconds,
      tokensPerSecond: tokens / decodeSeconds, speedup, speedupPerTpf: speedup / (tokens / forwards), endToEndSpeedup: tokens / seconds[i] / arEndToEnd, identicalToAr,
      perStep,
    };
    log(`  ${m.name.padEnd(36)} TPF ${row.tokensPerForward.toFixed(2).padStart(5)}  ${row.tokensPerSecond.toFixed(0).padStart(6)} tok/s  speedup ${row.speedup.toFixed(2)} ` +
      `(${row.speedupPerTpf.toFixed(2)} x TPF; end to end ${row.endToEndSpeedup.toFixed(2)})  ${identicalToAr ? "identical to AR" : "DIFFERS FROM AR"}`);
    log(`    a step: T ${perStep.tokens.toFixed(1)} (rows ${perStep.rows.toFixed(1)}, ${(100 * perStep.prepared).toFixed(0)} % encoded ahead); ms: forward ${perStep.forwardMs.toFixed(3)}, ` +
      `decoder between forwards ${perStep.betweenMs.toFixed(3)}; worker: inputs and encoding ${perStep.encodeMs.toFixed(3)}, submit ${perStep.submitMs.toFixed(3)}, GPU done ${perStep.gpuDoneMs.toFixed(3)}`);
    return row;
  });
}

/** What starting a decode costs: a new cache and the prompt's forward, with and without reusing released caches. */
interface PrefillRow {
  readonly cachePool: number;
  /** Median ms of `newCache()`. */
  readonly newCacheMs: number;
  /** Median ms of the prompt's forward (to its argmax). */
  readonly promptMs: number;
  /** Of the prompt forwards, how many ran on commands encoded ahead. */
  readonly prepared: number;
  readonly prompts: number;
}

/**
 * Prefill cost side by side: `runners` (the same model, different `cachePool`) take turns prompt by
 * prompt; each decode is the prompt and `steps` forwards of `stepTokens` tokens (as AR or Jacobi would
 * run), then the cache is released.
 */
function prefillCost(runners: { runner: WebGpuRunner; cachePool: number }[], prompts: number[][], steps: number, stepTokens: number): PrefillRow[] {
  const samples = runners.map(() => ({ newCache: [] as number[], prompt: [] as number[], prepared: 0 }));
  for (const [round, prompt] of [prompts[0], ...prompts].entries()) {                 // the first round warms up
    runners.forEach(({ runner }, i) => {
      const t0 = performance.now();
      const cache = runner.newCache();
      const t1 = performance.now();
      runner.forward(prompt, { cache }).argmax();
      const t2 = performance.now();
      const prepared = runner.lastTiming().prepared;
      for (let k = 0; k < steps; k++) runner.forward(prompt.slice(0, stepTokens), { cache }).argmax();
      cache.release?.();
      if (round === 0) return;
      samples[i].newCache.push(t1 - t0);
      samples[i].prompt.push(t2 - t1);
      if (prepared) samples[i].prepared++;
    });
  }
  return runners.map(({ cachePool }, i) => ({
    cachePool, newCacheMs: median(samples[i].newCache), promptMs: median(samples[i].prompt), prepared: samples[i].prepared, prompts: prompts.length,
  }));
}

/** GPU time of a forward over T tokens (and of its matmuls and its other kernels), no submit or read-back of its own. */
interface GpuForwardRow {
  readonly T: number;
  readonly ms: number;
  /** Wall ms of a submit holding this one forward, until the GPU is done. */
  readonly singleSubmitMs: number;
  readonly matmulMs: number;
  readonly otherMs: number;
  /** Each of the other kernels alone (where measured). */
  readonly kernelsMs?: Record<string, number>;
  readonly ratio: number;
}

/**
 * The forward's kernels timed on `probe` (the runner's model on a device of the bench's), after the GPU
 * is warmed up by the runner's forwards. With `perKernel`, each of the other kernels is also timed alone
 * (each alone still pays its dispatches).
 */
async function gpuForward(runner: WebGpuRunner, probe: GpuProbe, reps: number, perKernel = false): Promise<GpuForwardRow[]> {
  warmUp(runner, 0.5);
  const rows: Omit<GpuForwardRow, "ratio">[] = [];
  for (const T of SIZES.filter((T) => T <= runner.config.maxPositions)) {
    const all = await timeForward(probe, T, reps, "all");
    const matmulMs = 1000 * (await timeForward(probe, T, reps, "matmul")).seconds;
    const otherMs = 1000 * (await timeForward(probe, T, reps, "other")).seconds;
    const kernelsMs: Record<string, number> = {};
    if (perKernel) for (const k of OTHER_KERNELS) kernelsMs[k] = 1000 * (await timeForward(probe, T, reps, k)).seconds;
    rows.push({ T, ms: 1000 * all.seconds, singleSubmitMs: 1000 * all.singleSubmitSeconds, matmulMs, otherMs, ...(perKernel ? { kernelsMs } : {}) });
  }
  const result = rows.map((r) => ({ ...r, ratio: r.ms / rows[0].ms }));
  for (const r of result) {
    log(`  GPU time of a forward, T=${String(r.T).padStart(3)}: ${r.ms.toFixed(3)} ms (matmuls alone ${r.matmulMs.toFixed(3)}, the rest alone ${r.otherMs.toFixed(3)})  ratio ${r.ratio.toFixed(2)}; one forward alone in a submit ${r.singleSubmitMs.toFixed(3)} ms`);
    if (r.kernelsMs !== undefined) log(`    the rest, each kernel alone: ${Object.entries(r.kernelsMs).map(([k, ms]) => `${k} ${ms.toFixed(3)}`).join(", ")} ms`);
  }
  return result;
}

/** What to measure. */
export interface GpuBenchOptions {
  /** The trained checkpoints to decode with, each with its dataset (default: the shipped JF models). */
  readonly models: readonly { readonly dir: string; readonly dataset: BenchDataset }[];
  /** Fewer repetitions and prompts. */
  readonly quick: boolean;
  /** A small stand-in for the realistic model (for SwiftShader). */
  readonly smoke: boolean;
}

/** Runs every measurement; returns the raw results (what `bench/experiments/results/` keeps of a run). */
export async function gpuBench(options: GpuBenchOptions): Promise<Record<string, unknown>> {
  const { quick } = options;
  const REALISTIC = options.smoke ? SMOKE : REALISTIC_CONFIG;
  const reps = quick ? 5 : 21;
  const result: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, options };
  result.realistic = await realisticRuns(REALISTIC, reps, quick, result);

  // ---- the trained models: latency and the decoding methods on their own held-out prompts
  result.trained = [];
  for (const { dir, dataset } of options.models) {
    const model = loadCheckpoint(dir);
    log(`trained model ${dir} (${dataset}): ${JSON.stringify(model.config)}`);
    const runner = await webgpuRunner(model.config, model.params);
    const latency = forwardLatency(runner, reps, SIZES);
    logLatency(latency);
    const { evaluation: prompts, calibration } = benchPrompts(dataset, model, quick ? 10 : dataset === "math" ? 100 : 20, 8);
    const maxNewTokens = dataset === "math" ? 64 : 96;
    // --block-size auto on this GPU: the cost curve timed here, TPF counted on 8 calibration
    // prompts disjoint from the evaluation ones; its n then decodes the evaluation prompts like the others.
    const stop = { maxNewTokens, runner, ...(dataset === "math" ? {} : { eosTokenId: null }) };
    const curve = { points: measureCostCurve(model.config, model.params, AUTO_BLOCK_SIZES, { reps: quick ? 3 : 5, runner }), source: "measured by this bench run" };
    const auto = autoBlockSize(model.config, model.params, calibration, { stop, runner, curve });
    log(formatBlockSizeChoice(auto));
    const sink: StepSink = { current: null, lastEnd: null };
    const recorded = recording(runner, sink);
    const specs = [
      ...methodSpecs(model.config, model.params, recorded, maxNewTokens, dataset === "math", [16, 32], MULTI_BLOCK[dataset], true),
      { name: `jacobi auto (n=${auto.blockSize})`, decode: (p: number[]) => jacobi(model.config, model.params, p, { ...stop, runner: recorded, blockSize: auto.blockSize }) },
    ];
    const rounds = quick ? 1 : dataset === "math" ? 2 : 5;                                 // code: 20 short decodes, so more rounds
    const rows = methods(specs, prompts, runner, sink, rounds);
    const probe = await openProbe(model.config, { kind: "arrays", arrays: weightArrays(model.params) });
    const gpu = await gpuForward(runner, probe, quick ? 5 : 20);
    probe.close();
    // prefill with the cache pool (this runner) and without (a second runner); each decode takes 8 steps
    // of min(16, the shortest prompt's length) tokens (7 on math-jf, whose prompts are 7 or 9 tokens)
    const unpooled = await webgpuRunner(model.config, model.params, { cachePool: 0 });
    const pool = { runner, cachePool: CACHE_POOL }, none = { runner: unpooled, cachePool: 0 };
    const prefill = prefillCost([pool, none], prompts.slice(0, 40), 8, Math.min(16, ...prompts.slice(0, 40).map((p) => p.length)));
    unpooled.close();
    for (const r of prefill) log(`  prefill, cache pool ${r.cachePool}: newCache ${r.newCacheMs.toFixed(3)} ms, prompt forward ${r.promptMs.toFixed(3)} ms (${r.prepared} of ${r.prompts} on commands encoded ahead)`);
    runner.close();
    (result.trained as unknown[]).push({
      model: dir, dataset, config: model.config,
      prompts: `${prompts.length} held-out ${dataset} prompts (bench/models.ts), at most ${maxNewTokens} new tokens${dataset === "math" ? ", EOS honoured" : ""}, ${rounds} rounds`,
      forwardLatency: latency, gpuForward: gpu, methods: rows, autoBlockSize: auto, prefill,
    });
  }
  return result;
}

function logLatency(rows: LatencyRow[]): void {
  for (const r of rows) log(`  T=${String(r.T).padStart(3)}  ${r.ms.toFixed(3)} ms (worker: encode ${r.encodeMs.toFixed(3)}, submit ${r.submitMs.toFixed(3)}, encode ahead ${r.aheadMs.toFixed(3)}, GPU done ${r.queueMs.toFixed(3)}, ids mapped ${r.waitMs.toFixed(3)})  t(T)/t(1) ${r.ratio.toFixed(2)}`);
}

/** One tile's time on one matrix at M rows. */
interface TileRow {
  readonly matrix: MatrixName;
  readonly tile: string;
  readonly M: number;
  readonly microseconds: number;
  readonly weightBytesPerSecond: number;
  readonly ofCopy: number;
  readonly gflops: number;
}

/** Each matrix product's weights [N, K], as the GPU model binds them. */
function matrixShapes(config: ModelConfig): Record<MatrixName, { readonly N: number; readonly K: number }> {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKeyValueHeads: Hkv, vocabSize: V } = config;
  const D = C / H;
  return { qkv: { N: (H + 2 * Hkv) * D, K: C }, wo: { N: C, K: H * D }, gu: { N: 2 * I, K: C }, down: { N: C, K: I }, lmHead: { N: V, K: C } };
}

/** Weights the matrix products of one forward read: 4 per layer and the LM head (the embedding is only gathered). */
function matmulWeights(config: ModelConfig): number {
  const { qkv, wo, gu, down, lmHead } = matrixShapes(config);
  return config.numLayers * [qkv, wo, gu, down].reduce((s, m) => s + m.N * m.K, 0) + lmHead.N * lmHead.K;
}

/**
 * How low t(64)/t(1) could go on this card, from rates measured in the same run: the matmuls alone
 * (T = 1 streams every weight at the copy kernel's rate, T = 64 does its multiply-adds at the FMA
 * kernel's rate), and the measured wall t(1) against the measured wall t(64) with its matmuls' GPU time
 * replaced by that floor (everything else as measured).
 */
function ratioCeiling(config: ModelConfig, latency: LatencyRow[], gpu: GpuForwardRow[], copyBytesPerSecond: number, fmaFlopsPerSecond: number) {
  const weights = matmulWeights(config);
  const streamMsT1 = (1000 * 4 * weights) / copyBytesPerSecond;
  const matmulMsT64 = (1000 * 2 * 64 * weights) / fmaFlopsPerSecond;
  const wall = (T: number) => latency.find((r) => r.T === T);
  const matmuls64 = gpu.find((r) => r.T === 64);
  const result = {
    weights, streamMsT1, matmulMsT64, matmulsOnlyRatio: matmulMsT64 / streamMsT1,
    bestWallRatio: wall(1) && wall(64) && matmuls64 ? (wall(64)!.ms - matmuls64.matmulMs + matmulMsT64) / wall(1)!.ms : NaN,
  };
  log(`  floor of t(64)/t(1): matmuls alone ${streamMsT1.toFixed(2)} ms at T=1 (weights at the copy rate), ${matmulMsT64.toFixed(2)} ms at T=64 ` +
    `(FLOPs at the FMA rate): ${result.matmulsOnlyRatio.toFixed(2)}; the measured wall times with T=64's matmuls at that floor: ${result.bestWallRatio.toFixed(2)}`);
  return result;
}

/**
 * The realistic random model: with the default tiles, forward latency, copy bandwidth, the FMA rate, the fixed cost
 * of a dispatch, every tile on every matrix at T = 1, 16 and 64, batch invariance and the methods;
 * then, with the fastest tile of each matrix ("tuned"), forward latency again — with Dawn's safety
 * defaults and with FAST_TOGGLES.
 */
async function realisticRuns(REALISTIC: ModelConfig, reps: number, quick: boolean, result: Record<string, unknown>): Promise<Record<string, unknown>> {
  log(`realistic random model: ${JSON.stringify(REALISTIC)}`);
  const weights: RandomSource = { kind: "random", seed: 1, std: 0.02 };       // the same weights for the runners and the probes
  const base = await webgpuRunner(REALISTIC, weights);
  result.adapter = base.adapter;
  result.card = cardName();
  log(`adapter: ${base.adapter}; card: ${result.card ?? "unknown"}`);
  log("default tiles:");
  const latency = forwardLatency(base, reps, SIZES);
  logLatency(latency);
  const probe = await openProbe(REALISTIC, weights);
  const { device } = probe.model;
  const copy = await timeCopy(device, 1 << 30, quick ? 5 : 20);
  const copyKernel = await timeCopyKernel(device, 1 << 30, quick ? 5 : 20);
  const copyBest = Math.max(copy.bytesPerSecond, copyKernel.bytesPerSecond);
  log(`  copy bandwidth (read + write): copyBufferToBuffer ${(copy.bytesPerSecond / 1e9).toFixed(0)} GB/s, copy kernel ${(copyKernel.bytesPerSecond / 1e9).toFixed(0)} GB/s`);
  const fmaFlops = await timeFmaKernel(device, quick ? 5 : 20);
  log(`  float32 multiply-add kernel (registers only): ${(fmaFlops / 1e12).toFixed(1)} TFLOP/s`);
  const dispatchSeconds = await timeDispatch(device, quick ? 50 : 200);
  log(`  one dependent dispatch of a trivial kernel: ${(dispatchSeconds * 1e6).toFixed(1)} us`);
  const sweep: TileRow[] = [];
  for (const matrix of MATRICES) {
    for (const [M, tiles] of [[1, SMALL_TILES], [16, LARGE_TILES], [64, LARGE_TILES]] as const) {
      for (const [name, tile] of Object.entries(tiles)) {
        let timing;
        try {
          timing = await timeMatmul(probe, M, tile, quick ? 10 : 40, matrix);
          // a difference of two timed submits can come out non-positive when the machine hiccups: measure again
          for (let retry = 0; retry < 3 && timing.seconds <= 0; retry++) timing = await timeMatmul(probe, M, tile, quick ? 10 : 40, matrix);
          if (timing.seconds <= 0) { log(`  tile ${name} on ${matrix} at M=${M}: no reliable timing, skipped`); continue; }
        } catch (error) {
          log(`  tile ${name} skipped: ${(error as Error).message}`);                      // more workgroup memory than the device has
          continue;
        }
        const { bytes, seconds } = timing;
        sweep.push({ matrix, tile: name, M, microseconds: seconds * 1e6, weightBytesPerSecond: bytes / seconds, ofCopy: bytes / seconds / copyBest, gflops: (2 * M * bytes / 4) / seconds / 1e9 });
      }
    }
  }
  const best = (matrix: MatrixName, M: number): TileRow => sweep.filter((r) => r.matrix === matrix && r.M === M).reduce((a, b) => (b.microseconds < a.microseconds ? b : a));
  const shapes = matrixShapes(REALISTIC);
  const defaultTile = (matrix: MatrixName, M: number): MatmulTile => tileFor(DEFAULT_TILES, matrix, shapes[matrix].N, M);
  // The default tile's row; a device with less workgroup memory runs a shrunk default (fitTile), unmeasured here: NaN.
  const current = (matrix: MatrixName, M: number): TileRow => sweep.find((r) => r.matrix === matrix && r.M === M &&
    JSON.stringify((M === 1 ? SMALL_TILES : LARGE_TILES)[r.tile]) === JSON.stringify(defaultTile(matrix, M)))
    ?? { matrix, tile: "default (not measured)", M, microseconds: NaN, weightBytesPerSecond: NaN, ofCopy: NaN, gflops: NaN };
  for (const matrix of MATRICES) {
    for (const M of [1, 16, 64]) {
      const b = best(matrix, M);
      const c = current(matrix, M);
      log(`  matmul ${matrix.padEnd(6)} M=${String(M).padStart(2)}: default tile ${c.tile} ${c.microseconds.toFixed(1)} us ` +
        `(${(100 * c.ofCopy).toFixed(0)}% of copy, ${c.gflops.toFixed(0)} GFLOP/s); fastest ${b.tile} ${b.microseconds.toFixed(1)} us (${(100 * b.ofCopy).toFixed(0)}% of copy, ${b.gflops.toFixed(0)} GFLOP/s)`);
    }
  }
  // Where the time of a forward goes: 16 layers x 4 matrices + the LM head, plus ~9 dispatches a layer.
  const { numLayers } = REALISTIC;
  const matmulMs = (pick: (m: MatrixName, M: number) => TileRow, M: number): number =>
    (numLayers * (["qkv", "wo", "gu", "down"] as const).reduce((s, m) => s + pick(m, M).microseconds, 0) + pick("lmHead", M).microseconds) / 1000;
  const dispatches = 9 * numLayers + 4;
  const accounting = {
    dispatches, dispatchMs: (dispatches * dispatchSeconds) * 1000,
    matmulMsT1Default: matmulMs(current, 1), matmulMsT1Fastest: matmulMs(best, 1),
    matmulMsT64Default: matmulMs(current, 64), matmulMsT64Fastest: matmulMs(best, 64),
  };
  log(`  accounting: ${dispatches} dispatches x ${(dispatchSeconds * 1e6).toFixed(1)} us = ${accounting.dispatchMs.toFixed(2)} ms; matmuls at T=1 ${accounting.matmulMsT1Default.toFixed(2)} ms ` +
    `(fastest tiles ${accounting.matmulMsT1Fastest.toFixed(2)}), at T=64 ${accounting.matmulMsT64Default.toFixed(2)} ms (fastest ${accounting.matmulMsT64Fastest.toFixed(2)})`);
  const invariant = batchInvariant(base, 64);
  log(`  batch-invariant (64 rows at once == one by one, bit for bit): ${invariant}`);
  const rng = new Rng("bench-gpu-prompts");
  const randomPrompts = Array.from({ length: quick ? 2 : 4 }, () => Array.from({ length: 16 }, () => rng.int(REALISTIC.vocabSize)));
  const emptyParams = null as unknown as Params;                                         // the runner holds the weights
  const sink: StepSink = { current: null, lastEnd: null };
  const realisticMethods = methods(methodSpecs(REALISTIC, emptyParams, recording(base, sink), quick ? 32 : 128, false, [16, 64], null), randomPrompts, base, sink);
  const baseGpu = await gpuForward(base, probe, quick ? 3 : 10, true);
  probe.close();
  base.close();
  const ceiling = ratioCeiling(REALISTIC, latency, baseGpu, copyBest, fmaFlops);

  const tuned: TileChoice = {
    ...DEFAULT_TILES,
    matrices: Object.fromEntries(MATRICES.map((m) => [m, { small: SMALL_TILES[best(m, 1).tile], large: LARGE_TILES[best(m, 64).tile] }])),
  };
  const tunedRuns = [];
  for (const toggles of [[], FAST_TOGGLES]) {
    log(`fastest tile per matrix, dawn toggles: ${toggles.length === 0 ? "none" : toggles.join(", ")}`);
    const runner = await webgpuRunner(REALISTIC, weights, { tiles: tuned, dawnToggles: toggles });
    const tunedProbe = await openProbe(REALISTIC, weights, { tiles: tuned, dawnToggles: toggles });
    const tunedLatency = forwardLatency(runner, reps, SIZES);
    logLatency(tunedLatency);
    const tunedInvariant = batchInvariant(runner, 64);
    log(`  batch-invariant: ${tunedInvariant}`);
    const tunedGpu = await gpuForward(runner, tunedProbe, quick ? 3 : 10);
    tunedProbe.close();
    runner.close();
    tunedRuns.push({ dawnToggles: toggles, forwardLatency: tunedLatency, gpuForward: tunedGpu, batchInvariant: tunedInvariant });
  }
  return {
    config: REALISTIC, weights: "uniform random, std 0.02, seed 1", defaultTiles: DEFAULT_TILES,
    forwardLatency: latency, gpuForward: baseGpu, copy: { bufferCopy: copy.bytesPerSecond, kernel: copyKernel.bytesPerSecond, best: copyBest },
    fmaFlopsPerSecond: fmaFlops, ceiling,
    dispatchSeconds, tiles: { small: SMALL_TILES, large: LARGE_TILES }, sweep, accounting, batchInvariant: invariant, methods: realisticMethods,
    tuned: { tiles: tuned, runs: tunedRuns },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const models = args.includes("--realistic-only") ? []
    : args.includes("--model")
    ? [{ dir: args[args.indexOf("--model") + 1], dataset: (args.includes("--data") ? args[args.indexOf("--data") + 1] : "math") as BenchDataset }]
    : (["math", "code"] as const).map((dataset) => ({ dir: BENCH_MODELS[dataset].jf, dataset }));
  const result = args.includes("--hf") ? await folderBench(folderBenchOptions(args))           // one folder: bench/gpu-folder.ts
    : await gpuBench({ models, quick: args.includes("--quick"), smoke: args.includes("--smoke") });
  process.stdout.write(JSON.stringify(result, null, 1) + "\n");
}
