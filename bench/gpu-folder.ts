/**
 * `npm run bench:gpu -- --hf DIR`: any model folder (Hugging Face's layout: `config.json`,
 * `model.safetensors` or an index and its shards; F32, F16, BF16) streamed to the GPU and measured, no
 * tokenizer needed: the card and its copy bandwidth (the probe's copy kernel over 256 MiB, read + write), the load
 * (seconds, the host's peak memory, the bytes of weights on the GPU), forward latency t(T) for T = 1,
 * 16, 64 (`forwardLatency`: a warm GPU, after a 32-token cache, medians), and AR and Jacobi (block 16)
 * on prompts given as token ids: tokens/s, Jacobi's TPF, the greedy tokens, and whether Jacobi's equal
 * AR's. Options: `--prompts FILE` (a JSON array of arrays of ids; default three seeded random prompts of
 * 64 ids), `--new-tokens N` (64), `--max-positions N` (the context the runner allocates, 1024, at most
 * the config's), `--reps N` (latency repetitions, 21); for a sweep, `--tiles JSON` (fields of a
 * `TileChoice` over `DEFAULT_TILES`, e.g. `'{"large":{"TM":8,"TN":4,"GM":1,"GN":8,"U":4}}'`),
 * `--dawn-toggles a,b,c` and `--latency-only` (no decoding).
 *
 * EOS is ignored (a random model stops anywhere): every decode makes exactly N tokens. Tokens/s count a
 * decode's whole wall time, prefill included, as `generate` of transformers is timed. Prints one JSON
 * object; a summary goes to stderr. The bundle (`npm run build:gpu`) runs it as
 * `node dist/webgpu/gpu.mjs --hf DIR`, needing only the `webgpu` package. A benchmark, not a test.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { folderConfig, folderTensors } from "../src/backend/webgpu/folder.ts";
import { DEFAULT_TILES, type TileChoice } from "../src/backend/webgpu/gpu-model.ts";
import { WEIGHTS_ON_GPU, webgpuRunner } from "../src/backend/webgpu/runner.ts";
import { openDevice } from "../src/backend/webgpu/worker.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { paramSpecs } from "../src/model/params.ts";
import { Rng } from "../src/tensor/random.ts";
import { forwardLatency, log } from "./gpu-latency.ts";
import { cardName, timeCopyKernel } from "./gpu-probe.ts";

/** What to measure. */
export interface FolderBenchOptions {
  readonly dir: string;
  /** Prompts as token ids; null: three seeded random prompts of 64 ids. */
  readonly prompts: number[][] | null;
  readonly newTokens: number;
  readonly maxPositions: number;
  readonly reps: number;
  /** The matmul tiles: DEFAULT_TILES with these fields replaced. */
  readonly tiles: Partial<TileChoice>;
  readonly dawnToggles: string[];
  /** Only the load and t(T): no decoding. */
  readonly latencyOnly: boolean;
}

/** The options from the command line (after `--hf DIR`). */
export function folderBenchOptions(args: readonly string[]): FolderBenchOptions {
  const value = (flag: string): string | undefined => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const file = value("--prompts");
  return {
    dir: value("--hf")!,
    prompts: file === undefined ? null : JSON.parse(readFileSync(file, "utf8")) as number[][],
    newTokens: Number(value("--new-tokens") ?? 64),
    maxPositions: Number(value("--max-positions") ?? 1024),
    reps: Number(value("--reps") ?? 21),
    tiles: JSON.parse(value("--tiles") ?? "{}") as Partial<TileChoice>,
    dawnToggles: value("--dawn-toggles")?.split(",") ?? [],
    latencyOnly: args.includes("--latency-only"),
  };
}

/** One decoding method over every prompt: tokens, forwards and wall seconds. */
function decodeAll(prompts: number[][], decode: (prompt: number[]) => { tokens: number[]; stats: { forwards: number } }) {
  decode(prompts[0].slice(0, 8));                                                  // warm-up
  const start = performance.now();
  const runs = prompts.map((p) => decode(p));
  const seconds = (performance.now() - start) / 1000;
  const tokens = runs.map((r) => r.tokens);
  const count = tokens.reduce((s, t) => s + t.length, 0);
  return { tokens, seconds, tokensPerSecond: count / seconds, tokensPerForward: count / runs.reduce((s, r) => s + r.stats.forwards, 0) };
}

