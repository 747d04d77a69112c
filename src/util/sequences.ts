/**
 * The one comparison of token sequences the decoders, the trajectories, the noise schedule, packing and
 * the oracle all need: how long two sequences agree from the start.
 *
 * What it is not: the acceptance rule. A draft is compared with the greedy tokens one position behind it
 * (`decoding/acceptance.ts` · `acceptedPrefixLength`); this compares two sequences position by position.
 *
 * @module
 */

/**
 * Length of the longest common prefix of `a` and `b`: the first index where they differ, or the shorter
 * length when one is a prefix of the other. For a Jacobi state and its fixed point this is how far the
 * state has already converged (docs/ALGORITHM.md §2–3, `firstMismatch(s, y*)`).
 *
 * @param a - a token sequence
 * @param b - another token sequence
 * @returns the number of leading positions where `a[i] === b[i]`
 * @example
 * ```ts
 * commonPrefixLength([5, 6, 9, 9], [5, 6, 7, 8]); // 2
 * commonPrefixLength([5, 6], [5, 6, 7]);          // 2
 * ```
 * @category Utilities
 */
export function commonPrefixLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
