/**
 * Multi-block decoding with rejection recycling (MR): the paper's Algorithm 1. Up to K blocks of n
 * tokens are in flight; only the first is verified and committed, the others are drafted behind it so
 * that they are already half-converged when their turn comes; and the rejected drafts of the past are
 * recycled as extra candidate drafts, verified in the same forward. The output equals AR greedy's.
 *
 * Words as in `jacobi.ts`: the *anchor* is the model's token after the committed text (always right), a
 * *draft* is a block's tokens not committed yet — for the RA block, the anchor then its draft tokens.
 *
 * One MR iteration, as the algorithm box reads (see `docs/multiblock.md` for a worked picture):
 * 1. Rows. The main row is the real-active (RA) block's draft — the anchor (always right) and its
 *    draft tokens — followed by the pseudo-active blocks' drafts, at the positions right after it. Each
 *    candidate row from the pool is another guess for the RA draft, at the RA draft's positions.
 * 2. One forward over all rows, with explicit positions and a mask: every row sees the committed KV
 *    prefix and the earlier tokens of its own row, nothing else. Row logits are bit-identical to those
 *    of a forward of that row alone (batch-invariant kernels, keys summed in the same order).
 * 3. Verify the RA draft and every candidate with the one acceptance rule (`acceptedPrefixLength`;
 *    `verifySampled` with a temperature), keep the row that accepts the most (ties: the original),
 *    commit its verified prefix, and keep exactly its KV rows (`cache.truncate` / `cache.keepRows`).
 * 4. Update. The RA draft gets the Jacobi update of the winning row; every pseudo-active token gets
 *    the argmax of the main-row position before it (the first token of a block from the last token of
 *    the block before — a Jacobi iteration of the whole main row, behind an unverified prefix). The
 *    rejected tail goes into the pool.
 * 5. Promote. When the RA block is complete the next block is promoted: its first token is replaced by
 *    the anchor (the true next token) and all its draft tokens are verified again under the
 *    now-committed prefix — Algorithm 1 continues with it (the public code returns here and throws the
 *    promoted draft away).
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
 * draft only, and acceptance stops at the RA block's end even where the block behind it would verify
 * in the same forward (the paper re-verifies it after promotion) — `docs/multiblock.md` §6 lists every
 * deliberate difference from the public code. The options, results and steps are in `types.ts`.
 *
 * Shape legend: n block size, K blocks in flight, P committed positions in the cache, T tokens in one
 * forward (main row + candidate rows), V vocabulary.
 *
 * Paper: §3.2, Algorithm 1, Fig. 3; docs/ALGORITHM.md §4. Read next: `recycling.ts` (the pools) and
 * `sampling.ts` (the lossless sampling rule).
 *
 * @module
 */
