/**
 * `jacobi-forcing train`: AR pretraining of a model on `math`, `code` or a UTF-8 file.
 *
 * ```
 * jacobi-forcing train --data math|code|FILE --preset small --steps N --out DIR [--resume | --overwrite]
 *                      [--seed S] [--batch B] [--context T] [--lr LR] [--eval-every N] [--checkpoint-every N]
 *                      [--init-from MODEL_DIR]
 * ```
 * The run claims DIR first (`../run-folder.ts`): one run per folder, and a folder holding a run is
 * continued (`--resume`, with the same flags: bit for bit) or replaced (`--overwrite`), never silently
 * overwritten. Ctrl-C or SIGTERM saves a checkpoint and exits with 130 or 143.
 * On math, every evaluation also decodes 100 held-out problems with AR greedy and reports accuracy.
 *
 * Read next: `src/training/trainer.ts`.
 *
 * @module
 */
import { statSync } from "node:fs";
import { codeDataset, fileDataset } from "../../data/text.ts";
import { mathDataset, type Dataset } from "../../data/dataset.ts";
import { mathEvalSet } from "../../data/math.ts";
import { arGreedy } from "../../decoding/greedy.ts";
import { PRESETS, validateConfig, type PresetName } from "../../model/config.ts";
import { mathAccuracy } from "../../evaluation/tasks.ts";
import { DEFAULT_TRAINING, train, type TrainOptions } from "../../training/trainer.ts";
import type { Params } from "../../model/params.ts";
import { CliError, type Command } from "../args.ts";
import { evaluationDecoder } from "../methods.ts";
import { checkDistinctFolders, RUN_FOLDER_FLAGS, runInFolder, scheduleOptions } from "../run-folder.ts";

/**
 * The dataset named on the command line: `math`, `code`, or the path of a UTF-8 text file.
 *
 * @throws CliError when the path is a folder or does not exist
 * @example
 * ```ts
 * datasetFor("math").name; // "math"; datasetFor("notes.txt") reads that file
 * datasetFor("/tmp");      // throws: /tmp is a folder, not a text file (expected math, code or ...)
 * ```
 * @category CLI
 */
export function datasetFor(name: string): Dataset {
  if (name === "math") return mathDataset();
  if (name === "code") return codeDataset();
  const stat = statSync(name, { throwIfNoEntry: false });
  if (stat === undefined) throw new CliError(`${name}: no such file (expected math, code or the path of a UTF-8 text file)`);
  if (stat.isDirectory()) throw new CliError(`${name} is a folder, not a text file (expected math, code or the path of a UTF-8 text file)`);
  return fileDataset(name);
}

/**
 * The `train` command, e.g. `jacobi-forcing train --data math --preset tiny --steps 200 --out runs/demo`.
 *
 * @category CLI
 */
export const trainCommand: Command = {
  summary: "train a model (AR pretraining) on math, code or a UTF-8 file; resumable",
  flags: {
    data: { type: "string", help: "math, code, or the path of a UTF-8 text file" },
    preset: { type: "string", choices: Object.keys(PRESETS), default: "small", help: "model size" },
    steps: { type: "int", positive: true, help: "total optimizer steps" },
    out: { type: "string", help: "output folder (model, resume checkpoint, loss.csv, loss.svg); one run at a time" },
    ...RUN_FOLDER_FLAGS,
    seed: { type: "int", default: 1, help: "seed of the weights and the data stream" },
    batch: { type: "int", default: DEFAULT_TRAINING.batchSize, positive: true, help: "sequences per step (gradient accumulation)" },
    context: { type: "int", optional: true, positive: true, help: "rows per packed sequence (default: the preset's context length)" },
    lr: { type: "number", default: DEFAULT_TRAINING.maxLr, positive: true, help: "peak learning rate (cosine down to lr/10)" },
    "eval-every": { type: "int", default: DEFAULT_TRAINING.evalEvery, positive: true, help: "steps between held-out evaluations" },
    "checkpoint-every": { type: "int", default: DEFAULT_TRAINING.checkpointEvery, positive: true, help: "steps between checkpoints" },
    "init-from": { type: "string", optional: true, help: "start from the weights of this model folder (same preset and data)" },
  },
  async run(flags, io) {
    if (flags["init-from"] !== undefined) checkDistinctFolders("train", flags, "init-from");
    const dataset = datasetFor(flags.data as string);
    // the preset's sizes with the dataset's vocabulary (`--preset` accepts only preset names)
    const config = validateConfig({ ...PRESETS[flags.preset as PresetName], vocabSize: dataset.tokenizer.vocabSize }, "train");
    const options: TrainOptions = {
      ...DEFAULT_TRAINING,
      config,
      ...scheduleOptions(flags, DEFAULT_TRAINING),
      contextLength: (flags.context as number | undefined) ?? config.maxPositions,
      initFrom: (flags["init-from"] as string | undefined) ?? null,
    };
    const problems = dataset.name === "math" ? mathEvalSet(100, 99) : [];
    const evaluate = dataset.name !== "math" ? undefined : (params: Params) => ({
      accuracy: mathAccuracy(dataset.tokenizer, problems, evaluationDecoder((prompt, stop) => arGreedy(config, params, prompt, stop))).accuracy,
    });
    return runInFolder("train", flags, io, (hooks) => {
      io.err(`train: ${dataset.description}\n`);
      io.err(`train: ${JSON.stringify({ ...options, adamw: undefined, config: undefined })}\n`);
      io.err(`train: model ${JSON.stringify(config)}\n`);
      return train(dataset, options, { ...hooks, evaluate });
    });
  },
};
