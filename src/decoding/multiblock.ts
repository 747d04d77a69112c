/**
 * Multi-block decoding with rejection recycling (MR): the paper's Algorithm 1. Up to K blocks of n
 * tokens are in flight; only the first is verified and committed, the others are drafted behind it so
 * that they are already half-converged when their turn comes; and the rejected drafts of the past are
 * recycled as extra candidate drafts, verified in the same forward. The output equals AR greedy's.
 *
 * One MR iteration, as the algorithm box reads (see `docs/multiblock.md` for a worked picture):
 * 1. Rows. The main row is the real-active (RA) block's window — the seed (always right) and its
 *    drafts — followed by the pseudo-active blocks' drafts, at the positions right after it. Each
 *    candidate row from the pool is another guess for the RA window, at the RA window's positions.
 * 2. One forward over all rows, with explicit positions and a mask: every row sees the committed KV
 *    prefix and the earlier tokens of its own row, nothing else. Row logits are bit-identical to those
 *    of a forward of that row alone (batch-invariant kernels, keys summed in the same order).
 * 3. Verify the RA window and every candidate with the one acceptance rule (`acceptedPrefixLength`;
 *    `verifySampled` with a temperature), keep the row that accepts the most (ties: the original),
 *    commit its verified prefix, and keep exactly its KV rows (`cache.truncate` / `cache.keepRows`).
 * 4. Update. The RA window gets the Jacobi update of the winning row; every pseudo-active token gets
 *    the argmax of the main-row position before it (the first token of a block from the last token of
 *    the block before — a Jacobi iteration of the whole main row, behind an unverified prefix). The
 *    rejected tail goes into the pool.
 * 5. Promote. When the RA block is complete the next block is promoted: its seed is replaced by the
 *    true next token and all its drafts are verified again under the now-committed prefix — Algorithm
 *    1 continues with it (the public code returns here and throws the promoted draft away).
 * 6. Spawn. When the newest block has `ceil(r n)` tokens settled (RA: committed; pseudo-active: a
 *    leading run that the last update left unchanged) and fewer than K blocks are in flight, a new block
 *    of fresh drafts is appended behind it.
 *
 * Why it stays lossless: only RA tokens are committed, and only by the acceptance rule, whose verdict
 * depends on nothing but the committed text and the row's own tokens. Pseudo-active blocks and pool
 * candidates only change which guesses are verified — so only the speed, never the output.
 *
 * With K = 1 and an empty pool this is block Jacobi (`jacobi.ts`), forward for forward.
 *
 * What it is not: a serving engine (one sequence, CPU, float64). Pool candidates are proposed for the RA
 * window only, and acceptance stops at the RA block's end even where the block behind it would verify
 * in the same forward (the paper re-verifies it after promotion) — `docs/multiblock.md` §6 lists every
 * deliberate difference from the public code.
 *
 * Shape legend: n block size, K blocks in flight, P committed positions in the cache, T tokens in one
 * forward (main row + candidate rows), V vocabulary.
 *
 * Paper: §3.2, Algorithm 1, Fig. 3; docs/ALGORITHM.md §4. Read next: `recycling.ts` (the pools) and
 * `sampling.ts` (the lossless sampling rule).
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { resolveRunner, type ForwardResult, type RunnerOption, type SequenceCache } from "../model/runner.ts";
import { Rng } from "../tensor/random.ts";
import {
  DecodingError, acceptedPrefixLength, generationBudget, makeStats, oneOf, positiveIntegerOption, stopToken,
  type DecodeStats, type StopOptions,
} from "./acceptance.ts";
import { DRAFT_INITS, draftTokens, type DraftInit } from "./jacobi.ts";
import { POOL_KINDS, makePool, type CandidatePool, type PoolKind } from "./recycling.ts";
import {
  resolveSampling, sampleToken, samplingDistribution, verifySampled, type ResolvedSampling, type SamplingOptions,
} from "./sampling.ts";

// ---------------------------------------------------------------- options

/**
 * Options of {@link multiBlock}, with the paper's names and the reference defaults.
 *
 * @example
 * ```ts
 * const options: MultiBlockOptions = { maxNewTokens: 64, blockSize: 16, maxBlocks: 2, spawnRatio: 0.85, poolSize: 4, poolKind: "recycling" };
 * ```
 * @category Decoding
 */
