/**
 * Seeded random numbers. Randomness is always passed in as an `Rng` value, never pulled from a global,
 * so every initialisation, draft and data split is reproducible from its seed.
 *
 * Built on seedrandom's ARC4 generator, whose full state can be saved and restored (training resume
 * needs that). Not for cryptography.
 *
 * @module
 */
import seedrandom from "seedrandom";

/**
 * The saved state of an {@link Rng} (plain JSON).
 *
 * @category Random
 */
export type RngState = seedrandom.State.Arc4;

/**
 * A seeded pseudo-random generator.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.int(10);     // an integer in 0..9, the same one for every run with seed 42
 * rng.normal();    // a standard normal sample (Box–Muller)
 * ```
 * @category Random
 */
export class Rng {
  private readonly prng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;

  /**
   * @param seed - any integer or string; equal seeds give equal streams
   * @param state - a state from {@link Rng.state} to continue from instead
   */
  constructor(seed: number | string, state?: RngState) {
    this.prng = seedrandom(String(seed), { state: state ?? true }) as seedrandom.StatefulPRNG<seedrandom.State.Arc4>;
  }

  /** A float in [0, 1) with 53 random bits. */
  uniform(): number {
    return this.prng.double();
  }

  /** An integer in `0 .. n-1`, uniformly. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int: expected a positive integer bound, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** A standard normal sample, by the Box–Muller transform. */
  normal(): number {
    const u = 1 - this.uniform(); // in (0, 1], so log(u) is finite
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** The generator's state, to resume the exact same stream later. */
  state(): RngState {
    return this.prng.state();
  }
}
