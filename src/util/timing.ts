/**
 * Wall-clock timing for measurements that drive choices (the cost curve behind `--block-size auto`) and
 * for the benchmarks: runs timed in turn, round after round. The benchmarks keep every round's time and
 * report the spread over the rounds (`bench/spread.ts`); a choice keeps the median.
 *
 * @module
 */

/**
 * Wall time in milliseconds of each of `runs` in each of `rounds` rounds (`[run][round]`): the runs
 * timed in turn, round after round (so a change in the machine's load hits all of them alike), after
 * `warmups` untimed rounds (V8 optimises a loop over its first calls; a run timed before that would look
 * slow). `settle[i]`, when given, runs untimed right before each timed run of `runs[i]` (to put the
 * machine in that run's steady state).
 *
 * @example
 * ```ts
 * const [one, four] = interleavedTimesMs([() => forward(config, params, [1]), () => forward(config, params, [1, 2, 3, 4])], 5);
 * four.map((t, r) => t / one[r]); // t(4)/t(1) in each of the 5 rounds, e.g. [1.8, 1.7, 1.9, 1.8, 2.6]
 * ```
 * @category Utilities
 */
export function interleavedTimesMs(runs: readonly (() => unknown)[], rounds: number, warmups = 1, settle?: readonly (() => unknown)[]): number[][] {
  for (let r = 0; r < warmups; r++) for (const run of runs) run();
  const times: number[][] = runs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    runs.forEach((run, i) => {
      settle?.[i]();
      const t0 = performance.now();
      run();
      times[i].push(performance.now() - t0);
    });
  }
  return times;
}

/**
 * Median wall time in milliseconds of each of `runs`, timed as {@link interleavedTimesMs} times them.
 *
 * @example
 * ```ts
 * const [ar, jacobi] = interleavedMedianMs([() => decodeAr(), () => decodeJacobi()], 7); // ms each
 * ```
 * @category Utilities
 */
export function interleavedMedianMs(runs: readonly (() => unknown)[], reps: number, warmups = 1, settle?: readonly (() => unknown)[]): number[] {
  return interleavedTimesMs(runs, reps, warmups, settle).map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}
