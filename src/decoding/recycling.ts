/**
 * Candidate pools for multi-block decoding: where extra drafts for the real-active block come from.
 *
 * A Jacobi draft that is rejected is not worthless: a model trained with Jacobi Forcing often gets a
 * run of tokens right at the wrong place (paper §3.2, Fig. 4). A pool remembers rejected drafts; when a
 * pool sequence contains the anchor of the next verification, the tokens that follow it there form a
 * candidate draft, verified in the same forward as the original (extra rows sharing the committed KV
 * prefix, `multiblock.ts`). Two kinds, one interface:
 * - `'recycling'` (the paper's rejection recycling): the last `size` rejected sequences, oldest evicted
 *   first; a candidate starts at the first occurrence of the anchor in a sequence, newest sequence first.
 * - `'ngram'` (Lookahead decoding's n-gram pool, arXiv 2402.02057): every suffix of a rejected sequence
 *   is stored under its first token; each key keeps its `size` most recently used n-grams (least
 *   recently used evicted), and a candidate is an n-gram stored under the anchor.
 * A candidate shorter than the RA draft is completed with the draft's own tokens at the same places.
 *
 * Correctness never depends on a pool: a candidate is only a guess, verified like any draft.
 *
 * Paper: §3.2, Algorithm 1 (rejection recycling); docs/ALGORITHM.md §4. Read next: `multiblock.ts`.
 *
 * @module
 */

// ---------------------------------------------------------------- the interface

/**
 * Which pool supplies candidate drafts.
 *
 * @category Decoding
 */
export type PoolKind = "recycling" | "ngram";

/**
 * Every {@link PoolKind}.
 *
 * @category Decoding
 */
export const POOL_KINDS: readonly PoolKind[] = ["recycling", "ngram"];

/**
 * A pool of rejected token sequences that proposes candidate drafts. After `record([7, 8, 9, 4])`, a
 * recycling pool proposes `[[8, 9, 4]]` for the draft `[8, 1, 1]`: the tokens that followed the anchor 8
 * there.
 *
 * @category Decoding
 */
export interface CandidatePool {
  /** Which kind it is. */
  readonly kind: PoolKind;
  /** Remembers the rejected tail of a verified draft. */
  record(rejected: readonly number[]): void;
  /**
   * Candidate rows for `draft` (T tokens, anchor first), at most `size` of them, each of T tokens starting
   * with `draft[0]` (the anchor), pairwise distinct and different from `draft`.
   */
  candidates(draft: readonly number[]): number[][];
  /** Tells the pool that `row` (one of its candidates) was the one committed, so it counts as used. */
  used(row: readonly number[]): void;
}

/**
 * A pool of `size` entries (0: a pool that never proposes anything).
 *
 * @example
 * ```ts
 * const pool = makePool("recycling", 4);
 * pool.record([9, 5, 6, 7]);
 * pool.candidates([5, 1, 1, 1]); // [[5, 6, 7, 1]]: after the anchor 5 the pool saw 6 7; the last slot keeps the draft's 1
 * ```
 * @category Decoding
 */
export function makePool(kind: PoolKind, size: number): CandidatePool {
  return kind === "recycling" ? new RecyclingPool(size) : new NgramPool(size);
}

// ---------------------------------------------------------------- shared helpers

/** `source` laid over `draft`: `source[i]` where it has one, else `draft[i]`; [T]. */
function overlay(source: readonly number[], draft: readonly number[]): number[] {
  return draft.map((t, i) => (i < source.length ? source[i] : t));
}

/** Appends `row` to `rows` unless it equals `draft` or a row already there. */
function pushDistinct(rows: number[][], row: number[], draft: readonly number[]): void {
  const same = (a: readonly number[]) => a.length === row.length && a.every((t, i) => t === row[i]);
  if (!same(draft) && !rows.some(same)) rows.push(row);
}

// ---------------------------------------------------------------- rejection recycling

/** The paper's pool: the last `size` rejected sequences (first in, first out). */
class RecyclingPool implements CandidatePool {
  readonly kind = "recycling";
  private readonly sequences: number[][] = [];                            // oldest first

  constructor(private readonly size: number) {}

  record(rejected: readonly number[]): void {
    if (this.size === 0 || rejected.length === 0) return;
    this.sequences.push([...rejected]);
    if (this.sequences.length > this.size) this.sequences.shift();
  }

  candidates(draft: readonly number[]): number[][] {
    const rows: number[][] = [];
    for (let s = this.sequences.length - 1; s >= 0; s--) {                // newest first
      const sequence = this.sequences[s];
      const at = sequence.indexOf(draft[0]);
      if (at >= 0) pushDistinct(rows, overlay(sequence.slice(at), draft), draft);
    }
    return rows;
  }

  used(): void {}                                                          // first in, first out: use does not matter
}

// ---------------------------------------------------------------- Lookahead's n-gram pool

/** Lookahead decoding's pool: n-grams by first token, each key keeping its `size` most recently used. */
class NgramPool implements CandidatePool {
  readonly kind = "ngram";
  private readonly byFirst = new Map<number, number[][]>();               // most recently used first

  constructor(private readonly size: number) {}

  record(rejected: readonly number[]): void {
    if (this.size === 0) return;
    for (let i = 0; i + 1 < rejected.length; i++) this.touch(rejected.slice(i)); // every suffix of 2+ tokens
  }

  candidates(draft: readonly number[]): number[][] {
    const rows: number[][] = [];
    for (const gram of this.byFirst.get(draft[0]) ?? []) pushDistinct(rows, overlay(gram, draft), draft);
    return rows;
  }

  used(row: readonly number[]): void {
    const grams = this.byFirst.get(row[0]) ?? [];
    const gram = grams.find((g) => g.every((t, i) => i >= row.length || t === row[i]));
    if (gram !== undefined) this.touch(gram);
  }

  /** Puts `gram` first under its key (inserting it if new) and evicts the least recently used beyond `size`. */
  private touch(gram: readonly number[]): void {
    const grams = this.byFirst.get(gram[0]) ?? [];
    const at = grams.findIndex((g) => g.length === gram.length && g.every((t, i) => t === gram[i]));
    if (at >= 0) grams.splice(at, 1);
    grams.unshift([...gram]);
    if (grams.length > this.size) grams.pop();
    this.byFirst.set(gram[0], grams);
  }
}