export interface MultiBlockOptions extends StopOptions, SamplingOptions, RunnerOption {
  /** n, tokens per block; default 64 (the paper's). */
  readonly blockSize?: number;
  /** K, most blocks in flight (1 real-active + K-1 pseudo-active); default 2. */
  readonly maxBlocks?: number;
  /** r in (0, 1]: a new block is spawned once the newest has `ceil(r n)` tokens settled; default 0.85. */
  readonly spawnRatio?: number;
  /** Entries in the candidate pool (the verification size); 0 disables recycling; default 4. */
  readonly poolSize?: number;
  /** `'recycling'` (the paper's, default) or `'ngram'` (Lookahead decoding's). */
  readonly poolKind?: PoolKind;
  /** Candidates are verified only once the RA block has committed this fraction of n, in [0, 1]; default 0. */
  readonly lookaheadStartRatio?: number;
  /**
   * Most forwards per RA block, a safety net; default n (never fires: each forward commits a token). A
   * smaller cap ends the block at what it has committed, drops the pseudo-active blocks behind it (their
   * positions no longer follow) and starts a fresh block; the output is unchanged.
   */
  readonly maxIterations?: number;
  /** How fresh draft tokens are guessed (as in `jacobi`); default `'context'`. */
  readonly init?: DraftInit;
  /** Seed of the draft generator and of the sampling stream; default 0. */
  readonly seed?: number;
  /** Called after every forward, for tracing and tests. It may read `step.cache` but must not change it. */
  readonly onIteration?: (step: MultiBlockStep) => void;
}

/**
 * {@link MultiBlockOptions} with defaults filled in and checked.
 *
 * @example
 * ```ts
 * resolveMultiBlockOptions({ maxNewTokens: 8 }, "multiBlock").blockSize; // 64, the paper's default
 * ```
 * @category Decoding
 */
export interface ResolvedMultiBlockOptions {
  /** n. */
  readonly blockSize: number;
  /** K. */
  readonly maxBlocks: number;
  /** r. */
  readonly spawnRatio: number;
  /** Pool entries. */
  readonly poolSize: number;
  /** Pool kind. */
  readonly poolKind: PoolKind;
  /** Lookahead start ratio. */
  readonly lookaheadStartRatio: number;
  /** Per-RA-block cap. */
  readonly maxIterations: number;
  /** Draft initialisation. */
  readonly init: DraftInit;
  /** Seed. */
  readonly seed: number;
  /** Null for greedy decoding. */
  readonly sampling: ResolvedSampling | null;
}

/**
 * The paper's reference configuration: n = 64, K = 2, r = 0.85, pool 4.
 *
 * @example
 * ```ts
 * MULTIBLOCK_DEFAULTS; // { blockSize: 64, maxBlocks: 2, spawnRatio: 0.85, poolSize: 4 }: the reference engine's defaults
 * ```
 * @category Decoding
 */
export const MULTIBLOCK_DEFAULTS = {
  /** n. */
  blockSize: 64,
  /** K. */
  maxBlocks: 2,
  /** r. */
  spawnRatio: 0.85,
  /** Pool entries. */
  poolSize: 4,
} as const;

function ratioOption(where: string, name: string, value: unknown, lowestOpen: boolean): number {
  const ok = typeof value === "number" && (lowestOpen ? value > 0 : value >= 0) && value <= 1;
  if (!ok) throw new DecodingError(`${where}: ${name} must be a number in ${lowestOpen ? "(0, 1]" : "[0, 1]"}, got ${JSON.stringify(value) ?? String(value)}`);
  return value;
}

/**
 * Fills in defaults and checks every multi-block option.
 *
 * @throws DecodingError naming the option, its value and what was expected
 * @example
 * ```ts
 * resolveMultiBlockOptions({ maxNewTokens: 8 }, "multiBlock").spawnRatio;            // 0.85
 * resolveMultiBlockOptions({ maxNewTokens: 8, spawnRatio: 0 }, "multiBlock");        // throws: multiBlock: spawnRatio must be a number in (0, 1], got 0
 * ```
 * @category Decoding
 */
