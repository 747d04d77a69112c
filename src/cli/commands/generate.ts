/**
 * `jacobi-forcing generate`: decodes a continuation of a prompt with a chosen method and prints the
 * text and what it cost (`--json` for one machine-readable object). `--method jacobi` decodes n tokens
 * per block (`--block-size`; `auto`, the default on Jacobi Forcing models, picks n from the TPF each n
 * reaches on the prompt and the cost of a forward, measured once per machine and model shape and stored
 * (`../cost-curve.ts`), and prints why); `--trace` shows every Jacobi iteration. `--method mr` is
 * multi-block decoding with rejection recycling (`--blocks` K, `--spawn-ratio` r, `--pool` size).
 * `--temperature` (with `--top-k`, `--top-p`, `--seed`) samples instead, losslessly, with every method.
 * `--chat` wraps the prompt in the model's chat template, as one user message.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpoint, loadConfigAndTokenizer } from "../../node/checkpoint-folder.ts";
import { encodeChat } from "../../model/hf-tokenizer.ts";
import type { Tokenizer } from "../../model/tokenizer.ts";
import { autoBlockSize, formatBlockSizeChoice, type BlockSizeChoice } from "../../decoding/block-size.ts";
import { DRAFT_INITS } from "../../decoding/draft.ts";
import { JACOBI_MODES, MULTIBLOCK_DEFAULTS } from "../../decoding/types.ts";
import { CliError, parseIds, type Command, type FlagSpec, type Flags } from "../args.ts";
import { RUNNER_FLAGS, withRunner } from "../backend.ts";
import { storedCostCurve } from "../cost-curve.ts";
import { blockSize, METHOD_FLAG, METHODS, MULTIBLOCK_FLAGS, type MethodResult } from "../methods.ts";
import { formatTrace, traceRow, type TraceRow } from "../trace.ts";

/** `--block-size` as a number, or undefined for the method's own default; `auto` is resolved by the caller. */
function blockSizeFlag(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n)) throw new CliError(`generate: --block-size must be an integer or auto, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * True for a checkpoint written by `distill` (its loss.csv has the Jacobi Forcing consistency column):
 * there `--block-size` defaults to `auto`.
 */
function isJacobiForcingModel(dir: string): boolean {
  const file = join(dir, "loss.csv");
  return existsSync(file) && (readFileSync(file, "utf8").split("\n", 1)[0] ?? "").split(",").includes("consistency_loss");
}

/**
 * The stats as `--json` prints them. `acceptedFrom.seed` repeats `acceptedFrom.anchor` under the name it
 * had before "seed" came to mean only the random generator's seed, so that scripts reading it keep working.
 */
function jsonStats(stats: MethodResult["stats"]): object {
  if (stats.acceptedFrom === undefined) return stats;
  return { ...stats, acceptedFrom: { ...stats.acceptedFrom, seed: stats.acceptedFrom.anchor } };
}

/** One line of what a run cost, for stderr. */
function costLine(flags: Flags, result: MethodResult): string {
  const s = result.stats;
  const sampled = (flags.temperature as number) > 0 ? ` temperature=${flags.temperature}` : "";
  const names: Record<string, string> = {
    jacobi: `jacobi n=${blockSize(flags, 16)} ${flags.mode} init=${flags.init}`,
    mr: `mr n=${blockSize(flags, MULTIBLOCK_DEFAULTS.blockSize)} K=${flags.blocks} r=${flags["spawn-ratio"]} pool=${flags.pool} ${flags["pool-kind"]}`,
  };
  const method = (names[flags.method as string] ?? String(flags.method)) + sampled;
  let line = `[${method}] ${s.committedTokens} tokens in ${s.forwards} forwards (TPF ${s.tokensPerForward.toFixed(2)}), ` +
    `${s.tokenPositions} token positions processed`;
  if (s.iterationsPerBlock !== undefined && s.iterationsPerBlock.length > 0) line += `, iterations per block ${s.iterationsPerBlock.join(" ")}`;
  if (s.acceptedFrom !== undefined) {
    const f = s.acceptedFrom;
    line += `; accepted from: ${f.anchor} anchors, ${f.draft} drafts, ${f.recycled} recycled, ${f.promoted} promoted`;
  }
  return line + "\n";
}

/**
 * Bad usage unless exactly one of `--prompt` and `--prompt-ids` is given.
 *
 * @example
 * ```ts
 * checkOnePrompt("generate", { prompt: "hi", "prompt-ids": "1,2" }); // throws: generate: give exactly one of --prompt TEXT and --prompt-ids IDS
 * ```
 * @category CLI
 */
export function checkOnePrompt(command: string, flags: Flags): void {
  if ((flags.prompt === undefined) === (flags["prompt-ids"] === undefined)) {
    throw new CliError(`${command}: give exactly one of --prompt TEXT and --prompt-ids IDS`);
  }
}

/**
 * The flags {@link promptIds} reads, with `--model`: the checkpoint folder, then the prompt as text or as ids.
 *
 * @category CLI
 */
export const PROMPT_FLAGS: Readonly<Record<string, FlagSpec>> = {
    model: { type: "string", help: "checkpoint folder" },
    prompt: { type: "string", optional: true, help: "prompt text (BOS is prepended where the tokenizer adds one)" },
    chat: { type: "boolean", help: "wrap --prompt as one user message in the model's chat template (chat_template.jinja or tokenizer_config.json)" },
    "prompt-ids": { type: "string", optional: true, help: "prompt as comma-separated token ids" },
};

/**
 * The prompt's token ids: `--prompt-ids` as given, or `--prompt` encoded as transformers encodes a prompt
 * (BOS where the tokenizer adds one), or with `--chat` as one user message in the chat template.
 * @example
 * ```ts
 * promptIds("generate", { prompt: "914+169\n" }, mathTokenizer); // [1, 16, 8, 11, 5, 8, 13, 16, 3]: BOS, then one id per character
 * ```
 * @category CLI
 */
export function promptIds(command: string, flags: Flags, tokenizer: Tokenizer | null): number[] {
  checkOnePrompt(command, flags);
  if (flags.chat && flags.prompt === undefined) throw new CliError(`${command}: --chat wraps the --prompt text in the chat template; it needs --prompt`);
  if (flags["prompt-ids"] !== undefined) return parseIds(command, "prompt-ids", flags["prompt-ids"] as string);
  if (tokenizer === null) throw new CliError(`${command}: the model has no tokenizer.json; use --prompt-ids`);
  return flags.chat ? encodeChat(tokenizer, flags.prompt as string, flags.model as string) : tokenizer.encodePrompt(flags.prompt as string);
}

/**
 * Positions beyond the prompt and `--max-new-tokens` that a WebGPU runner's context keeps: `--block-size
 * auto`'s cost curve needs 64 (32 cached, blocks up to 32); Jacobi never drafts past the new tokens. `mr`
 * keeps `--pool` x n more, so that its pool's candidate rows always fit beside the drafts (a smaller context
 * would send fewer candidates: the same greedy tokens, other forward counts, another sampling stream).
 */
const GPU_CONTEXT_ROOM = 128;

/**
 * The `generate` command, e.g.
 * `jacobi-forcing generate --model models/math-teacher --prompt-ids 1,16,8,11,5,8,13,16,3 --method jacobi --json`.
 *
 * @category CLI
 */
export const generateCommand: Command = {
  summary: "generate a continuation of a prompt",
  flags: {
    ...PROMPT_FLAGS,
    method: METHOD_FLAG,
    "max-new-tokens": { type: "int", default: 32, positive: true, help: "most tokens to generate" },
    "ignore-eos": { type: "boolean", help: "keep generating after EOS, up to --max-new-tokens (random models emit EOS early)" },
    "block-size": { type: "string", optional: true, help: "jacobi, mr: tokens per block n (default 16 for jacobi, 64 for mr); jacobi: auto = chosen from the TPF on the prompt and this machine's stored cost curve (the default on Jacobi Forcing models)" },
    ...MULTIBLOCK_FLAGS,
    init: { type: "string", choices: DRAFT_INITS, default: "context", help: "jacobi, mr: how draft tokens are first guessed" },
    mode: { type: "string", choices: JACOBI_MODES, default: "block", help: "jacobi: block by block, or a running window of n tokens" },
    seed: { type: "int", default: 0, help: "seed of the draft generator and of sampling" },
    temperature: { type: "number", default: 0, help: "sample at this temperature (0: greedy); lossless for every method" },
    "top-k": { type: "int", optional: true, help: "sampling: keep the k most probable tokens" },
    "top-p": { type: "number", optional: true, help: "sampling: keep the smallest most-probable set of mass p" },
    trace: { type: "boolean", help: "jacobi: print every iteration, marking tokens accepted, changed and unchanged" },
    json: { type: "boolean", help: "print one JSON object {promptTokens, tokens, text, stats} (and autoBlockSize, the choice and its cost curve, with --block-size auto)" },
    ...RUNNER_FLAGS,
  },
  async run(flags, io) {
    checkOnePrompt("generate", flags);
    if (flags.trace && flags.method !== "jacobi") throw new CliError("generate: --trace shows Jacobi iterations; it needs --method jacobi");
    if (flags.trace && flags.json) throw new CliError("generate: --trace and --json cannot be combined (the JSON must stay machine-readable)");
    // On the GPU the folder streams to the device (16-bit stays 16-bit) and is never loaded here, and the
    // context is what this call can use: a 7B's config names 32768 positions, and logits and caches sized
    // for that would not fit. (The stored cost curve keeps the folder's config as its key: one per model
    // shape, whatever the call's context.) On the CPU the folder is loaded as float64 Params.
    const dir = flags.model as string;
    const onGpu = flags.backend === "webgpu";
    const { config: stored, params: weights, tokenizer } = onGpu ? { ...loadConfigAndTokenizer(dir), params: { kind: "folder", dir } as const } : loadCheckpoint(dir);
    const prompt = promptIds("generate", flags, tokenizer);
    const n = Number.isInteger(Number(flags["block-size"])) ? Number(flags["block-size"]) : MULTIBLOCK_DEFAULTS.blockSize;
    const room = flags.method === "mr" ? Math.max(GPU_CONTEXT_ROOM, (flags.pool as number) * n) : GPU_CONTEXT_ROOM;
    const maxPositions = Math.min(stored.maxPositions, onGpu ? prompt.length + (flags["max-new-tokens"] as number) + room : Infinity);
    const config = { ...stored, maxPositions };
    const auto = flags["block-size"] === "auto" || (flags["block-size"] === undefined && flags.method === "jacobi" && isJacobiForcingModel(flags.model as string));
    if (auto && flags.method !== "jacobi") throw new CliError(`generate: --block-size auto chooses a Jacobi block size; it needs --method jacobi, got ${flags.method}`);
    let resolved: Flags = { ...flags, "block-size": auto ? undefined : blockSizeFlag(flags["block-size"] as string | undefined) };
    const rows: TraceRow[] = [];
    let choice: BlockSizeChoice | undefined;
    const result = await withRunner("generate", flags, config, weights, (runner, params) => {
      if (auto) {
        // The TPF each candidate n reaches on the prompt itself, greedily, for up to 32 tokens, on the backend
        // that will decode, and the cost curve of this machine, backend and model shape, measured once and
        // stored: the same prompt gives the same choice at any load (src/decoding/block-size.ts).
        const curve = storedCostCurve(stored, params, runner, flags.threads as number, (line) => io.err(`generate: ${line}`));
        choice = autoBlockSize(config, params, [prompt], { stop: { maxNewTokens: Math.min(32, flags["max-new-tokens"] as number) }, runner, curve });
        io.err(formatBlockSizeChoice(choice));
        // n = 1 is AR (one token a forward): the AR loop decodes it without Jacobi's bookkeeping.
        resolved = { ...resolved, "block-size": choice.blockSize, ...(choice.blockSize === 1 && !flags.trace ? { method: "ar" } : {}) };
      }
      const stop = { maxNewTokens: flags["max-new-tokens"] as number, ...(flags["ignore-eos"] ? { eosTokenId: null } : {}), runner };
      return METHODS[resolved.method as string](config, params, prompt, stop, resolved, flags.trace ? (step) => rows.push(traceRow(step)) : undefined);
    }, onGpu ? maxPositions : undefined);
    const text = tokenizer === null ? null : tokenizer.decode(result.tokens);
    if (result.stats.stopReason === "context") {
      io.err(`generate: stopped at the context length ${config.maxPositions} after ${result.tokens.length} of ${flags["max-new-tokens"]} ` +
        `requested tokens (prompt ${prompt.length} tokens)\n`);
    }
    if (flags.json) {
      io.out(JSON.stringify({ promptTokens: prompt, tokens: result.tokens, text, stats: jsonStats(result.stats), ...(choice ? { autoBlockSize: choice } : {}) }) + "\n");
      return;
    }
    if (flags.trace) io.out(formatTrace(rows, tokenizer, io.isTTY));
    io.out(`${text ?? result.tokens.join(",")}\n`);
    io.err(costLine(resolved, result));
  },
};
