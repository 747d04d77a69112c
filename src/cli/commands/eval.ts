/**
 * `jacobi-forcing eval`: held-out evaluation of a trained model.
 *
 * ```
 * jacobi-forcing eval --model DIR --data math|code [--method ar] [--json] [--examples N]
 * ```
 * - math: exact-match accuracy of the final answer on N (default 500) held-out problems, decoded greedily.
 * - code: bits per character on every held-out window (the model's context length, stride = context),
 *   next to the unigram baseline on the same characters; and the greedy continuation of held-out prefixes.
 * Both report decoding speed: tokens per decode forward and tokens per second.
 * With `--json` it prints one object:
 * `{"accuracy", "bitsPerChar", "unigramBitsPerChar", "tokensPerForward", "tokensPerSecond", "examples"}`
 * (accuracy for math, bits per character for code, null for the other).
 *
 * Read next: `src/evaluation/tasks.ts`.
 *
 * @module
 */
import { IGNORE } from "../../data/dataset.ts";
import { mathEvalSet } from "../../data/math.ts";
import { arGreedy } from "../../decoding/greedy.ts";
import { continueText, mathAccuracy, type Decode } from "../../evaluation/tasks.ts";
import { loadCheckpoint } from "../../model/checkpoint.ts";
import type { ModelConfig } from "../../model/config.ts";
import type { Params } from "../../model/params.ts";
import { heldoutLoss } from "../../training/trainer.ts";
import { UsageError, parseArgs } from "../args.ts";
import { datasetFor } from "./train.ts";

/** The decoder named by `--method`. */
function decoderFor(method: string, config: ModelConfig, params: Params): Decode {
  if (method === "ar") {
    return (prompt, maxNewTokens) => {
      const g = arGreedy(config, params, prompt, { maxNewTokens });
      return { tokens: g.tokens, forwards: g.stats.forwards };
    };
  }
  throw new UsageError(`eval: unknown method "${method}"; expected ar`);
}

/**
 * Runs the `eval` command.
 *
 * @param argv - the arguments after `eval`
 * @category CLI
 */
export function evalCommand(argv: readonly string[]): void {
  const args = parseArgs("eval", argv, {
    model: { type: "string", required: true },
    data: { type: "string", required: true },
    method: { type: "string", default: "ar" },
    json: { type: "boolean" },
    examples: { type: "integer" },
  });
  const { config, params, tokenizer } = loadCheckpoint(args.model as string);
  if (tokenizer === null) throw new UsageError(`eval: ${args.model} has no tokenizer.json; it was not made by train`);
  const dataset = datasetFor(args.data as string);
  if (JSON.stringify(tokenizer.chars) !== JSON.stringify(dataset.tokenizer.chars)) {
    throw new UsageError(`eval: the model's vocabulary (${tokenizer.vocabSize} ids) is not the ${dataset.name} dataset's (${dataset.tokenizer.vocabSize} ids); was it trained on ${dataset.name}?`);
  }
  const decode = decoderFor(args.method as string, config, params);
  const json = args.json === true;
  let accuracy: number | null = null;
  let bitsPerChar: number | null = null;
  let unigramBitsPerChar: number | null = null;
  let examples: number;
  let totals: { tokens: number; forwards: number; seconds: number };

  if (dataset.name === "math") {
    const result = mathAccuracy(tokenizer, mathEvalSet((args.examples as number | undefined) ?? 500, 1234), decode);
    accuracy = result.accuracy;
    examples = result.examples;
    totals = result;
    if (!json) {
      for (const f of result.failures) process.stdout.write(`wrong: ${f.question} expected ${f.expected}, got ${JSON.stringify(f.got)}\n`);
    }
  } else {
    const windows = dataset.heldoutSequences(config.maxPositions, (args.examples as number | undefined) ?? Number.MAX_SAFE_INTEGER);
    bitsPerChar = heldoutLoss(config, params, windows) / Math.LN2;
    if (dataset.unigram) {
      let bits = 0, count = 0;
      for (const w of windows) for (const t of w.targets) if (t !== IGNORE) { bits -= Math.log2(dataset.unigram[t]); count++; }
      unigramBitsPerChar = bits / count;
    }
    examples = windows.length;
    // greedy continuations of 5 held-out prefixes (the first 64 characters of 5 windows, 100 tokens each)
    const step = Math.max(1, Math.floor(windows.length / 5));
    const prefixes = [0, 1, 2, 3, 4].map((i) => tokenizer.decode(windows[Math.min(i * step, windows.length - 1)].tokens.slice(0, 64)));
    const start = performance.now();
    let tokens = 0, forwards = 0;
    const counting: Decode = (p, n) => {
      const g = decode(p, n);
      tokens += g.tokens.length;
      forwards += g.forwards;
      return g;
    };
    const continuations = continueText(tokenizer, prefixes, 100, counting);
    totals = { tokens, forwards, seconds: (performance.now() - start) / 1000 };
    if (!json) {
      for (const c of continuations) process.stdout.write(`--- prefix:\n${c.prefix}\n--- greedy continuation:\n${c.continuation}\n`);
    }
  }
  const report = {
    accuracy, bitsPerChar, unigramBitsPerChar,
    tokensPerForward: totals.tokens / Math.max(totals.forwards, 1),
    tokensPerSecond: totals.tokens / totals.seconds,
    examples,
  };
  if (json) process.stdout.write(JSON.stringify(report) + "\n");
  else {
    for (const [k, v] of Object.entries(report)) if (v !== null) process.stdout.write(`${k}: ${Number.isInteger(v) ? v : v.toFixed(4)}\n`);
  }
}