import type { Eos, ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { resolveRunner, type ForwardResult } from "../model/runner.ts";
import { Rng } from "../tensor/random.ts";
import { commonPrefixLength } from "../util/sequences.ts";
import { acceptedPrefixLength, generationBudget, generationFinished, makeStats, stopReason, stopToken } from "./acceptance.ts";
import { draftTokens } from "./draft.ts";
import { makePool, type CandidatePool } from "./recycling.ts";
import { nextToken, samplingDistribution, verifySampled, type ResolvedSampling } from "./sampling.ts";
import { resolveMultiBlockOptions, type MultiBlockOptions, type MultiBlockResult } from "./types.ts";

// ---------------------------------------------------------------- the decoder

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
    const from = { anchor: 0, draft: 0, recycled: 0, promoted: 0 };
    let forwards = 0;
    let positions = 0;
    let spawned = 0;
    let promotions = 0;
    const finish = (): MultiBlockResult => ({
      tokens: committed,
      stats: {
        ...makeStats(forwards, budget > 0 ? 1 : 0, committed.length, positions, stopReason(committed, eos, options.maxNewTokens)),
        positionsPerToken: committed.length === 0 ? 0 : positions / committed.length,
        iterationsPerBlock, acceptedFrom: { ...from }, spawned, promoted: promotions,
      },
    });
    if (budget === 0) return finish();

    /** A fresh RA block after the committed text: the anchor and new draft tokens, as block Jacobi starts one. */
    const freshBlock = (anchor: number): RealActive => {
      const size = Math.min(o.blockSize, budget - committed.length);
      const guesses = draftTokens(o.init, size - 1, [...prompt, ...committed], anchor, rng, config);
      return { draft: [anchor, ...guesses], committed: 0, iterations: 0, fresh: false };
    };

    const prefill = runner.forward(prompt, { cache });                                // [P, V] logits
    let ra = freshBlock(nextToken(prefill, prompt.length - 1, o.sampling, rng));
    let pseudo: PseudoActive[] = [];
    for (let block = 0; ; ) {
      // 1. rows: the main row (RA draft ++ pseudo-active drafts) and the pool's candidates for the RA draft
      const P = cache.length;
      const main = ra.draft.concat(...pseudo.map((b) => b.draft));                        // concat, not flat: flat is far slower in V8
      const candidatesAllowed = ra.committed >= Math.ceil(o.lookaheadStartRatio * o.blockSize);
      const room = Math.floor((config.maxPositions - P - main.length) / ra.draft.length);    // rows that fit the context
      const candidates = candidatesAllowed ? pool.candidates(ra.draft).slice(0, Math.max(0, room)) : [];
      const rows = [main, ...candidates];

      // 2. one forward: every row sees the committed prefix and its own earlier tokens
      const result = runner.forward(main.concat(...candidates), { cache, ...rowLayout(P, rows) });   // [T, V] logits
      const greedy = result.argmax();                                                         // [T]
      forwards++;
      positions += rows.reduce((sum, r) => sum + r.length, 0);
      ra.iterations++;

      // 3. verify the RA draft and the candidates; commit the winner's prefix and keep only its KV rows
      const starts = rowStarts(rows);
      const raRows = [ra.draft, ...candidates];
      const verdict = verify(raRows, starts, result, greedy, eos, o.sampling, rng);
      const row = raRows[verdict.row];
      const committedBefore = committed.length;
      committed.push(...row.slice(0, verdict.accepted));
      if (verdict.row === 0) cache.truncate(P + verdict.accepted);
      else cache.keepRows(P, P + starts[verdict.row], verdict.accepted);
      from.anchor++;
      from[verdict.row > 0 ? "recycled" : ra.fresh ? "promoted" : "draft"] += verdict.accepted - 1;   // the tokens after the anchor
      if (verdict.row > 0) pool.used(row);
      ra.committed += verdict.accepted;
      ra.fresh = false;
      options.onIteration?.({
        block, iteration: ra.iterations, committedBefore, draft: ra.draft, candidates, pseudoBlocks: pseudo.map((b) => b.draft),
        winner: verdict.row - 1, accepted: verdict.accepted, cache,
      });
      if (generationFinished(committed, budget, eos)) {
        iterationsPerBlock.push(ra.iterations);
        return finish();
      }

      // 4. update: the RA draft from the winner (Jacobi), the pseudo-active blocks from the main row
      const complete = verdict.accepted === ra.draft.length;
      if (!complete) pool.record(row.slice(verdict.accepted));                            // the rejected tail
      const rowGreedy = Array.from(greedy.subarray(starts[verdict.row], starts[verdict.row] + row.length));
      const raDraftLength = ra.draft.length;
      ra.draft = [verdict.next, ...rowGreedy.slice(verdict.accepted, raDraftLength - 1)];
      let at = raDraftLength;                                                             // main-row index of the block's first token
      for (const b of pseudo) {
        const updated = Array.from(greedy.subarray(at - 1, at - 1 + b.draft.length));    // each token from the position before it
        b.settled = commonPrefixLength(updated, b.draft);                               // the leading run the update left unchanged
        at += b.draft.length;
        b.draft = updated;
      }

      // 5. promote the next block when the RA block is complete; start afresh at the cap
      if (complete || ra.iterations === o.maxIterations) {
        iterationsPerBlock.push(ra.iterations);
        block++;
        const next = complete ? pseudo.shift() : undefined;
        if (!complete) pseudo = [];                                                       // their positions no longer follow
        if (next !== undefined) {
          ra = { draft: [verdict.next, ...next.draft.slice(1)], committed: 0, iterations: 0, fresh: true };
          promotions++;
        } else {
          ra = freshBlock(verdict.next);
        }
      }

      // 6. spawn a block behind the newest once it has settled ceil(r n) tokens
      const newest = pseudo.length > 0 ? pseudo[pseudo.length - 1].settled : ra.committed;
      const inFlight = committed.length + ra.draft.length + pseudo.reduce((sum, b) => sum + b.draft.length, 0);
      const size = Math.min(o.blockSize, budget - inFlight);
      if (1 + pseudo.length < o.maxBlocks && newest >= Math.ceil(o.spawnRatio * o.blockSize) && size > 0) {
        const last = pseudo.length > 0 ? pseudo[pseudo.length - 1].draft.at(-1)! : ra.draft.at(-1)!;
        pseudo.push({ draft: draftTokens(o.init, size, [...prompt, ...committed], last, rng, config), settled: 0 });
        spawned++;
      }
    }
  } finally {
    cache.release?.();  // a GPU cache gives its buffers back now (pooled or freed): garbage collection may not run inside a decoding loop
  }
}

// ---------------------------------------------------------------- the blocks in flight

/** The real-active block: its draft (anchor first) and how far it has got. */
interface RealActive {
  /** The tokens of the block not committed yet, anchor first. */
  draft: number[];
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

// ---------------------------------------------------------------- rows sharing one forward

/** Where each row starts in the concatenated tokens of a forward. */
function rowStarts(rows: readonly (readonly number[])[]): number[] {
  const starts = [0];
  for (const r of rows.slice(0, -1)) starts.push(starts[starts.length - 1] + r.length);   // each row after the one before
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

/**
 * Which RA row wins, how many of its tokens are committed, and the next anchor. Greedy: the one
 * acceptance rule on each row, the longest wins (ties: the earliest, so the original). Sampling: the
 * lossless rule of `sampling.ts`, which walks all rows at once.
 */
function verify(
  rows: readonly (readonly number[])[], starts: readonly number[], result: ForwardResult, greedy: Int32Array,
  eos: Eos, sampling: ResolvedSampling | null, rng: Rng,
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