export function resolveMultiBlockOptions(options: MultiBlockOptions, where: string): ResolvedMultiBlockOptions {
  const blockSize = positiveIntegerOption(where, "blockSize", options.blockSize ?? MULTIBLOCK_DEFAULTS.blockSize);
  const maxBlocks = positiveIntegerOption(where, "maxBlocks", options.maxBlocks ?? MULTIBLOCK_DEFAULTS.maxBlocks);
  const spawnRatio = ratioOption(where, "spawnRatio", options.spawnRatio ?? MULTIBLOCK_DEFAULTS.spawnRatio, true);
  const poolSize = options.poolSize ?? MULTIBLOCK_DEFAULTS.poolSize;
  if (!Number.isInteger(poolSize) || poolSize < 0) throw new DecodingError(`${where}: poolSize must be a non-negative integer, got ${JSON.stringify(poolSize) ?? String(poolSize)}`);
  const poolKind = oneOf(where, "poolKind", options.poolKind ?? "recycling", POOL_KINDS);
  const lookaheadStartRatio = ratioOption(where, "lookaheadStartRatio", options.lookaheadStartRatio ?? 0, false);
  const maxIterations = positiveIntegerOption(where, "maxIterations", options.maxIterations ?? blockSize);
  const init = oneOf(where, "init", options.init ?? "context", DRAFT_INITS);
  const seed = options.seed ?? 0;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) throw new DecodingError(`${where}: seed must be an integer, got ${JSON.stringify(seed) ?? String(seed)}`);
  return {
    blockSize, maxBlocks, spawnRatio, poolSize, poolKind, lookaheadStartRatio, maxIterations, init, seed,
    sampling: resolveSampling(options, where),
  };
}

// ---------------------------------------------------------------- results

/**
 * Where the committed tokens came from; the four counts add up to the committed tokens.
 *
 * @example
 * ```ts
 * // MR n=16 K=2 pool 4 on the math teacher, prompt 914+169: 34 tokens in 25 forwards
 * // { seed: 25, draft: 3, recycled: 4, promoted: 2 }
 * ```
 * @category Decoding
 */
export interface AcceptedFrom {
  /** The first token of each verification: predicted by the forward before it, so always right. */
  readonly seed: number;
  /** Further tokens from the RA block's own Jacobi draft. */
  readonly draft: number;
  /** Further tokens from a pool candidate that won its verification. */
  readonly recycled: number;
  /** Further tokens in the first verification of a promoted block: drafted while it was pseudo-active. */
  readonly promoted: number;
}

/**
 * {@link DecodeStats} plus what only multi-block decoding has.
 *
 * @example
 * ```ts
 * // MR n=16 K=2 r=0.85 pool 4 on the math teacher, prompt 914+169:
 * // { forwards: 25, committedTokens: 34, tokensPerForward: 1.36, tokenPositions: 628, positionsPerToken: 18.47,
 * //   iterationsPerBlock: [12, 11, 2], acceptedFrom: { seed: 25, draft: 3, recycled: 4, promoted: 2 }, spawned: 2, promoted: 2, ... }
 * ```
 * @category Decoding
 */
export interface MultiBlockStats extends DecodeStats {
  /** tokenPositions / committedTokens: the compute paid per committed token (1 for AR). */
  readonly positionsPerToken: number;
  /** Forwards spent on each RA block, in order. */
  readonly iterationsPerBlock: readonly number[];
  /** Where the committed tokens came from. */
  readonly acceptedFrom: AcceptedFrom;
  /** Blocks spawned behind the RA block. */
  readonly spawned: number;
  /** Pseudo-active blocks promoted to RA. */
  readonly promoted: number;
}

/**
 * What {@link multiBlock} returns.
 *
 * @example
 * ```ts
 * const { tokens, stats } = multiBlock(config, params, prompt, { maxNewTokens: 64, blockSize: 16 });
 * tokens; // equal to arGreedy(config, params, prompt, { maxNewTokens: 64 }).tokens
 * ```
 * @category Decoding
 */
