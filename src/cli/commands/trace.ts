/**
 * `jacobi-forcing trace`: decodes a prompt with greedy block Jacobi and shows its trajectory — every
 * iteration of every block, token by token, marked accepted / changed / unchanged — as text on stdout,
 * or with `--svg FILE` as a picture (rows are iterations, cells are tokens; `trace-svg.ts`).
 *
 * ```
 * jacobi-forcing trace --model DIR --prompt TEXT [--svg FILE] [--block N] [--block-size n]
 *                      [--max-new-tokens M] [--init context|vocab|repeat-last|pad] [--seed S] [--title T]
 * ```
 * `--block N` keeps one block (0-based), the usual choice for a picture. The decoding is exactly
 * `generate --method jacobi` with the same flags: the same tokens, the same iterations.
 *
 * What it is not: a decoder of its own. It only watches `jacobi` through its `onIteration` hook.
 *
 * Read next: `../trace-svg.ts` (the picture), `../trace.ts` (the marks and the text view).
 *
 * @module
 */
import { DRAFT_INITS, type DraftInit } from "../../decoding/draft.ts";
import type { JacobiResult } from "../../decoding/types.ts";
import { loadCheckpoint } from "../../node/checkpoint-folder.ts";
import { visibleText } from "../../model/tokenizer.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";
import { CliError, type Command } from "../args.ts";
import { formatTrace, tracedJacobi } from "../trace.ts";
import { traceSvg } from "../trace-svg.ts";
import { PROMPT_FLAGS, promptIds } from "./generate.ts";

/**
 * One line of what a traced run cost: `34 tokens in 27 forwards (TPF 1.26), iterations per block 15 10 2`.
 *
 * @example
 * ```ts
 * traceSummary(tracedJacobi(config, params, prompt, { maxNewTokens: 64, blockSize: 16 }).result);
 * // "34 tokens in 29 forwards (TPF 1.17), iterations per block 15 12 2"   (the math teacher on 914+169)
 * ```
 * @category CLI
 */
export function traceSummary(result: JacobiResult): string {
  const s = result.stats;
  return `${s.committedTokens} tokens in ${s.forwards} forwards (TPF ${s.tokensPerForward.toFixed(2)}), iterations per block ${s.iterationsPerBlock.join(" ")}`;
}

/**
 * The `trace` command, e.g.
 * `jacobi-forcing trace --model models/math-teacher --prompt $'914+169\n' --block 0 --svg block.svg`.
 *
 * @category CLI
 */
export const traceCommand: Command = {
  summary: "draw the Jacobi trajectory of a prompt: text, or an SVG picture with --svg",
  flags: {
    ...PROMPT_FLAGS,
    svg: { type: "string", optional: true, help: "write the picture to this file instead of printing the text trace" },
    block: { type: "int", optional: true, help: "show only this block (0-based)" },
    "block-size": { type: "int", default: 16, help: "tokens per Jacobi block n" },
    "max-new-tokens": { type: "int", default: 64, positive: true, help: "most tokens to generate" },
    init: { type: "string", choices: DRAFT_INITS, default: "context", help: "how draft tokens are first guessed" },
    seed: { type: "int", default: 0, help: "seed of the draft generator" },
    title: { type: "string", optional: true, help: "first line of the picture (default: the model folder and n)" },
  },
  run(flags, io) {
    const model = flags.model as string;
    const { config, params, tokenizer } = loadCheckpoint(model);
    const prompt = promptIds("trace", flags, tokenizer);
    const blockSize = flags["block-size"] as number;
    const { rows: all, result } = tracedJacobi(config, params, prompt, {
      maxNewTokens: flags["max-new-tokens"] as number,
      blockSize,
      init: flags.init as DraftInit,
      seed: flags.seed as number,
    });
    const blocks = result.stats.iterationsPerBlock.length;
    const only = flags.block as number | undefined;
    if (only !== undefined && (only < 0 || only >= blocks)) {
      throw new CliError(`trace: --block must be in 0..${blocks - 1} (the output has ${blocks} block${blocks === 1 ? "" : "s"}), got ${only}`);
    }
    const rows = only === undefined ? all : all.filter((r) => r.block === only);
    const summary = traceSummary(result);
    if (flags.svg === undefined) {
      io.out(formatTrace(rows, tokenizer, io.isTTY));
      io.err(`[trace jacobi n=${blockSize}] ${summary}\n`);
      return;
    }
    const title = (flags.title as string | undefined) ?? `${model} — greedy Jacobi, n = ${blockSize}`;
    const subtitle = `prompt ${visibleText(prompt, tokenizer)} · ${summary}`;
    writeFileAtomic(flags.svg as string, traceSvg(rows, tokenizer, { title, subtitle }));
    io.out(`wrote ${flags.svg}: ${only === undefined ? `${blocks} blocks` : `block ${only}`}, ${rows.length} iterations; ${summary}\n`);
  },
};
