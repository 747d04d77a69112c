/**
 * The spread of a benchmark's measure over its rounds — min, median, max — and how the bench prints it.
 *
 * The spread is the benchmark's own noise, reported beside every number. A ratio of two runs is taken
 * round by round (the two were timed side by side, under the same load), so its spread is that of the
 * ratio itself, not of either time.
 *
 * @module
 */

/** The min, median and max of a measure over the rounds of a benchmark. */
export interface Spread {
  /** The smallest value of any round. */
  readonly min: number;
  /** The middle value (of an even count, the upper of the two middle ones). */
  readonly median: number;
  /** The largest value of any round. */
  readonly max: number;
}

/**
 * The {@link Spread} of `values`: their min, median and max.
 *
 * @example
 * ```ts
 * spreadOf([3, 1, 2, 10]); // { min: 1, median: 3, max: 10 }
 * ```
 */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("spreadOf: expected at least one value, got none");
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}

/**
 * The {@link Spread} of `f` applied round by round: `f(a[r], b[r])` for each round r — a ratio of two
 * runs timed side by side, or a rate computed from a run and the run it subtracts.
 *
 * @example
 * ```ts
 * pairedSpread([10, 12, 30], [10, 11, 33], (a, b) => b / a); // { min: 0.9166..., median: 1, max: 1.1 }
 * ```
 */
export function pairedSpread(a: readonly number[], b: readonly number[], f: (a: number, b: number) => number): Spread {
  if (a.length !== b.length) throw new RangeError(`pairedSpread: expected as many rounds on both sides, got ${a.length} and ${b.length}`);
  return spreadOf(a.map((x, r) => f(x, b[r])));
}

/**
 * `s` as text: `median (min–max)`, each with `digits` decimals and `unit` after the median.
 *
 * @example
 * ```ts
 * formatSpread({ min: 0.91, median: 1.02, max: 1.08 }, 2, "x"); // "1.02x (0.91–1.08)"
 * ```
 */
export function formatSpread(s: Spread, digits: number, unit = ""): string {
  return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}
