/**
 * `jacobi-forcing eval`: held-out evaluation of a trained model.
 *
 * ```
 * jacobi-forcing eval --model DIR --data math|code [--method ar|jacobi|mr] [--json] [--examples N]
 * ```
 * `--method jacobi` decodes with greedy block Jacobi decoding (`--block-size`, default 16) and `--method mr`
 * with with multi-block decoding and rejection recycling (`--block-size`, `--blocks`,
 * `--spawn-ratio`, `--pool`, `--pool-kind`; the paper's defaults, n = 64). Both give the same tokens as AR,
 * so the same accuracy, and their own tokens per forward.
 * - math: exact-match accuracy of the final answer on N (default 500) held-out problems, decoded greedily.
 * - code: bits per character on every held-out window (the model's context length, stride = context),
 *   next to the unigram baseline on the same characters; and the greedy continuation of held-out prefixes.
 * Both report decoding speed: tokens per decode forward and tokens per second.
 * With `--json` it prints one object:
 * `{"accuracy", "bitsPerChar", "unigramBitsPerChar", "tokensPerForward", "iterationsPerToken", "tokensPerSecond", "examples"}`
 * (accuracy for math, bits per character for code, null for the other; `iterationsPerToken` = 1 / TPF,
 * decode forwards per generated token).
 *
 * Read next: `src/evaluation/tasks.ts`.
 *
 * @module
 */
import { IGNORE, type Dataset } from "../../data/dataset.ts";
import { mathEvalSet } from "../../data/math.ts";
import { arGreedy } from "../../decoding/greedy.ts";
import { jacobi } from "../../decoding/jacobi.ts";
import { multiBlock } from "../../decoding/multiblock.ts";
import { POOL_KINDS, type PoolKind } from "../../decoding/recycling.ts";
import { MULTIBLOCK_DEFAULTS } from "../../decoding/types.ts";
import { continueText, mathAccuracy, type Decode } from "../../evaluation/tasks.ts";
import { loadCheckpoint, type Checkpoint } from "../../model/checkpoint.ts";
import type { ModelConfig } from "../../model/config.ts";
import type { Params } from "../../model/params.ts";
import type { CharTokenizer } from "../../model/tokenizer.ts";
import { heldoutLoss } from "../../training/trainer.ts";
import type { ModelRunner } from "../../model/runner.ts";
import type { KernelThreads } from "../../tensor/threads.ts";
import { CliError, type Flags } from "../args.ts";
import { BACKEND_FLAG, openRunner, threadedParams, THREADS_FLAG } from "../backend.ts";
import type { Command, Io } from "../command.ts";
import { datasetFor } from "./train.ts";

/** `--block-size`, or the method's own default: 16 for Jacobi, the paper's 64 for multi-block. */
function blockSize(method: string, flags: Flags): number {
  return (flags["block-size"] as number | undefined) ?? (method === "jacobi" ? 16 : MULTIBLOCK_DEFAULTS.blockSize);
}

/** The decoder named by `--method`, configured by its flags, on the backend of `runner`. */
function decoderFor(method: string, config: ModelConfig, params: Params, flags: Flags, runner: ModelRunner): Decode {
  if (method === "ar") {
    return (prompt, maxNewTokens) => {
      const g = arGreedy(config, params, prompt, { maxNewTokens, runner });
      return { tokens: g.tokens, forwards: g.stats.forwards };
    };
  }
  if (method === "jacobi") {
    return (prompt, maxNewTokens) => {
      const g = jacobi(config, params, prompt, { maxNewTokens, blockSize: blockSize(method, flags), runner });
      return { tokens: g.tokens, forwards: g.stats.forwards };
    };
  }
  if (method === "mr") {
    return (prompt, maxNewTokens) => {
      const g = multiBlock(config, params, [...prompt], {
        maxNewTokens,
        blockSize: blockSize(method, flags),
        maxBlocks: flags.blocks as number,
        spawnRatio: flags["spawn-ratio"] as number,
        poolSize: flags.pool as number,
        poolKind: flags["pool-kind"] as PoolKind,
        runner,
      });
      return { tokens: g.tokens, forwards: g.stats.forwards };
    };
  }
  throw new CliError(`eval: unknown method "${method}"; expected ar, jacobi or mr`);
}

/**
 * The `eval` command, e.g.
 * `jacobi-forcing eval --model models/math-teacher --data math --method jacobi --json`.
 *
 * @category CLI
 */
