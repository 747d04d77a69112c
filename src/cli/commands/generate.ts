/**
 * `jacobi-forcing generate`: decodes a continuation of a prompt with a chosen method and prints the
 * text and what it cost (`--json` for one machine-readable object).
 *
 * @module
 */
import { loadCheckpoint } from "../../model/checkpoint.ts";
import type { ModelConfig } from "../../model/config.ts";
import type { Params } from "../../model/params.ts";
import { SPECIAL_TOKENS, type CharTokenizer } from "../../model/tokenizer.ts";
import { arGreedy, type GenerationResult } from "../../decoding/greedy.ts";
import { CliError, parseIds, type Flags } from "../args.ts";
import type { Command } from "../command.ts";

/** A decoding method as the CLI runs it. */
type Method = (config: ModelConfig, params: Params, prompt: number[], flags: Flags) => GenerationResult;

const METHODS: Record<string, Method> = {
  ar: (config, params, prompt, flags) => arGreedy(config, params, prompt, { maxNewTokens: flags["max-new-tokens"] as number }),
};

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
    json: { type: "boolean", help: "print one JSON object {tokens, text, stats}" },
  },
  run(flags, io) {
    checkOnePrompt("generate", flags);
    const { config, params, tokenizer } = loadCheckpoint(flags.model as string);
    const prompt = promptIds("generate", flags, tokenizer);
    const method = METHODS[flags.method as string];
    const result = method(config, params, prompt, flags);
    const text = tokenizer === null ? null : tokenizer.decode(result.tokens);
    if (flags.json) {
      io.out(JSON.stringify({ tokens: result.tokens, text, stats: result.stats }) + "\n");
      return;
    }
    io.out(`${text ?? result.tokens.join(",")}\n`);
    const s = result.stats;
    io.err(`[${flags.method}] ${s.committedTokens} tokens in ${s.forwards} forwards (TPF ${s.tokensPerForward.toFixed(2)})\n`);
  },
};