export interface MultiBlockResult {
  /** The generated tokens; equal to AR greedy's (or an AR sample's distribution with a temperature). */
  readonly tokens: number[];
  /** What it cost. */
  readonly stats: MultiBlockStats;
}

/**
 * What {@link MultiBlockOptions.onIteration} sees after each forward.
 *
 * @example
 * ```ts
 * // the 4th forward of MR n=16 on the math teacher, prompt 914+169 (cache left out):
 * // { block: 0, iteration: 4, committedBefore: 3, window: [5, 18, 18, 8, 7, 3, 3, 3, 7, 7, 7, 7, 7],
 * //   candidates: [[5, 5, 5, 5, 5, 16, 3, 3, 7, 7, 7, 7, 7], ...two more], pseudoBlocks: [], winner: -1, accepted: 1 }
 * ```
 * @category Decoding
 */
export interface MultiBlockStep {
  /** Index of the RA block (0, 1, ... in commit order). */
  readonly block: number;
  /** 1-based forward within the RA block. */
  readonly iteration: number;
  /** Tokens committed before this forward (the prompt not counted). */
  readonly committedBefore: number;
  /** [T_RA] the RA window forwarded: the seed, then drafts. */
  readonly window: readonly number[];
  /** The pool's candidate rows for the RA window, each [T_RA]. */
  readonly candidates: readonly (readonly number[])[];
  /** The pseudo-active blocks forwarded behind the RA window, nearest first. */
  readonly pseudoBlocks: readonly (readonly number[])[];
  /** -1 when the RA window won, else the index of the winning candidate. */
  readonly winner: number;
  /** Tokens of the winning row committed (1..T_RA). */
  readonly accepted: number;
  /** The cache after this forward: prompt + committed tokens. Read only. */
  readonly cache: SequenceCache;
}

// ---------------------------------------------------------------- the decoder

/** The real-active block: its window (seed first) and how far it has got. */
interface RealActive {
  /** The tokens of the block not committed yet, seed first. */
  window: number[];
  /** Tokens of this block committed so far. */
  committed: number;
  /** Forwards spent on it. */
  iterations: number;
  /** True until the first verification after a promotion. */
  fresh: boolean;
}

/** A pseudo-active block: drafts at the positions after the block before it, never committed. */
interface PseudoActive {
  /** [n_b] its tokens. */
  draft: number[];
  /** Leading tokens that the last update left unchanged (its progress, for the spawn rule). */
  settled: number;
}

/**
 * Multi-block decoding with rejection recycling (Algorithm 1). Greedy (no temperature): exactly the
 * tokens of `arGreedyReference`. With a temperature: a sample from exactly `arSample`'s distribution.
 *
 * @param prompt - [P] token ids, at least one
 * @throws DecodingError for a bad option or prompt, naming it
 * @example
 * ```ts
 * const params = initParams(PRESETS.tiny, { seed: 1 });
 * multiBlock(PRESETS.tiny, params, [1, 40], { maxNewTokens: 20, blockSize: 8, maxBlocks: 2, poolSize: 4 }).tokens;
 * // equal to arGreedy(PRESETS.tiny, params, [1, 40], { maxNewTokens: 20 }).tokens
 * ```
 * @category Decoding
 */
