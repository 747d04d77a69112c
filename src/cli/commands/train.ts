/**
 * `jacobi-forcing train`: AR pretraining of a model on `math`, `code` or a UTF-8 file.
 *
 * ```
 * jacobi-forcing train --data math|code|FILE --preset small --steps N --out DIR [--resume] [--seed S]
 *                      [--batch B] [--context T] [--lr LR] [--eval-every N] [--checkpoint-every N]
 * ```
 * Ctrl-C saves a checkpoint and exits; `--resume` (with the same options) continues bit for bit.
 * On math, every evaluation also decodes 100 held-out problems with AR greedy and reports accuracy.
 *
 * Read next: `src/training/trainer.ts`.
 *
 * @module
 */
import { codeDataset, fileDataset } from "../../data/text.ts";
import { mathDataset, type Dataset } from "../../data/dataset.ts";
import { mathEvalSet } from "../../data/math.ts";
import { arGreedy } from "../../decoding/greedy.ts";
import { PRESETS, validateConfig, type ModelConfig, type PresetName } from "../../model/config.ts";
import { mathAccuracy } from "../../evaluation/tasks.ts";
import { progressReporter } from "../../training/progress.ts";
import { DEFAULT_TRAINING, train, type TrainOptions } from "../../training/trainer.ts";
import { UsageError, parseArgs } from "../args.ts";

/** The dataset named on the command line. @category CLI */
export function datasetFor(name: string): Dataset {
  if (name === "math") return mathDataset();
  if (name === "code") return codeDataset();
  return fileDataset(name);
}

/** The preset named on the command line, with the dataset's vocabulary size. @category CLI */
export function configFor(preset: string, dataset: Dataset): ModelConfig {
  if (!(preset in PRESETS)) throw new UsageError(`train: unknown preset "${preset}"; expected one of ${Object.keys(PRESETS).join(", ")}`);
  return validateConfig({ ...PRESETS[preset as PresetName], vocabSize: dataset.tokenizer.vocabSize }, "train");
}

/**
 * Runs the `train` command.
 *
 * @param argv - the arguments after `train`
 * @category CLI
 */
export async function trainCommand(argv: readonly string[]): Promise<void> {
  const args = parseArgs("train", argv, {
    data: { type: "string", required: true },
    preset: { type: "string", default: "small" },
    steps: { type: "integer", required: true },
    out: { type: "string", required: true },
    resume: { type: "boolean" },
    seed: { type: "integer", default: 1 },
    batch: { type: "integer", default: DEFAULT_TRAINING.batchSize },
    context: { type: "integer" },
    lr: { type: "number", default: DEFAULT_TRAINING.maxLr },
    "eval-every": { type: "integer", default: DEFAULT_TRAINING.evalEvery },
    "checkpoint-every": { type: "integer", default: DEFAULT_TRAINING.checkpointEvery },
  });
  const dataset = datasetFor(args.data as string);
  const config = configFor(args.preset as string, dataset);
  const steps = args.steps as number;
  const options: TrainOptions = {
    ...DEFAULT_TRAINING,
    config,
    seed: args.seed as number,
    steps,
    contextLength: (args.context as number | undefined) ?? config.maxPositions,
    batchSize: args.batch as number,
    maxLr: args.lr as number,
    minLr: (args.lr as number) / 10,
    warmupSteps: Math.min(DEFAULT_TRAINING.warmupSteps, Math.ceil(steps / 10)),
    evalEvery: args["eval-every"] as number,
    checkpointEvery: args["checkpoint-every"] as number,
  };
  const problems = dataset.name === "math" ? mathEvalSet(100, 99) : [];
  const evaluate = dataset.name === "math"
    ? (params: Parameters<typeof arGreedy>[1]) => {
      const r = mathAccuracy(dataset.tokenizer, problems, (prompt, maxNewTokens) => {
        const g = arGreedy(config, params, prompt, { maxNewTokens });
        return { tokens: g.tokens, forwards: g.stats.forwards };
      });
      return { accuracy: r.accuracy };
    }
    : undefined;

  let stopRequested = false;
  const onSigint = (): void => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write("\ninterrupt: saving a checkpoint, then exiting (Ctrl-C again to abort)\n");
  };
  process.on("SIGINT", onSigint);
  process.stderr.write(`train: ${dataset.description}\n`);
  process.stderr.write(`train: ${JSON.stringify({ ...options, adamw: undefined, config: undefined })}\n`);
  process.stderr.write(`train: model ${JSON.stringify(config)}\n`);
  const started = performance.now();
  try {
    const result = await train(dataset, options, {
      outDir: args.out as string,
      resume: args.resume === true,
      onProgress: progressReporter(process.stderr, process.stderr.isTTY === true, 10),
      evaluate,
      shouldStop: () => stopRequested,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(result.finished
      ? `train: done, ${result.history.length} steps; this session took ${seconds} s; model in ${args.out}\n`
      : `train: stopped at step ${result.history.length} after ${seconds} s; continue with --resume\n`);
  } finally {
    process.off("SIGINT", onSigint);
  }
}
