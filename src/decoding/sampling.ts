/**
 * Lossless sampling: the distribution a sampling decoder draws from (temperature, top-k, top-p), AR
 * sampling as the reference, and the one acceptance rule that lets Jacobi and multi-block decoding
 * sample several tokens per forward with exactly the output distribution of AR sampling.
 *
 * The rule (docs/ALGORITHM.md §6) is speculative sampling with a delta proposal. A draft token `x` is a
 * proposal that puts all its mass on `x`, so the speculative acceptance probability `min(1, p(x)/q(x))`
 * is just `p(x)`, and the residual `max(0, p - q)`, normalised, is `p` with `x` removed. With several
 * candidate rows (multi-block's recycled drafts) the proposals at one position form a small tree; the
 * rule tries the distinct proposed tokens one after another, each against `p` with the earlier ones
 * removed (recursive rejection). Either way every committed token is drawn from exactly
 * `p(· | committed text)`: see {@link verifySampled} for the two-line proof.
 *
 * What this file is not: greedy decoding. Temperature 0 (or no temperature) never reaches this file;
 * the greedy decoders keep their exact argmax path and `acceptedPrefixLength`.
 *
 * Shape legend: V vocabulary, T tokens in a row, R candidate rows.
 *
 * Paper: beyond the paper (its results are greedy); docs/ALGORITHM.md §6. Read next: `multiblock.ts`.
 *
 * @module
 */
import { isEos, type Eos, type ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import type { ForwardResult, RunnerOption } from "../model/runner.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { Rng } from "../tensor/random.ts";
import { DecodingError, type StopOptions } from "./acceptance.ts";
import { arDecode, type GenerationResult } from "./greedy.ts";

// ---------------------------------------------------------------- options

/**
 * How a sampling decoder shapes the model's distribution. Temperature 0 or absent means greedy.
 *
 * @category Sampling
 */
export interface SamplingOptions {
  /** Softmax temperature τ > 0 (logits are divided by τ); 0 or absent decodes greedily. */
  readonly temperature?: number;
  /** Keep only the k most probable tokens (ties: the lower id first); absent keeps all. Needs a temperature. */
  readonly topK?: number;
  /** Keep the smallest most-probable set whose mass reaches p, in (0, 1]; absent keeps all. Needs a temperature. */
  readonly topP?: number;
}

/**
 * {@link SamplingOptions} checked, for a decoder that samples.
 *
 * @category Sampling
 */
export interface ResolvedSampling {
  /** τ > 0. */
  readonly temperature: number;
  /** k, or null for the whole vocabulary. */
  readonly topK: number | null;
  /** p in (0, 1]; 1 keeps everything. */
  readonly topP: number;
}

/**
 * Checks the sampling options: `null` means greedy (temperature 0 or absent).
 *
 * @param where - the decoder's name, for error messages
 * @throws DecodingError for a negative temperature, a top-k that is not a positive integer, a top-p
 *   outside (0, 1], or top-k/top-p without a temperature
 * @example
 * ```ts
 * resolveSampling({}, "jacobi");                                 // null: greedy
 * resolveSampling({ temperature: 0.7, topK: 20 }, "jacobi");     // { temperature: 0.7, topK: 20, topP: 1 }
 * ```
 * @category Sampling
 */
export function resolveSampling(options: SamplingOptions, where: string): ResolvedSampling | null {
  const { temperature = 0, topK, topP } = options;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0) {
    throw new DecodingError(`${where}: temperature must be a finite number >= 0, got ${String(temperature)}`);
  }
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) {
    throw new DecodingError(`${where}: topK must be a positive integer, got ${String(topK)}`);
  }
  if (topP !== undefined && (typeof topP !== "number" || !(topP > 0 && topP <= 1))) {
    throw new DecodingError(`${where}: topP must be in (0, 1], got ${String(topP)}`);
  }
  if (temperature === 0) {
    if (topK !== undefined || topP !== undefined) {
      throw new DecodingError(`${where}: topK and topP shape a sampling distribution; they need a temperature > 0 (temperature 0 is greedy)`);
    }
    return null;
  }
  return { temperature, topK: topK ?? null, topP: topP ?? 1 };
}

// ---------------------------------------------------------------- the distribution

