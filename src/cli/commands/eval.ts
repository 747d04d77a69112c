/**
 * `jacobi-forcing eval`: held-out evaluation of a trained model.
 *
 * ```
 * jacobi-forcing eval --model DIR --data math|code [--method ar|jacobi|mr] [--json] [--examples N]
 * ```
 * `--method jacobi` decodes with greedy block Jacobi decoding (`--block-size`, default 16) and `--method mr`
 * with multi-block decoding and rejection recycling (`--block-size`, `--blocks`,
 * `--spawn-ratio`, `--pool`, `--pool-kind`; the paper's defaults, n = 64). Both give the same tokens as AR,
 * so the same accuracy, and their own tokens per forward.
 * - math: exact-match accuracy of the final answer on N (default 500) held-out problems, decoded greedily;
 *   the wrong answers are listed (the first five, and how many more).
 * - code: bits per character on every held-out window (the model's context length, stride = context),
 *   next to the unigram baseline on the same characters; and the greedy continuation, EOS ignored, of
 *   held-out prefixes — 96 tokens after the first 64 of 20 windows, the measurement of docs/results.md
 *   (`CODE_SPEED`), so that both report the same TPF.
 * Both report decoding speed: tokens per decode forward and tokens per second. Progress goes to stderr:
 * a line every tenth of the problems or prefixes, or one line redrawn on a terminal.
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
import { MULTIBLOCK_DEFAULTS } from "../../decoding/types.ts";
import { CODE_SPEED, codeSpeed, codeSpeedPrompts, mathAccuracy, type Decode, type MathResult, type OnProgress } from "../../evaluation/tasks.ts";
import type { Checkpoint } from "../../model/checkpoint.ts";
import { loadCheckpoint } from "../../node/checkpoint-folder.ts";
import type { Tokenizer } from "../../model/tokenizer.ts";
import { heldoutLoss } from "../../training/trainer.ts";
import type { KernelThreads } from "../../tensor/threads.ts";
import { CliError, type Command, type Flags, type Io } from "../args.ts";
import { RUNNER_FLAGS, withRunner } from "../backend.ts";
import { evaluationDecoder, METHOD_FLAG, METHODS, MULTIBLOCK_FLAGS } from "../methods.ts";
import { datasetFor } from "./train.ts";

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
    method: METHOD_FLAG,
    "block-size": { type: "int", optional: true, help: `jacobi, mr: tokens per block n (default 16 for jacobi, ${MULTIBLOCK_DEFAULTS.blockSize} for mr)` },
    ...MULTIBLOCK_FLAGS,
    json: { type: "boolean", help: "print one JSON object" },
    examples: {
      type: "int", optional: true, positive: true, max: 100_000, maxIs: "math draws distinct problems from 151,325 held-out ones",
      help: "math problems (default 500) / most held-out code windows (default all)",
    },
    ...RUNNER_FLAGS,
  },
  async run(flags, io) {
    const dataset = datasetFor(flags.data as string);
    const model = loadModelFor("eval", flags.model as string, dataset);
    await withRunner("eval", flags, model.config, model.params, (runner, params, threads) => {
      // the method of --method, greedy (eval declares no sampling flags), on the runner's backend
      const decode = evaluationDecoder((prompt, stop) => METHODS[flags.method as string](model.config, params, prompt, { ...stop, runner }, flags));
      evaluate(flags, io, dataset, { ...model, params }, decode, threads);
    });
  },
};

/**
 * A checkpoint made by `train`: its tokenizer is always there.
 *
 * @category CLI
 */
export type TrainedModel = Checkpoint & {
  /** The character vocabulary the model was trained with. */
  readonly tokenizer: Tokenizer;
};

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
  if (JSON.stringify(tokenizer.files()) !== JSON.stringify(dataset.tokenizer.files())) {
    throw new CliError(`${command}: the model's vocabulary (${tokenizer.vocabSize} ids) is not the ${dataset.name} dataset's (${dataset.tokenizer.vocabSize} ids); was it trained on ${dataset.name}?`);
  }
  return { config, params, tokenizer };
}

/**
 * Progress of `eval` on stderr, so that it is never silent for long: on a terminal one line redrawn in
 * place, at most four times a second; otherwise a line at every tenth of `total` (and at the last).
 */
function progress(io: Io, what: string): OnProgress {
  let drawn = -Infinity;
  return (done, total) => {
    const line = `eval: ${done}/${total} ${what}`;
    if (io.isTTY) {
      if (done < total && performance.now() - drawn < 250) return;
      drawn = performance.now();
      io.err(`\r${line}\x1b[K${done === total ? "\n" : ""}`);
    } else if (done % Math.max(1, Math.ceil(total / 10)) === 0 || done === total) {
      io.err(`${line}\n`);
    }
  };
}

/** The wrong answers shown, and how many more there were. */
function wrongAnswers(io: Io, result: MathResult): void {
  for (const f of result.failures) io.out(`wrong: ${f.question} expected ${f.expected}, got ${JSON.stringify(f.got)}\n`);
  const more = result.wrong - result.failures.length;
  if (more > 0) io.out(`... and ${more} more wrong answer${more === 1 ? "" : "s"}\n`);
}

/** The evaluation itself, with the decoder on the chosen backend (and the held-out loss on the kernel threads, if any). */
function evaluate(args: Flags, io: Io, dataset: Dataset, { config, params, tokenizer }: TrainedModel, decode: Decode, threads?: KernelThreads): void {
  const json = args.json === true;
  // the scores: accuracy for math, bits per character for code, null for the other
  const scores = { accuracy: null as number | null, bitsPerChar: null as number | null, unigramBitsPerChar: null as number | null };
  let examples: number;
  let totals: { tokens: number; forwards: number; seconds: number };

  if (dataset.name === "math") {
    const result = mathAccuracy(tokenizer, mathEvalSet((args.examples as number | undefined) ?? 500, 1234), decode, progress(io, "problems"));
    scores.accuracy = result.accuracy;
    examples = result.examples;
    totals = result;
    if (!json) wrongAnswers(io, result);
  } else {
    const all = dataset.heldoutSequences(config.maxPositions, Number.MAX_SAFE_INTEGER);
    const windows = args.examples === undefined ? all : all.slice(0, args.examples as number);
    io.err(`eval: bits per character on ${windows.length} held-out windows of ${config.maxPositions} characters ...\n`);
    scores.bitsPerChar = heldoutLoss(config, params, windows, threads) / Math.LN2;
    const unigram = dataset.unigram;
    const targets = windows.flatMap((w) => w.targets.filter((t) => t !== IGNORE));
    if (unigram) scores.unigramBitsPerChar = -targets.reduce((bits, t) => bits + Math.log2(unigram[t]), 0) / targets.length;
    examples = windows.length;
    // Speed as docs/results.md measures it: 96 tokens, EOS ignored, after the first 64 of 20 windows spread over all of them.
    const prompts = codeSpeedPrompts(all);
    const result = codeSpeed(prompts, decode, progress(io, `prefixes continued for ${CODE_SPEED.newTokens} tokens`));
    totals = result;
    if (!json) {
      const shown = 5;
      for (let i = 0; i < Math.min(shown, prompts.length); i++) {
        io.out(`--- prefix:\n${tokenizer.decode(prompts[i])}\n--- greedy continuation:\n${tokenizer.decode(result.outputs[i])}\n`);
      }
      if (prompts.length > shown) io.out(`... and ${prompts.length - shown} more continuations, counted in the speed below\n`);
    }
  }
  const tokensPerForward = totals.tokens / Math.max(totals.forwards, 1);
  const report = {
    ...scores,
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
