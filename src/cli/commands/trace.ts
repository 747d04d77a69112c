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
import { DRAFT_INITS, jacobi, type DraftInit } from "../../decoding/jacobi.ts";
import { loadCheckpoint } from "../../model/checkpoint.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";
import { CliError } from "../args.ts";
import type { Command } from "../command.ts";
import { formatTrace, traceRow, visibleText, type TraceRow } from "../trace.ts";
import { traceSvg } from "../trace-svg.ts";
import { promptIds } from "./generate.ts";

/** The `trace` command. @category CLI */
export const traceCommand: Command = {
  summary: "draw the Jacobi trajectory of a prompt: text, or an SVG picture with --svg",
  flags: {
    model: { type: "string", help: "checkpoint folder" },
    prompt: { type: "string", optional: true, help: "prompt text (BOS is prepended)" },
    "prompt-ids": { type: "string", optional: true, help: "prompt as comma-separated token ids" },
    svg: { type: "string", optional: true, help: "write the picture to this file instead of printing the text trace" },
    block: { type: "int", optional: true, help: "show only this block (0-based)" },
    "block-size": { type: "int", default: 16, help: "tokens per Jacobi block n" },
    "max-new-tokens": { type: "int", default: 64, help: "most tokens to generate" },
    init: { type: "string", choices: DRAFT_INITS, default: "context", help: "how draft tokens are first guessed" },
    seed: { type: "int", default: 0, help: "seed of the draft generator" },
    title: { type: "string", optional: true, help: "first line of the picture (default: the model folder and n)" },
  },
  run(flags, io) {
    const model = flags.model as string;
    const { config, params, tokenizer } = loadCheckpoint(model);
    const prompt = promptIds("trace", flags, tokenizer);
    const blockSize = flags["block-size"] as number;
    const all: TraceRow[] = [];
    const result = jacobi(config, params, prompt, {
      maxNewTokens: flags["max-new-tokens"] as number,
      blockSize,
      init: flags.init as DraftInit,
      seed: flags.seed as number,
      onIteration: (step) => all.push(traceRow(step)),
    });
    const blocks = result.stats.iterationsPerBlock.length;
    const only = flags.block as number | undefined;
    if (only !== undefined && (only < 0 || only >= blocks)) {
      throw new CliError(`trace: --block must be in 0..${blocks - 1} (the output has ${blocks} block${blocks === 1 ? "" : "s"}), got ${only}`);
    }
    const rows = only === undefined ? all : all.filter((r) => r.block === only);
    const summary = `${result.stats.committedTokens} tokens in ${result.stats.forwards} forwards (TPF ${result.stats.tokensPerForward.toFixed(2)}), ` +
      `iterations per block ${result.stats.iterationsPerBlock.join(" ")}`;
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
