/**
 * What the page's worker does with a loaded model: decode a prompt with AR greedy, Jacobi or multi-block
 * decoding — the very calls `jacobi-forcing generate --method ar|jacobi|mr` makes with its defaults —
 * time it, and record every Jacobi iteration as `jacobi-forcing trace` does (`tracedJacobi`, `traceMarks`:
 * one rule for the text trace, the picture and the page).
 *
 * No DOM and no worker API here: plain functions over a checkpoint and the runner its forwards run on
 * (the CPU one, or the WebGPU backend's), so the page's worker and Node run the same code.
 */
import { tracedJacobi, traceMarks, type TraceMark, type TraceRow } from "../../src/cli/trace.ts";
import { arGreedy } from "../../src/decoding/greedy.ts";
import { jacobi } from "../../src/decoding/jacobi.ts";
import { multiBlock } from "../../src/decoding/multiblock.ts";
import type { DecodeStats } from "../../src/decoding/acceptance.ts";
import type { Checkpoint } from "../../src/model/checkpoint.ts";
import { cpuRunner, type ModelRunner } from "../../src/model/runner.ts";
import { tokenLabel } from "../../src/model/tokenizer.ts";

/** The decoding methods, by their `--method` names. */
export type Method = "ar" | "jacobi" | "mr";

/** What to decode: a prompt as text, with one method. */
export interface DecodeRequest {
  /** The prompt, encoded as `generate --prompt` encodes it (BOS where the tokenizer adds one). */
  readonly prompt: string;
  /** The method. */
  readonly method: Method;
  /** n, tokens per block (Jacobi and multi-block; AR ignores it). */
  readonly blockSize: number;
  /** Most tokens to generate, EOS included. */
  readonly maxNewTokens: number;
}

/** The stats of a decode: the decoder's own (as `generate --json` prints them), and the time it took. */
export type PageStats = DecodeStats & {
  /** Forwards on each block (Jacobi and multi-block). */
  readonly iterationsPerBlock?: readonly number[];
  /** Wall-clock time of the decode, ms. */
  readonly milliseconds: number;
  /** committedTokens per second of wall-clock time. */
  readonly tokensPerSecond: number;
  /** The backend that ran the forwards: "cpu" or "webgpu". */
  readonly backend: string;
};

/** What a decode gives back: `#result`'s `data-json` is `{tokens, text, stats}` of one of these. */
export interface Decoded {
  /** [P] the prompt's token ids. */
  readonly promptTokens: number[];
  /** The generated token ids. */
  readonly tokens: number[];
  /** The tokens as text (null for a model without a tokenizer). */
  readonly text: string | null;
  /** What it cost. */
  readonly stats: PageStats;
}

/** One Jacobi iteration as the page draws it: the CLI's trace row, with a label and a mark per token. */
export interface TracedRow extends TraceRow {
  /** Each token of `state` as `trace` prints it (␣ space, ⏎ newline, ...). */
  readonly labels: string[];
  /** accepted / changed / unchanged, per token of `state`. */
  readonly marks: TraceMark[];
}

/** The prompt's token ids, as `generate --prompt` encodes it. */
export function promptTokens(model: Checkpoint, prompt: string): number[] {
  if (model.tokenizer === null) throw new Error("this model has no tokenizer.json, so a text prompt cannot be encoded");
  return model.tokenizer.encodePrompt(prompt);
}

/** Decodes one request on `runner` (default the CPU), timed. */
export function decode(model: Checkpoint, request: DecodeRequest, runner: ModelRunner = cpuRunner(model.config, model.params)): Decoded {
  const { config, params, tokenizer } = model;
  const prompt = promptTokens(model, request.prompt);
  const stop = { maxNewTokens: request.maxNewTokens, runner };
  const start = performance.now();
  const result = request.method === "ar" ? arGreedy(config, params, prompt, stop)
    : request.method === "jacobi" ? jacobi(config, params, prompt, { ...stop, blockSize: request.blockSize })
    : multiBlock(config, params, prompt, { ...stop, blockSize: request.blockSize });
  const milliseconds = performance.now() - start;
  const stats = { ...result.stats, milliseconds, tokensPerSecond: result.stats.committedTokens / (milliseconds / 1000), backend: runner.backend };
  return { promptTokens: prompt, tokens: result.tokens, text: tokenizer === null ? null : tokenizer.decode(result.tokens), stats };
}

/** Every Jacobi iteration of every block of a greedy Jacobi decode on `runner`, as `trace` records and marks them. */
export function traceJacobi(model: Checkpoint, request: Omit<DecodeRequest, "method">, runner: ModelRunner = cpuRunner(model.config, model.params)): TracedRow[] {
  const { rows } = tracedJacobi(model.config, model.params, promptTokens(model, request.prompt), { maxNewTokens: request.maxNewTokens, blockSize: request.blockSize, runner });
  const marks = traceMarks(rows);
  return rows.map((row, r) => ({ ...row, labels: row.state.map((t) => tokenLabel(t, model.tokenizer)), marks: marks[r] }));
}
