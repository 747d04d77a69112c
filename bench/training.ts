/**
 * Benchmark of training throughput: trained tokens per second of full training steps (forward,
 * cross-entropy, backward, clipping, AdamW) on a preset, on windows of the code corpus.
 *
 * Run alone: `npx tsx bench/training.ts [preset] [seconds]`. `npm run bench` calls
 * {@link benchTraining}.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { codeDataset } from "../src/data/text.ts";
import { PRESETS, type PresetName } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { Rng } from "../src/tensor/random.ts";
import { adamwInit } from "../src/training/optimizer.ts";
import { DEFAULT_TRAINING, trainStep, trainableParams } from "../src/training/trainer.ts";

/** One benchmark result. @category Benchmarks */
export interface TrainingBenchResult {
  /** The preset measured. */
  readonly preset: PresetName;
  /** Rows per sequence. */
  readonly contextLength: number;
  /** Steps timed (after one warm-up step). */
  readonly steps: number;
  /** Trained tokens per second. */
  readonly tokensPerSecond: number;
}

/**
 * Times training steps of one sequence of `contextLength` rows until `seconds` have passed (at least
 * 2 steps), after one untimed warm-up step.
 *
 * @example
 * ```ts
 * benchTraining("small", 10).tokensPerSecond; // trained tokens per second over 10 seconds (docs/training.md has a run's)
 * ```
 * @category Benchmarks
 */
export function benchTraining(preset: PresetName = "small", seconds = 10, contextLength = 128): TrainingBenchResult {
  const data = codeDataset();
  const config = { ...PRESETS[preset], vocabSize: data.tokenizer.vocabSize };
  const params = initParams(config, { seed: 1 });
  const trainable = trainableParams(config, params);
  const optimizer = adamwInit(trainable.tensors);
  const rng = new Rng(1);
  const step = (): number => trainStep(config, params, trainable, optimizer, [data.trainSequence(rng, contextLength)], 1e-3, DEFAULT_TRAINING).tokens;
  step();
  let tokens = 0, steps = 0;
  const start = performance.now();
  while (steps < 2 || performance.now() - start < seconds * 1000) {
    tokens += step();
    steps++;
  }
  return { preset, contextLength, steps, tokensPerSecond: tokens / ((performance.now() - start) / 1000) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const preset = (process.argv[2] ?? "small") as PresetName;
  if (!(preset in PRESETS)) throw new Error(`bench/training: unknown preset "${preset}"; expected one of ${Object.keys(PRESETS).join(", ")}`);
  console.log(JSON.stringify(benchTraining(preset, Number(process.argv[3] ?? 10))));
}
