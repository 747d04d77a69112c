/**
 * Decoding-method benchmark: AR greedy, Jacobi and multi-block (MR) decoding side by side on one model,
 * in one run.
 *
 * For each method: tokens per forward (TPF), token positions processed per committed token (the compute
 * the parallelism costs), decode tokens per second, the speedup over AR measured in this same run, and
 * whether the output is identical to AR's (it must be; a `false` here is a bug).
 *
 * What to expect on an untrained model: TPF near 1 — a random model's next token is not predictable
 * from a guess, so Jacobi commits about one token per forward while processing several positions per
 * forward. On this CPU a forward over T tokens costs about T times a forward over one (`bench/forward.ts`
 * measures it), so Jacobi is then SLOWER than AR in wall-clock time. The speedup the paper reports needs
 * both a trained model (TPF ≈ 3-4) and hardware where T parallel tokens cost little more than one.
 *
 * A benchmark, not a test: compare numbers measured in the same run only.
 *
 * @module
 */
import { KVCache } from "../src/model/cache.ts";
import type { ModelConfig } from "../src/model/config.ts";
import type { Params } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import type { DecodeStats } from "../src/decoding/acceptance.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi, type JacobiMode } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { medianMs } from "./forward.ts";

/** One row of the method table. */
export interface MethodRow {
  /** `ar`, or `jacobi n=16 block`. */
  readonly method: string;
  /** Committed tokens per decode forward. */
  readonly tokensPerForward: number;
  /** Token positions processed per committed token (1 for AR). */
  readonly positionsPerToken: number;
  /** Decode tokens per second (the prefill's time subtracted). */
  readonly tokensPerSecond: number;
  /** tokensPerSecond / AR's tokensPerSecond, measured in this run. */
  readonly speedup: number;
  /** Whether the tokens equal AR greedy's (must be true). */
  readonly identicalToAr: boolean;
}

/** What {@link compareMethods} runs. */
export interface MethodBenchOptions {
  /** Tokens to generate per run (EOS ignored). */
  readonly newTokens: number;
  /** Timed repetitions per method (the median is kept). */
  readonly reps: number;
  /** Jacobi configurations to compare with AR. */
  readonly jacobi: readonly { readonly blockSize: number; readonly mode: JacobiMode }[];
  /** Multi-block configurations to compare with AR (none when absent). */
  readonly multiBlock?: readonly { readonly blockSize: number; readonly maxBlocks: number; readonly spawnRatio: number; readonly poolSize: number }[];
}

/** The multi-block row of `npm run bench`: the paper's K, r and pool at n = 16. */
export const DEFAULT_MR_RUNS: NonNullable<MethodBenchOptions["multiBlock"]> = [
  { blockSize: 16, maxBlocks: 2, spawnRatio: 0.85, poolSize: 4 },
];

/** The Jacobi rows of `npm run bench`: a few block sizes, and the window mode. */
export const DEFAULT_JACOBI_RUNS: MethodBenchOptions["jacobi"] = [
  { blockSize: 4, mode: "block" },
  { blockSize: 16, mode: "block" },
  { blockSize: 32, mode: "block" },
  { blockSize: 16, mode: "window" },
];

/**
 * Times AR greedy and each Jacobi configuration on the same prompt and model, and checks each output
 * against AR's.
 *
 * @example
 * ```ts
 * compareMethods(PRESETS.small, initParams(PRESETS.small, { seed: 0 }), { newTokens: 64, reps: 3, jacobi: DEFAULT_JACOBI_RUNS });
 * ```
 */
export function compareMethods(config: ModelConfig, params: Params, options: MethodBenchOptions): MethodRow[] {
  const prompt = [config.bosTokenId, 40, 41, 42, 43];
  const stop = { maxNewTokens: options.newTokens, eosTokenId: null };
  const prefillMs = medianMs(() => forward(config, params, prompt, { cache: new KVCache(config) }), options.reps);
  const measure = (decode: () => { tokens: number[]; stats: DecodeStats }) => {
    const result = decode();
    const ms = medianMs(decode, options.reps) - prefillMs;
    return { result, tokensPerSecond: result.tokens.length / (ms / 1000) };
  };

  const ar = measure(() => arGreedy(config, params, prompt, stop));
  const row = (method: string, m: ReturnType<typeof measure>): MethodRow => ({
    method,
    tokensPerForward: m.result.stats.tokensPerForward,
    positionsPerToken: m.result.stats.tokenPositions / m.result.stats.committedTokens,
    tokensPerSecond: m.tokensPerSecond,
    speedup: m.tokensPerSecond / ar.tokensPerSecond,
    identicalToAr: m.result.tokens.length === ar.result.tokens.length && m.result.tokens.every((t, i) => t === ar.result.tokens[i]),
  });
  const rows = [row("ar", ar)];
  for (const { blockSize, mode } of options.jacobi) {
    rows.push(row(`jacobi n=${blockSize} ${mode}`, measure(() => jacobi(config, params, prompt, { ...stop, blockSize, mode }))));
  }
  for (const { blockSize, maxBlocks, spawnRatio, poolSize } of options.multiBlock ?? []) {
    rows.push(row(`mr n=${blockSize} K=${maxBlocks} pool=${poolSize}`,
      measure(() => multiBlock(config, params, prompt, { ...stop, blockSize, maxBlocks, spawnRatio, poolSize }))));
  }
  return rows;
}

/** The method table as aligned text. */
export function formatMethodRows(rows: readonly MethodRow[]): string {
  const lines = ["method                 TPF   positions/token   tokens/s   speedup vs AR   identical to AR"];
  for (const r of rows) {
    lines.push(`${r.method.padEnd(20)} ${r.tokensPerForward.toFixed(2).padStart(5)}   ${r.positionsPerToken.toFixed(2).padStart(15)}   ` +
      `${r.tokensPerSecond.toFixed(0).padStart(8)}   ${r.speedup.toFixed(2).padStart(12)}x   ${r.identicalToAr ? "yes" : "NO (a bug)"}`);
  }
  return lines.join("\n") + "\n";
}
