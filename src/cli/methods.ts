/**
 * The decoding methods of `--method`, as `generate` and `eval` run them, and their flags: `ar` (AR
 * greedy, or sampled with `--temperature`), `jacobi` (`--block-size` n, `--init`, `--mode`) and `mr`,
 * multi-block decoding with rejection recycling (`--blocks` K, `--spawn-ratio` r, `--pool`,
 * `--pool-kind`). A flag the command does not declare is left to the decoder's default: `eval` declares
 * no sampling, draft or mode flags, and decodes greedily with the default draft. And
 * `evaluationDecoder`, which turns a decoding call into the decoder an evaluation task takes (`eval`, and
 * the evaluations of `train` and `distill`).
 *
 * What it is not: a decoder. Each method is one call of `src/decoding/`, configured by the flags.
 *
 * @module
 */
import type { DecodeStats, StopOptions } from "../decoding/acceptance.ts";
import type { DraftInit } from "../decoding/draft.ts";
import { arGreedy } from "../decoding/greedy.ts";
import { jacobi } from "../decoding/jacobi.ts";
import { multiBlock } from "../decoding/multiblock.ts";
import { POOL_KINDS, type PoolKind } from "../decoding/recycling.ts";
import { arSample, resolveSampling, type SamplingOptions } from "../decoding/sampling.ts";
import { MULTIBLOCK_DEFAULTS, type JacobiMode, type JacobiStats, type JacobiStep, type MultiBlockStats } from "../decoding/types.ts";
import type { Decode } from "../evaluation/tasks.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import type { ModelRunner } from "../model/runner.ts";
import type { FlagSpec, Flags } from "./args.ts";

/**
 * When a method stops, and the backend it runs on.
 *
 * @category CLI
 */
export interface MethodStop extends StopOptions {
  /** The backend the method runs on. */
  readonly runner: ModelRunner;
}

/**
 * What a method returns: the tokens, and the stats (with per-block iterations where there are blocks).
 *
 * @category CLI
 */
export interface MethodResult {
  /** The generated tokens. */
  readonly tokens: number[];
  /** What the run cost; `iterationsPerBlock` from Jacobi, `acceptedFrom` from multi-block. */
  readonly stats: DecodeStats & Partial<Pick<JacobiStats, "iterationsPerBlock">> & Partial<Omit<MultiBlockStats, keyof DecodeStats>>;
}

/**
 * A decoding method as the CLI runs it; `onIteration` is given only by `generate --trace`.
 *
 * @category CLI
 */
export type Method = (config: ModelConfig, params: Params, prompt: readonly number[], stop: MethodStop, flags: Flags, onIteration?: (step: JacobiStep) => void) => MethodResult;

/** The sampling options: none (greedy) unless `--temperature` is above 0. */
function samplingOptions(flags: Flags): SamplingOptions {
  return {
    temperature: flags.temperature as number,
    ...(flags["top-k"] !== undefined ? { topK: flags["top-k"] as number } : {}),
    ...(flags["top-p"] !== undefined ? { topP: flags["top-p"] as number } : {}),
  };
}

/**
 * `--block-size` n, or the method's own default `fallback`: 16 for Jacobi, the paper's 64 for multi-block.
 *
 * @example
 * ```ts
 * blockSize({ "block-size": 8 }, 16); // 8
 * blockSize({}, MULTIBLOCK_DEFAULTS.blockSize); // 64
 * ```
 * @category CLI
 */
export function blockSize(flags: Flags, fallback: number): number {
  return (flags["block-size"] as number | undefined) ?? fallback;
}

/**
 * The methods by their `--method` name.
 *
 * @category CLI
 */
export const METHODS: Readonly<Record<string, Method>> = {
  ar: (config, params, prompt, stop, flags) => (resolveSampling(samplingOptions(flags), "generate --method ar") === null
    ? arGreedy(config, params, prompt, stop)
    : arSample(config, params, prompt, { ...stop, ...samplingOptions(flags), seed: flags.seed as number })),
  jacobi: (config, params, prompt, stop, flags, onIteration) => jacobi(config, params, prompt, {
    ...stop,
    ...samplingOptions(flags),
    blockSize: blockSize(flags, 16),
    init: flags.init as DraftInit,
    mode: flags.mode as JacobiMode,
    seed: flags.seed as number,
    onIteration,
  }),
  mr: (config, params, prompt, stop, flags) => multiBlock(config, params, prompt, {
    ...stop,
    ...samplingOptions(flags),
    blockSize: blockSize(flags, MULTIBLOCK_DEFAULTS.blockSize),
    maxBlocks: flags.blocks as number,
    spawnRatio: flags["spawn-ratio"] as number,
    poolSize: flags.pool as number,
    poolKind: flags["pool-kind"] as PoolKind,
    init: flags.init as DraftInit,
    seed: flags.seed as number,
  }),
};

/**
 * A decoder as `src/evaluation/tasks.ts` takes it (the tokens and the forwards they took), from a call of
 * a decoder with the stopping options of each prompt: the budget, and EOS unless the task ignores it.
 *
 * @example
 * ```ts
 * mathAccuracy(tokenizer, problems, evaluationDecoder((prompt, stop) => arGreedy(config, params, prompt, stop)));
 * ```
 * @category CLI
 */
export function evaluationDecoder(decode: (prompt: readonly number[], stop: StopOptions) => { tokens: number[]; stats: DecodeStats }): Decode {
  return (prompt, maxNewTokens, options) => {
    const g = decode(prompt, { maxNewTokens, ...(options?.ignoreEos ? { eosTokenId: null } : {}) });
    return { tokens: g.tokens, forwards: g.stats.forwards };
  };
}

/**
 * The `--method` flag's specification.
 *
 * @category CLI
 */
export const METHOD_FLAG: FlagSpec = { type: "string", choices: Object.keys(METHODS), default: "ar", help: "decoding method" };

/**
 * The flags of multi-block decoding (`--method mr`), with the paper's defaults.
 *
 * @category CLI
 */
export const MULTIBLOCK_FLAGS: Readonly<Record<string, FlagSpec>> = {
  blocks: { type: "int", default: MULTIBLOCK_DEFAULTS.maxBlocks, help: "mr: most blocks in flight K" },
  "spawn-ratio": { type: "number", default: MULTIBLOCK_DEFAULTS.spawnRatio, help: "mr: spawn a block once the newest has ceil(r n) tokens settled" },
  pool: { type: "int", default: MULTIBLOCK_DEFAULTS.poolSize, help: "mr: candidate pool size (0: no recycling)" },
  "pool-kind": { type: "string", choices: POOL_KINDS, default: "recycling", help: "mr: rejection recycling, or Lookahead's n-gram pool" },
};