export const evalCommand: Command = {
  summary: "evaluate a trained model on held-out math problems or code",
  flags: {
    model: { type: "string", help: "checkpoint folder made by train" },
    data: { type: "string", choices: ["math", "code"], help: "the dataset the model was trained on" },
    method: { type: "string", choices: ["ar", "jacobi", "mr"], default: "ar", help: "decoding method" },
    "block-size": { type: "int", optional: true, help: `jacobi, mr: tokens per block n (default 16 for jacobi, ${MULTIBLOCK_DEFAULTS.blockSize} for mr)` },
    blocks: { type: "int", default: MULTIBLOCK_DEFAULTS.maxBlocks, help: "mr: most blocks in flight K" },
    "spawn-ratio": { type: "number", default: MULTIBLOCK_DEFAULTS.spawnRatio, help: "mr: spawn ratio r" },
    pool: { type: "int", default: MULTIBLOCK_DEFAULTS.poolSize, help: "mr: candidate pool size (0: no recycling)" },
    "pool-kind": { type: "string", choices: POOL_KINDS, default: "recycling", help: "mr: rejection recycling, or Lookahead's n-gram pool" },
    json: { type: "boolean", help: "print one JSON object" },
    examples: {
      type: "int", optional: true, positive: true, max: 100_000, maxIs: "math draws distinct problems from 151,325 held-out ones",
      help: "math problems (default 500) / most held-out code windows (default all)",
    },
    backend: BACKEND_FLAG,
    threads: THREADS_FLAG,
  },
  run: (flags, io) => runEval(flags, io),
};

/**
 * A checkpoint made by `train`: its tokenizer is always there.
 *
 * @category CLI
 */
export interface TrainedModel extends Checkpoint {
  /** The character vocabulary the model was trained with. */
  readonly tokenizer: CharTokenizer;
}

/**
 * Loads the checkpoint in `dir` and checks that its tokenizer is `dataset`'s, character for character:
 * a model decodes a dataset's ids only if both mean the same characters by them.
 *
 * @param command - the command's name, for error messages
 * @throws CliError when the folder has no tokenizer or another vocabulary
 * @example
 * ```ts
 * loadModelFor("eval", "models/math-teacher", mathDataset()).tokenizer.vocabSize; // 20
 * ```
 * @category CLI
 */
export function loadModelFor(command: string, dir: string, dataset: Dataset): TrainedModel {
  const { config, params, tokenizer } = loadCheckpoint(dir);
  if (tokenizer === null) throw new CliError(`${command}: ${dir} has no tokenizer.json; it was not made by train`);
  if (JSON.stringify(tokenizer.chars) !== JSON.stringify(dataset.tokenizer.chars)) {
    throw new CliError(`${command}: the model's vocabulary (${tokenizer.vocabSize} ids) is not the ${dataset.name} dataset's (${dataset.tokenizer.vocabSize} ids); was it trained on ${dataset.name}?`);
  }
  return { config, params, tokenizer };
}

async function runEval(args: Flags, io: Io): Promise<void> {
  const dataset = datasetFor(args.data as string);
  const loaded = loadModelFor("eval", args.model as string, dataset);
  const { config, tokenizer } = loaded;
  const threaded = await threadedParams("eval", args, config, loaded.params);
  const params = threaded.params;
  try {
    const runner = await openRunner("eval", args, config, params, threaded.threads);
    try {
      evaluate(args, io, dataset, { config, params, tokenizer }, decoderFor(args.method as string, config, params, args, runner), threaded.threads);
    } finally {
      runner.close();
    }
  } finally {
    threaded.close();
  }
}

/** The evaluation itself, with the decoder on the chosen backend (and the held-out loss on the kernel threads, if any). */
function evaluate(args: Flags, io: Io, dataset: Dataset, { config, params, tokenizer }: TrainedModel, decode: Decode, threads?: KernelThreads): void {
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
      for (const f of result.failures) io.out(`wrong: ${f.question} expected ${f.expected}, got ${JSON.stringify(f.got)}\n`);
    }
  } else {
    const windows = dataset.heldoutSequences(config.maxPositions, (args.examples as number | undefined) ?? Number.MAX_SAFE_INTEGER);
    bitsPerChar = heldoutLoss(config, params, windows, threads) / Math.LN2;
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
      for (const c of continuations) io.out(`--- prefix:\n${c.prefix}\n--- greedy continuation:\n${c.continuation}\n`);
    }
  }
  const tokensPerForward = totals.tokens / Math.max(totals.forwards, 1);
  const report = {
    accuracy, bitsPerChar, unigramBitsPerChar,
    tokensPerForward,
    iterationsPerToken: tokensPerForward === 0 ? null : 1 / tokensPerForward,
    tokensPerSecond: totals.tokens / totals.seconds,
    examples,
  };
  if (json) io.out(JSON.stringify(report) + "\n");
  else {
    for (const [k, v] of Object.entries(report)) if (v !== null) io.out(`${k}: ${Number.isInteger(v) ? v : v.toFixed(4)}\n`);
  }
}