/**
 * The distribution to sample from after row `row` of `logits`, in the order of transformers' warpers:
 * temperature (softmax(logits / τ)), then top-k (the k most probable tokens, and any tied with the k-th,
 * as transformers' TopK keeps them), then top-p on the distribution renormalised after top-k (tokens are
 * dropped from the least probable up while their cumulative renormalised mass is at most 1 − p, the most
 * probable always kept: the smallest most-probable set whose mass reaches p), renormalised once more.
 *
 * @param logits - [T, V]
 * @returns [V] probabilities summing to 1; zero outside the kept set
 * @example
 * ```ts
 * samplingDistribution(Tensor.from([0, Math.log(3)], [1, 2]), 0, { temperature: 1, topK: null, topP: 1 }); // [0.25, 0.75]
 * ```
 * @category Sampling
 */
export function samplingDistribution(logits: Tensor, row: number, sampling: ResolvedSampling): Float64Array {
  const V = logits.shape[1];
  const x = logits.data.subarray(row * V, (row + 1) * V);                 // [V]
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, x[v] / sampling.temperature);
  const p = new Float64Array(V);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += (p[v] = Math.exp(x[v] / sampling.temperature - max)); // subtract the max: no overflow
  for (let v = 0; v < V; v++) p[v] /= sum;
  if (sampling.topK === null && sampling.topP === 1) return p;
  const ranked = Array.from({ length: V }, (_, v) => v).sort((a, b) => p[b] - p[a] || a - b); // most likely first
  // top-k: the k most likely, and any tied with the k-th (transformers keeps every score >= the k-th's)
  let keep = Math.min(sampling.topK ?? V, V);
  while (keep < V && p[ranked[keep]] === p[ranked[keep - 1]]) keep++;
  if (sampling.topP < 1) {
    // top-p on the distribution renormalised after top-k, as transformers' TopP warper computes it: from
    // the least likely up, drop tokens while their cumulative renormalised mass is <= 1 - p; the most
    // likely token always stays
    let topKMass = 0;
    for (let i = 0; i < keep; i++) topKMass += p[ranked[i]];
    let cumulative = 0;
    while (keep > 1 && (cumulative += p[ranked[keep - 1]] / topKMass) <= 1 - sampling.topP) keep--;
  }
  let mass = 0;
  for (let i = 0; i < keep; i++) mass += p[ranked[i]];
  const kept = new Float64Array(V);
  for (let i = 0; i < keep; i++) kept[ranked[i]] = p[ranked[i]] / mass;
  return kept;
}

/**
 * One draw from `p` by the inverse CDF: the first token whose cumulative mass exceeds a uniform draw.
 *
 * @param p - [V] probabilities
 * @example
 * ```ts
 * sampleToken(new Float64Array([0, 1, 0]), new Rng(0)); // 1
 * ```
 * @category Sampling
 */
export function sampleToken(p: Float64Array, rng: Rng): number {
  const u = rng.uniform();
  let cumulative = 0;
  let last = -1;
  for (let v = 0; v < p.length; v++) {
    if (p[v] <= 0) continue;
    cumulative += p[v];
    last = v;
    if (u < cumulative) return v;
  }
  if (last < 0) throw new DecodingError("sampleToken: the distribution has no positive entry");
  return last;                                                             // u fell in the rounding gap above the sum
}

/**
 * The token after row `row` of a forward: its argmax when greedy (`sampling` null), else a sample from
 * {@link samplingDistribution}. What every decoder draws its anchors with.
 *
 * @example
 * ```ts
 * nextToken(cpuRunner(config, params).forward([1, 40]), 1, null, new Rng(0));                          // the argmax after 40
 * nextToken(cpuRunner(config, params).forward([1, 40]), 1, { temperature: 1, topK: null, topP: 1 }, rng); // a sample
 * ```
 * @category Sampling
 */
export function nextToken(result: ForwardResult, row: number, sampling: ResolvedSampling | null, rng: Rng): number {
  return sampling === null ? result.argmax()[row] : sampleToken(samplingDistribution(result.logits(), row, sampling), rng);
}

/** `p` with `token` removed and the rest renormalised: the residual of a rejected delta proposal. */
function withoutToken(p: Float64Array, token: number): Float64Array {
  const rest = p.slice();
  rest[token] = 0;
  let sum = 0;
  for (let v = 0; v < rest.length; v++) sum += rest[v];
  for (let v = 0; v < rest.length; v++) rest[v] /= sum;
  return rest;
}

// ---------------------------------------------------------------- the acceptance rule

/**
 * What {@link verifySampled} decided.
 *
 * @category Sampling
 */
export interface SampledVerification {
  /** The row whose tokens were committed (the first one of those that agree with them). */
  readonly row: number;
  /** Tokens of that row committed, 1..T: the anchor, the accepted draft tokens, cut after an accepted EOS. */
  readonly accepted: number;
  /** The next anchor: a sample from `p` after the committed tokens (the residual after a rejection). */
  readonly next: number;
}