export function multiBlock(config: ModelConfig, params: Params, prompt: readonly number[], options: MultiBlockOptions): MultiBlockResult {
  const o = resolveMultiBlockOptions(options, "multiBlock");
  const budget = generationBudget(config, prompt, options, "multiBlock");
  const eos = stopToken(config, options);
  const rng = new Rng(o.seed);
  const pool: CandidatePool = makePool(o.poolKind, o.poolSize);
  const runner = resolveRunner(config, params, options, "multiBlock");
  const cache = runner.newCache({ firstStep: Math.max(1, Math.min(o.blockSize, budget)) });   // the first block, alone
  try {
    const committed: number[] = [];
    const iterationsPerBlock: number[] = [];
    const from = { seed: 0, draft: 0, recycled: 0, promoted: 0 };
    let forwards = 0;
    let positions = 0;
    let spawned = 0;
    let promotions = 0;
    const finish = (): MultiBlockResult => ({
      tokens: committed,
      stats: {
        ...makeStats(forwards, budget > 0 ? 1 : 0, committed.length, positions),
        positionsPerToken: committed.length === 0 ? 0 : positions / committed.length,
        iterationsPerBlock, acceptedFrom: { ...from }, spawned, promoted: promotions,
      },
    });
    if (budget === 0) return finish();

    /** A fresh RA block after the committed text: the seed and new drafts, as block Jacobi starts one. */
    const freshBlock = (seed: number): RealActive => {
      const size = Math.min(o.blockSize, budget - committed.length);
      const drafts = draftTokens(o.init, size - 1, [...prompt, ...committed], seed, rng, config);
      return { window: [seed, ...drafts], committed: 0, iterations: 0, fresh: false };
    };

    const prefill = runner.forward(prompt, { cache });                                // [P, V] logits
    let ra = freshBlock(nextToken(prefill, prompt.length - 1, o.sampling, rng));
    let pseudo: PseudoActive[] = [];
    for (let block = 0; ; ) {
      // 1. rows: the main row (RA window ++ pseudo-active drafts) and the pool's candidates for the RA window
      const P = cache.length;
      const main = ra.window.concat(...pseudo.map((b) => b.draft));                       // (concat: Array.prototype.flat is ~40x slower in Node 20)
      const candidatesAllowed = ra.committed >= Math.ceil(o.lookaheadStartRatio * o.blockSize);
      const room = Math.floor((config.maxPositions - P - main.length) / ra.window.length);   // rows that fit the context
      const candidates = candidatesAllowed ? pool.candidates(ra.window).slice(0, Math.max(0, room)) : [];
      const rows = [main, ...candidates];

      // 2. one forward: every row sees the committed prefix and its own earlier tokens
      const result = runner.forward(main.concat(...candidates), { cache, ...rowLayout(P, rows) });   // [T, V] logits
      const greedy = result.argmax();                                                         // [T]
      forwards++;
      positions += rows.reduce((sum, r) => sum + r.length, 0);
      ra.iterations++;

      // 3. verify the RA window and the candidates; commit the winner's prefix and keep only its KV rows
      const starts = rowStarts(rows);
      const raRows = [ra.window, ...candidates];
      const verdict = verify(raRows, starts, result, greedy, eos, o.sampling, rng);
      const row = raRows[verdict.row];
      const committedBefore = committed.length;
      committed.push(...row.slice(0, verdict.accepted));
      if (verdict.row === 0) cache.truncate(P + verdict.accepted);
      else cache.keepRows(P, P + starts[verdict.row], verdict.accepted);
      from.seed++;
      const extra = verdict.accepted - 1;
      if (verdict.row > 0) from.recycled += extra;
      else if (ra.fresh) from.promoted += extra;
      else from.draft += extra;
      if (verdict.row > 0) pool.used(row);
      ra.committed += verdict.accepted;
      ra.fresh = false;
      options.onIteration?.({
        block, iteration: ra.iterations, committedBefore, window: ra.window, candidates, pseudoBlocks: pseudo.map((b) => b.draft),
        winner: verdict.row - 1, accepted: verdict.accepted, cache,
      });
      if (committed.length === budget || (eos !== null && committed[committed.length - 1] === eos)) {
        iterationsPerBlock.push(ra.iterations);
        return finish();
      }

      // 4. update: the RA window from the winner (Jacobi), the pseudo-active blocks from the main row
      const complete = verdict.accepted === ra.window.length;
      if (!complete) pool.record(row.slice(verdict.accepted));                            // the rejected tail
      const rowGreedy = Array.from(greedy.subarray(starts[verdict.row], starts[verdict.row] + row.length));
      const raWindowLength = ra.window.length;
      ra.window = [verdict.next, ...rowGreedy.slice(verdict.accepted, raWindowLength - 1)];
      let at = raWindowLength;                                                            // main-row index of the block's first token
      for (const b of pseudo) {
        const updated = Array.from(greedy.subarray(at - 1, at - 1 + b.draft.length));    // each token from the position before it
        let settled = 0;
        while (settled < updated.length && updated[settled] === b.draft[settled]) settled++;
        at += b.draft.length;
        b.draft = updated;
        b.settled = settled;
      }

      // 5. promote the next block when the RA block is complete; start afresh at the cap
      if (complete || ra.iterations === o.maxIterations) {
        iterationsPerBlock.push(ra.iterations);
        block++;
        const next = complete ? pseudo.shift() : undefined;
        if (!complete) pseudo = [];                                                       // their positions no longer follow
        if (next !== undefined) {
          ra = { window: [verdict.next, ...next.draft.slice(1)], committed: 0, iterations: 0, fresh: true };
          promotions++;
        } else {
          ra = freshBlock(verdict.next);
        }
      }

      // 6. spawn a block behind the newest once it has settled ceil(r n) tokens
      const newest = pseudo.length > 0 ? pseudo[pseudo.length - 1].settled : ra.committed;
      const inFlight = committed.length + ra.window.length + pseudo.reduce((sum, b) => sum + b.draft.length, 0);
      const size = Math.min(o.blockSize, budget - inFlight);
      if (1 + pseudo.length < o.maxBlocks && newest >= Math.ceil(o.spawnRatio * o.blockSize) && size > 0) {
        const last = pseudo.length > 0 ? pseudo[pseudo.length - 1].draft.at(-1)! : ra.window.at(-1)!;
        pseudo.push({ draft: draftTokens(o.init, size, [...prompt, ...committed], last, rng, config), settled: 0 });
        spawned++;
      }
    }
  } finally {
    cache.release?.();  // a GPU cache gives its buffers back now (pooled or freed): garbage collection may not run inside a decoding loop
  }
}

