/**
 * `jacobi-forcing generate`: decodes a continuation of a prompt with a chosen method and prints the
 * text and what it cost (`--json` for one machine-readable object). `--method jacobi` decodes n tokens
 * per block (`--block-size`); `--trace` shows every Jacobi iteration, token by token.
 *
 * @module
 */
import { loadCheckpoint } from "../../model/checkpoint.ts";
import type { ModelConfig } from "../../model/config.ts";
import type { Params } from "../../model/params.ts";
import { SPECIAL_TOKENS, type CharTokenizer } from "../../model/tokenizer.ts";
import type { DecodeStats, StopOptions } from "../../decoding/acceptance.ts";
import { arGreedy } from "../../decoding/greedy.ts";
import { DRAFT_INITS, JACOBI_MODES, jacobi, type DraftInit, type JacobiMode, type JacobiStats, type JacobiStep } from "../../decoding/jacobi.ts";
import { CliError, parseIds, type Flags } from "../args.ts";
import type { Command } from "../command.ts";
import { formatTrace, traceRow, type TraceRow } from "../trace.ts";

/** The stopping options every method shares: the budget, and EOS unless `--ignore-eos`. */
function stopOptions(flags: Flags): StopOptions {
  return { maxNewTokens: flags["max-new-tokens"] as number, ...(flags["ignore-eos"] ? { eosTokenId: null } : {}) };
}

/** What a method returns: the tokens, and the stats (with Jacobi's per-block iterations where there are blocks). */
interface MethodResult {
  readonly tokens: number[];
  readonly stats: DecodeStats & Partial<Pick<JacobiStats, "iterationsPerBlock">>;
}

/** A decoding method as the CLI runs it; `onIteration` is given only with `--trace`. */
type Method = (config: ModelConfig, params: Params, prompt: number[], flags: Flags, onIteration?: (step: JacobiStep) => void) => MethodResult;

const METHODS: Record<string, Method> = {
  ar: (config, params, prompt, flags) => arGreedy(config, params, prompt, stopOptions(flags)),
  jacobi: (config, params, prompt, flags, onIteration) => jacobi(config, params, prompt, {
    ...stopOptions(flags),
    blockSize: flags["block-size"] as number,
    init: flags.init as DraftInit,
    mode: flags.mode as JacobiMode,
    seed: flags.seed as number,
    onIteration,
  }),
};

/** One line of what a run cost, for stderr. */
function costLine(flags: Flags, result: MethodResult): string {
  const s = result.stats;
  const method = flags.method === "jacobi" ? `jacobi n=${flags["block-size"]} ${flags.mode} init=${flags.init}` : String(flags.method);
  let line = `[${method}] ${s.committedTokens} tokens in ${s.forwards} forwards (TPF ${s.tokensPerForward.toFixed(2)}), ` +
    `${s.tokenPositions} token positions processed`;
  if (s.iterationsPerBlock !== undefined && s.iterationsPerBlock.length > 0) line += `, iterations per block ${s.iterationsPerBlock.join(" ")}`;
  return line + "\n";
}

/** Bad usage unless exactly one of `--prompt` and `--prompt-ids` is given. @category CLI */
export function checkOnePrompt(command: string, flags: Flags): void {
  if ((flags.prompt === undefined) === (flags["prompt-ids"] === undefined)) {
    throw new CliError(`${command}: give exactly one of --prompt TEXT and --prompt-ids IDS`);
  }
}

/**
 * The prompt's token ids: `--prompt-ids` as given, or BOS followed by the characters of `--prompt`.
 * @category CLI
 */
export function promptIds(command: string, flags: Flags, tokenizer: CharTokenizer | null): number[] {
  checkOnePrompt(command, flags);
  if (flags["prompt-ids"] !== undefined) return parseIds(command, "prompt-ids", flags["prompt-ids"] as string);
  if (tokenizer === null) throw new CliError(`${command}: the model has no tokenizer.json; use --prompt-ids`);
  return [SPECIAL_TOKENS.bos, ...tokenizer.encode(flags.prompt as string)];
}

/** The `generate` command. @category CLI */
export const generateCommand: Command = {
  summary: "generate a continuation of a prompt",
  flags: {
    model: { type: "string", help: "checkpoint folder" },
    prompt: { type: "string", optional: true, help: "prompt text (BOS is prepended)" },
    "prompt-ids": { type: "string", optional: true, help: "prompt as comma-separated token ids" },
    method: { type: "string", choices: Object.keys(METHODS), default: "ar", help: "decoding method" },
    "max-new-tokens": { type: "int", default: 32, help: "most tokens to generate" },
    "ignore-eos": { type: "boolean", help: "keep generating after EOS, up to --max-new-tokens (random models emit EOS early)" },
    "block-size": { type: "int", default: 16, help: "jacobi: tokens per block n" },
    init: { type: "string", choices: DRAFT_INITS, default: "context", help: "jacobi: how draft tokens are first guessed" },
    mode: { type: "string", choices: JACOBI_MODES, default: "block", help: "jacobi: block by block, or a sliding window of n tokens" },
    seed: { type: "int", default: 0, help: "jacobi: seed of the draft generator" },
    trace: { type: "boolean", help: "jacobi: print every iteration, marking tokens accepted, changed and unchanged" },
    json: { type: "boolean", help: "print one JSON object {tokens, text, stats}" },
  },
  run(flags, io) {
    checkOnePrompt("generate", flags);
    if (flags.trace && flags.method !== "jacobi") throw new CliError("generate: --trace shows Jacobi iterations; it needs --method jacobi");
    if (flags.trace && flags.json) throw new CliError("generate: --trace and --json cannot be combined (the JSON must stay machine-readable)");
    const { config, params, tokenizer } = loadCheckpoint(flags.model as string);
    const prompt = promptIds("generate", flags, tokenizer);
    const method = METHODS[flags.method as string];
    const rows: TraceRow[] = [];
    const result = method(config, params, prompt, flags, flags.trace ? (step) => rows.push(traceRow(step)) : undefined);
    const text = tokenizer === null ? null : tokenizer.decode(result.tokens);
    if (flags.json) {
      io.out(JSON.stringify({ tokens: result.tokens, text, stats: result.stats }) + "\n");
      return;
    }
    if (flags.trace) io.out(formatTrace(rows, tokenizer, io.isTTY));
    io.out(`${text ?? result.tokens.join(",")}\n`);
    io.err(costLine(flags, result));
  },
};