/**
 * The lossless sampling rule for one or more draft rows that share their anchor and were forwarded after
 * the committed text. Walks the rows position by position: the rows still alive agree on every token
 * so far, so they share the distribution `p` of the next one. The distinct tokens they propose there
 * are tried in row order: the j-th is accepted with probability `p_j(x_j)`, where `p_j` is `p` with the
 * earlier proposals removed and renormalised. On acceptance the walk continues with the rows proposing
 * it; if every proposal is rejected, the next anchor is drawn from the last residual and the walk stops.
 *
 * Why the committed token is distributed exactly as `p`: a proposal x_j comes out with probability
 * `Π_{l<j} (1 - p_l(x_l)) · p_j(x_j) = (1 - Σ_{l<j} p(x_l)) · p(x_j) / (1 - Σ_{l<j} p(x_l)) = p(x_j)`,
 * and any other token y with `(1 - Σ_l p(x_l)) · p(y) / (1 - Σ_l p(x_l)) = p(y)`. The proposals were
 * fixed before the uniform draws, so by induction over positions the committed text is AR sampling's.
 *
 * @param rows - R rows [T_r], all starting with the same anchor (a sample already drawn from `p`)
 * @param distribution - `(r, i)` → [V], the sampling distribution after `rows[r][0..i]` (see {@link samplingDistribution})
 * @param eos - the EOS id in force, or null: the walk stops after an accepted EOS
 * @example
 * ```ts
 * // one row, a draft token the model gives probability 1: always accepted, then the next anchor is sampled
 * verifySampled([[4, 7]], () => Float64Array.from([0, 0, 0, 0, 0, 0, 0, 1]), null, new Rng(0)); // { row: 0, accepted: 2, next: 7 }
 * ```
 * @category Sampling
 */
export function verifySampled(
  rows: readonly (readonly number[])[], distribution: (row: number, index: number) => Float64Array, eos: Eos, rng: Rng,
): SampledVerification {
  if (rows.length === 0 || rows.some((r) => r.length === 0 || r[0] !== rows[0][0])) {
    throw new DecodingError("verifySampled: expected at least one row, every row starting with the same anchor");
  }
  let alive = rows.map((_, r) => r);
  for (let accepted = 1; ; accepted++) {
    const first = alive[0];
    let p = distribution(first, accepted - 1);                             // after rows[first][0..accepted-1]
    if (isEos(eos, rows[first][accepted - 1])) return { row: first, accepted, next: sampleToken(p, rng) };
    const proposals = [...new Set(alive.filter((r) => rows[r].length > accepted).map((r) => rows[r][accepted]))];
    let chosen: number | null = null;
    for (const x of proposals) {
      if (rng.uniform() < p[x]) {                                          // accept x with probability p(x)
        chosen = x;
        break;
      }
      p = withoutToken(p, x);                                              // rejected: the residual excludes x
    }
    if (chosen === null) return { row: first, accepted, next: sampleToken(p, rng) };
    alive = alive.filter((r) => rows[r].length > accepted && rows[r][accepted] === chosen);
  }
}

// ---------------------------------------------------------------- AR sampling, the reference

/**
 * Options of {@link arSample}.
 *
 * @category Sampling
 */
export interface ArSampleOptions extends StopOptions, SamplingOptions, RunnerOption {
  /** Seed of the sampling stream; default 0. */
  readonly seed?: number;
}

/**
 * AR sampling with a KV cache: draw each token from {@link samplingDistribution} after the text so far.
 * The reference distribution that Jacobi and multi-block sampling must reproduce. Needs a temperature > 0.
 *
 * @param prompt - [P] token ids, at least one
 * @throws DecodingError for greedy options (use `arGreedy`) or bad ones
 * @example
 * ```ts
 * arSample(PRESETS.tiny, initParams(PRESETS.tiny, { seed: 1 }), [1, 40], { maxNewTokens: 4, temperature: 1, seed: 3 }).tokens.length; // 4
 * ```
 * @category Sampling
 */
export function arSample(config: ModelConfig, params: Params, prompt: readonly number[], options: ArSampleOptions): GenerationResult {
  const sampling = resolveSampling(options, "arSample");
  if (sampling === null) throw new DecodingError("arSample: needs a temperature > 0 (greedy decoding is arGreedy)");
  const rng = new Rng(options.seed ?? 0);
  return arDecode(config, params, prompt, options, "arSample", (result) => nextToken(result, result.rows - 1, sampling, rng));
}