// ---------------------------------------------------------------- rows sharing one forward

/** Where each row starts in the concatenated tokens of a forward. */
function rowStarts(rows: readonly (readonly number[])[]): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const r of rows) {
    starts.push(at);
    at += r.length;
  }
  return starts;
}

/**
 * Positions and visibility for `rows` forwarded together after P committed rows: each row sits at
 * positions `P, P+1, ...` and sees the committed prefix plus its own earlier tokens — as if it had been
 * forwarded alone.
 *
 * @returns positions [T] and mask [T, P+T]
 */
function rowLayout(P: number, rows: readonly (readonly number[])[]): { positions: number[]; mask: Uint8Array } {
  const T = rows.reduce((sum, r) => sum + r.length, 0);
  const L = P + T;
  const positions: number[] = [];
  const mask = new Uint8Array(T * L);                                                   // [T, L]
  rowStarts(rows).forEach((start, r) => {
    for (let i = 0; i < rows[r].length; i++) {
      const t = start + i;
      positions.push(P + i);
      mask.fill(1, t * L, t * L + P);                                                   // the committed prefix
      mask.fill(1, t * L + P + start, t * L + P + t + 1);                               // its own row, up to itself
    }
  });
  return { positions, mask };
}

// ---------------------------------------------------------------- verification

/** The token after row `row` of a forward: the argmax, or a sample with a temperature. */
function nextToken(result: ForwardResult, row: number, sampling: ResolvedSampling | null, rng: Rng): number {
  return sampling === null ? result.argmax()[row] : sampleToken(samplingDistribution(result.logits(), row, sampling), rng);
}

/**
 * Which RA row wins, how many of its tokens are committed, and the next seed. Greedy: the one
 * acceptance rule on each row, the longest wins (ties: the earliest, so the original). Sampling: the
 * lossless rule of `sampling.ts`, which walks all rows at once.
 */
function verify(
  rows: readonly (readonly number[])[], starts: readonly number[], result: ForwardResult, greedy: Int32Array,
  eos: number | null, sampling: ResolvedSampling | null, rng: Rng,
): { row: number; accepted: number; next: number } {
  if (sampling !== null) {
    const logits = result.logits();                                                     // [T, V]
    return verifySampled(rows, (r, i) => samplingDistribution(logits, starts[r] + i, sampling), eos, rng);
  }
  let best = { row: 0, accepted: 0, next: 0 };
  rows.forEach((r, index) => {
    const g = greedy.subarray(starts[index], starts[index] + r.length);
    const accepted = acceptedPrefixLength(r, g, eos);
    if (accepted > best.accepted) best = { row: index, accepted, next: g[accepted - 1] };
  });
  return best;
}
