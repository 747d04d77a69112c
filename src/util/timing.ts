/**
 * Wall-clock medians for measurements that drive choices (`--block-size auto`) and for the benchmarks.
 *
 * @module
 */

/**
 * Median wall time in milliseconds of each of `runs`, timed in turn round after round (so a change in
 * the machine's load hits all of them alike), after `warmups` untimed rounds (V8 optimises a loop over
 * its first calls; a run timed before that would look slow). `settle[i]`, when given, runs untimed
 * right before each timed run of `runs[i]` (to put the machine in that run's steady state).
 *
 * @example
 * ```ts
 * const [ar, jacobi] = interleavedMedianMs([() => decodeAr(), () => decodeJacobi()], 7); // ms each
 * ```
 * @category Utilities
 */
export function interleavedMedianMs(runs: readonly (() => unknown)[], reps: number, warmups = 1, settle?: readonly (() => unknown)[]): number[] {
  for (let r = 0; r < warmups; r++) for (const run of runs) run();
  const times: number[][] = runs.map(() => []);
  for (let r = 0; r < reps; r++) {
    runs.forEach((run, i) => {
      settle?.[i]();
      const t0 = performance.now();
      run();
      times[i].push(performance.now() - t0);
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}
