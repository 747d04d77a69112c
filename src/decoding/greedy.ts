/**
 * Autoregressive (AR) greedy decoding: the oracle every faster decoder is tested against.
 *
 * `arGreedyReference` is the definition — recompute the whole forward over prompt + output at every
 * step, take the argmax of the last row, stop at EOS or the budget (`generationFinished`). No cache, nothing clever: it is the
 * code you should be able to check by eye. `arGreedy` is the same loop with a KV cache: one prefill over
 * the prompt, then one single-token forward per committed token (`arDecode`, the loop `arSample` shares).
 * The specs prove they agree token for token, and every decoder in this folder must agree with them too.
 *
 * Paper: Eq. 1 of §2.1 (`y_i = argmax p(y | y_<i, x)`).
 *
 * Read next: `jacobi.ts`, which commits several of these tokens per forward.
 *
 * @module
 */
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { resolveRunner, type ForwardResult, type RunnerOption } from "../model/runner.ts";
import { generationBudget, generationFinished, makeStats, stopReason, stopToken, type DecodeStats, type StopOptions } from "./acceptance.ts";

/**
 * What a decoder returns.
 *
 * @category Decoding
 */
export interface GenerationResult {
  /** The generated token ids only (not the prompt); ends with EOS if one was generated. */
  readonly tokens: number[];
  /** What it cost. */
  readonly stats: DecodeStats;
}

/**
 * Options of the AR greedy decoders: when to stop, and (optionally) which backend runs.
 *
 * @category Decoding
 */
export interface GreedyOptions extends StopOptions, RunnerOption {}

/** The greedy token after the last row of a forward. */
function lastArgmax(result: ForwardResult): number {
  return result.argmax()[result.rows - 1];
}

/**
 * The oracle: greedy AR decoding that recomputes the full forward at every step (no cache).
 * Slow on purpose — O(N²) tokens forwarded for N outputs — and as obvious as possible.
 *
 * @param prompt - [P] token ids, at least one
 * @example
 * ```ts
 * arGreedyReference(PRESETS.tiny, initParams(PRESETS.tiny, { seed: 1 }), [1, 40], { maxNewTokens: 4 }).tokens.length; // 4
 * ```
 * @category Decoding
 */
export function arGreedyReference(config: ModelConfig, params: Params, prompt: readonly number[], options: GreedyOptions): GenerationResult {
  const budget = generationBudget(config, prompt, options, "arGreedyReference");
  const runner = resolveRunner(config, params, options, "arGreedyReference");
  const eos = stopToken(config, options);
  const sequence = [...prompt];
  const out: number[] = [];
  let positions = 0;
  while (!generationFinished(out, budget, eos)) {
    const next = lastArgmax(runner.forward(sequence));
    positions += sequence.length;
    out.push(next);
    sequence.push(next);
  }
  return { tokens: out, stats: makeStats(out.length, 0, out.length, positions, stopReason(out, eos, options.maxNewTokens)) };
}

/**
 * Greedy AR decoding with a KV cache. The prefill over the prompt gives the first token; each decode
 * forward then feeds one committed token and predicts the next, so every committed token costs exactly
 * one forward (TPF = 1). Equal to {@link arGreedyReference} token for token.
 *
 * @param prompt - [P] token ids, at least one
 * @example
 * ```ts
 * arGreedy(PRESETS.tiny, initParams(PRESETS.tiny, { seed: 1 }), [1, 40], { maxNewTokens: 4 }).stats.tokensPerForward; // 1
 * ```
 * @category Decoding
 */
export function arGreedy(config: ModelConfig, params: Params, prompt: readonly number[], options: GreedyOptions): GenerationResult {
  return arDecode(config, params, prompt, options, "arGreedy", lastArgmax);
}

/**
 * The loop of {@link arGreedy} and `arSample`: AR decoding with a KV cache, where `next` chooses the
 * token after the last row of each forward — its argmax, or a sample.
 *
 * @param where - the decoder's name, for error messages
 * @param next - the token after the last row of a forward
 * @example
 * ```ts
 * arDecode(PRESETS.tiny, params, [1, 40], { maxNewTokens: 4 }, "arGreedy", (r) => r.argmax()[r.rows - 1]); // = arGreedy(...)
 * ```
 * @category Decoding
 */
export function arDecode(
  config: ModelConfig, params: Params, prompt: readonly number[], options: GreedyOptions, where: string, next: (result: ForwardResult) => number,
): GenerationResult {
  const budget = generationBudget(config, prompt, options, where);
  const runner = resolveRunner(config, params, options, where);
  const eos = stopToken(config, options);
  const out: number[] = [];
  if (budget === 0) return { tokens: out, stats: makeStats(0, 0, 0, 0, stopReason(out, eos, options.maxNewTokens)) };
  const cache = runner.newCache({ firstStep: 1 });
  try {
    let token = next(runner.forward(prompt, { cache }));                  // prefill: the first token
    let forwards = 0;
    for (;;) {
      const result = runner.forward([token], { cache });                 // commits `token`, predicts the one after
      forwards++;
      out.push(token);
      if (generationFinished(out, budget, eos)) break;
      token = next(result);
    }
    return { tokens: out, stats: makeStats(forwards, 1, out.length, forwards, stopReason(out, eos, options.maxNewTokens)) };
  } finally {
    cache.release?.();  // a GPU cache gives its buffers back now (pooled or freed): garbage collection may not run inside a decoding loop
  }
}