/** Runs every measurement on the folder; returns the JSON the bench prints. */
export async function folderBench(options: FolderBenchOptions): Promise<Record<string, unknown>> {
  const { dir, newTokens, maxPositions } = options;
  const config = folderConfig(dir);
  const { tensors } = folderTensors(dir, config);
  const dtypes = [...new Set(Object.values(tensors).map((t) => t.dtype))];
  const parameters = paramSpecs(config).reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);
  log(`folder ${dir}: ${config.architecture}, ${parameters} parameters in ${dtypes.join(", ")}, context ${maxPositions} of ${config.maxPositions}`);

  // The copy kernel over 256 MiB (five times an H100's L2 cache), on a device of its own, before the model loads.
  const opened = await openDevice([]);
  if (typeof opened === "string") throw new Error(`bench: ${opened}`);
  opened.device.pushErrorScope("out-of-memory");
  const copy = await timeCopyKernel(opened.device, 1 << 28, 20);
  const failed = await opened.device.popErrorScope();
  opened.device.destroy();
  if (failed !== null) throw new Error(`bench: the copy kernel's two 256 MiB buffers do not fit: ${failed.message}`);
  log(`  copy kernel: ${(copy.bytesPerSecond / 1e9).toFixed(0)} GB/s (read + write)`);

  let sampled = process.memoryUsage().rss;
  const sampler = setInterval(() => { sampled = Math.max(sampled, process.memoryUsage().rss); }, 20);
  const start = performance.now();
  const tiles = { ...DEFAULT_TILES, ...options.tiles };
  const runner = await webgpuRunner(config, { kind: "folder", dir }, { maxPositions, tiles, dawnToggles: options.dawnToggles });
  const loadSeconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  const peakHostBytes = process.resourceUsage().maxRSS * 1024;
  log(`  loaded in ${loadSeconds.toFixed(1)} s; ${runner.weightBytes} bytes of weights on the GPU; host peak ${(peakHostBytes / 2 ** 30).toFixed(2)} GiB (sampled rss ${(sampled / 2 ** 30).toFixed(2)} GiB)`);
  try {
    const latency = forwardLatency(runner, options.reps, [1, 16, 64]);
    const ms = (T: number): number | null => latency.find((r) => r.T === T)?.ms ?? null;
    // What T = 1 must read: every weight but an untied embedding (only gathered), at the copy kernel's rate.
    const gathered = config.tieWordEmbeddings ? 0 : config.vocabSize * config.hiddenSize * (tensors.embed.dtype === "F32" || tensors.embed.dtype === "F64" ? 4 : 2);
    const streamFloorMs = 1000 * (runner.weightBytes - gathered) / copy.bytesPerSecond;
    log(`  t(1) ${ms(1)?.toFixed(3)} ms, t(16) ${ms(16)?.toFixed(3)} ms, t(64) ${ms(64)?.toFixed(3)} ms; the weights streamed at the copy rate: ${streamFloorMs.toFixed(3)} ms`);
    const measured = {
      date: new Date().toISOString(), node: process.version, options, tiles, card: cardName() ?? runner.adapter, adapter: runner.adapter,
      copyBandwidthGBs: copy.bytesPerSecond / 1e9,
      model: { architecture: config.architecture, parameters, dtype: dtypes.length === 1 ? dtypes[0] : dtypes, config: runner.config },
      loadSeconds, peakHostBytes, peakHostBytesSampled: sampled, weightBytesOnGpu: runner.weightBytes,
      t1Ms: ms(1), t16Ms: ms(16), t64Ms: ms(64), streamFloorMs, forwardLatency: latency,
    };
    if (options.latencyOnly) return measured;
    const rng = new Rng("bench-gpu-folder");
    const prompts = options.prompts ?? Array.from({ length: 3 }, () => Array.from({ length: 64 }, () => rng.int(config.vocabSize)));
    const stop = { maxNewTokens: newTokens, eosTokenId: null, runner };
    const ar = decodeAll(prompts, (p) => arGreedy(runner.config, WEIGHTS_ON_GPU, p, stop));
    const jacobi16 = decodeAll(prompts, (p) => jacobi(runner.config, WEIGHTS_ON_GPU, p, { ...stop, blockSize: 16 }));
    const identicalTokens = JSON.stringify(jacobi16.tokens) === JSON.stringify(ar.tokens);
    log(`  AR ${ar.tokensPerSecond.toFixed(1)} tokens/s; Jacobi n=16 TPF ${jacobi16.tokensPerForward.toFixed(2)}, ${jacobi16.tokensPerSecond.toFixed(1)} tokens/s, ${identicalTokens ? "identical to AR" : "DIFFERS FROM AR"}`);
    return {
      ...measured,
      prompts, newTokens, eos: "ignored: every decode makes newTokens tokens; tokens/s include each prompt's prefill",
      ar: { tokensPerSecond: ar.tokensPerSecond, seconds: ar.seconds, tokens: ar.tokens },
      jacobi: { blockSize: 16, tokensPerForward: jacobi16.tokensPerForward, tokensPerSecond: jacobi16.tokensPerSecond, seconds: jacobi16.seconds, tokens: jacobi16.tokens, identicalTokens },
    };
  } finally {
    runner.close();
  }
}
