/**
 * The training checkpoint: everything a resumed run needs to continue bit for bit, in one file that
 * is replaced atomically, next to the inference model and the loss curve.
 *
 * An output folder holds:
 * - `model.safetensors` (F32), `config.json`, `tokenizer.json`: the model, loadable by `loadCheckpoint`;
 * - `resume.safetensors` (F64): the weights, AdamW's moments (`adamw.m.<name>`, `adamw.v.<name>`) and, in
 *   the header metadata, a JSON `trainer` record: step, AdamW step, the data generator's state, the
 *   options and dataset it was made with, the loss history. One file written by `writeFileAtomic`, so a
 *   crash or Ctrl-C can never leave weights and optimizer state from different steps;
 * - `loss.csv` (one row per step, plus held-out columns on evaluation steps) and `loss.svg`.
 *
 * Read next: `plot.ts` (the SVG), `trainer.ts` (who calls this).
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { saveCheckpoint } from "../model/checkpoint.ts";
import { namedParams, paramSpecs, paramsFromNamed, type Params } from "../model/params.ts";
import { CheckpointError, decodeSafetensors, encodeSafetensors, type StoredTensor } from "../model/safetensors.ts";
import { Rng, type RngState } from "../tensor/random.ts";
import { Tensor } from "../tensor/tensor.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";
import type { AdamWState } from "./optimizer.ts";
import { lossCurveSvg } from "./plot.ts";
import type { ModelConfig } from "../model/config.ts";
import type { CharTokenizer } from "../model/tokenizer.ts";

// ---------------------------------------------------------------- the state

/**
 * What identifies a run, saved with it: a resume must be given the very same options. The AR trainer's
 * `TrainOptions` and the distiller's `DistillOptions` are both such options.
 *
 * @example
 * ```ts
 * const run: RunOptions = { config: PRESETS["math-teacher"], seed: 1 };   // a resume must match these
 * ```
 * @category Training
 */
export interface RunOptions {
  /** The model blueprint. */
  readonly config: ModelConfig;
  /** Seed of the run. */
  readonly seed: number;
  /** What is trained, for titles: absent for AR pretraining, e.g. "Jacobi Forcing". */
  readonly objective?: string;
}

/**
 * The data a run trains on, as the checkpoint records it.
 *
 * @example
 * ```ts
 * const corpus: Corpus = mathDataset();   // a Dataset is a Corpus: its name and tokenizer are what a checkpoint records
 * ```
 * @category Training
 */
export interface Corpus {
  /** `math`, `code`, a file path, or a trajectories file. */
  readonly name: string;
  /** The vocabulary saved with the model. */
  readonly tokenizer: CharTokenizer;
}

/**
 * One training step in the history.
 *
 * @example
 * ```ts
 * const row: HistoryRow = { step: 1300, lr: 3e-4, loss: 0.0021, gradNorm: 0.04 };   // one line of loss.csv
 * ```
 * @category Training
 */
export interface HistoryRow {
  /** Steps done after this one (1-based). */
  readonly step: number;
  /** Its learning rate. */
  readonly lr: number;
  /** Mean training cross-entropy of its minibatch, nats. */
  readonly loss: number;
  /** Gradient norm before clipping. */
  readonly gradNorm: number;
  /** Named parts of the loss (Jacobi Forcing: `ar` and `consistency`), written as extra CSV columns. */
  readonly parts?: Readonly<Record<string, number>>;
}

/**
 * One evaluation: the step and its metrics (`heldoutLoss` and any extra).
 *
 * @example
 * ```ts
 * const row: EvalRow = { step: 1300, heldoutLoss: 0.0014, accuracy: 0.96 };   // step, then any named metrics
 * ```
 * @category Training
 */
export interface EvalRow extends Readonly<Record<string, number>> {
  /** The step after which the evaluation ran. */
  readonly step: number;
}

/**
 * A training run in memory.
 *
 * @example
 * ```ts
 * const state = loadTrainState("runs/math-teacher", options, mathDataset());
 * state.step; // where the run stopped; state.params and state.optimizer continue bit for bit
 * ```
 * @category Training
 */
export interface TrainState {
  /** Steps done. */
  step: number;
  /** The weights (float64). */
  readonly params: Params;
  /** AdamW's moments and step. */
  readonly optimizer: AdamWState;
  /** The data stream's generator. */
  readonly dataRng: Rng;
  /** One row per step done. */
  readonly history: HistoryRow[];
  /** One row per evaluation. */
  readonly evals: EvalRow[];
}

const RESUME_FILE = "resume.safetensors";

/** The saved JSON record, checked on load. */
interface TrainerRecord {
  readonly version: 1;
  readonly step: number;
  readonly adamwStep: number;
  readonly dataRng: RngState;
  readonly dataset: string;
  readonly options: RunOptions;
  readonly history: HistoryRow[];
  readonly evals: EvalRow[];
}

// ---------------------------------------------------------------- saving

/**
 * Writes the model (F32), the resume checkpoint (F64, atomic), `loss.csv` and `loss.svg` into `dir`.
 *
 * @example
 * ```ts
 * saveTrainState("runs/demo", state, options, dataset); // model.safetensors, resume.safetensors, loss.csv, loss.svg
 * ```
 * @category Training
 */
export function saveTrainState(dir: string, state: TrainState, options: RunOptions, dataset: Corpus): void {
  const { config } = options;
  saveCheckpoint(dir, { config, params: state.params, tokenizer: dataset.tokenizer }, {
    dtype: "F32", metadata: { step: String(state.step), dataset: dataset.name, seed: String(options.seed) },
  });
  const specs = paramSpecs(config);
  const named = new Map(specs.map((s) => [s.name, s]));
  const weights = namedParams(config, state.params);
  const tensors: StoredTensor[] = [];
  weights.forEach(([name, t], i) => {
    const shape = named.get(name)!.shape;
    tensors.push({ name, shape, data: t.data });
    tensors.push({ name: `adamw.m.${name}`, shape, data: state.optimizer.m[i] });
    tensors.push({ name: `adamw.v.${name}`, shape, data: state.optimizer.v[i] });
  });
  const record: TrainerRecord = {
    version: 1, step: state.step, adamwStep: state.optimizer.step, dataRng: state.dataRng.state(),
    dataset: dataset.name, options, history: state.history, evals: state.evals,
  };
  writeFileAtomic(join(dir, RESUME_FILE), encodeSafetensors(tensors, { dtype: "F64", metadata: { trainer: JSON.stringify(record) } }));
  writeFileAtomic(join(dir, "loss.csv"), lossCsv(state.history, state.evals));
  writeFileAtomic(join(dir, "loss.svg"), lossCurveSvg(state.history, state.evals, `${dataset.name}: ${options.objective ?? "AR"} training and held-out loss`));
}

// ---------------------------------------------------------------- loading

/**
 * Reads `dir`'s resume checkpoint and checks that it was made with the same options and dataset.
 *
 * @throws CheckpointError when the file is missing or corrupt; Error when the options differ
 * @example
 * ```ts
 * loadTrainState("runs/demo", options, dataset).step; // the step the run stopped at
 * ```
 * @category Training
 */
export function loadTrainState(dir: string, options: RunOptions, dataset: Corpus): TrainState {
  const file = join(dir, RESUME_FILE);
  if (!existsSync(file)) throw new CheckpointError(file, "does not exist: there is no run to resume in this folder");
  const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
  let record: TrainerRecord;
  try {
    record = JSON.parse(metadata.trainer ?? "") as TrainerRecord;
  } catch {
    throw new CheckpointError(file, "has no valid trainer record in its metadata");
  }
  if (record.version !== 1) throw new CheckpointError(file, `has trainer record version ${record.version}, expected 1`);
  if (record.dataset !== dataset.name) {
    throw new Error(`resume: ${file} was trained on ${record.dataset}, not ${dataset.name}`);
  }
  const saved = record.options as unknown as Record<string, unknown>;
  const given = options as unknown as Record<string, unknown>;
  const differ = [...new Set([...Object.keys(saved), ...Object.keys(given)])]
    .filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(given[k]))
    .map((k) => `${k} ${JSON.stringify(saved[k])} (saved) vs ${JSON.stringify(given[k])} (given)`);
  if (differ.length > 0) throw new Error(`resume: the options differ from the saved run's: ${differ.join("; ")}`);
  const get = (name: string): Float64Array => {
    const t = tensors.get(name);
    if (t === undefined) throw new CheckpointError(file, "is missing", name);
    return t.data;
  };
  const specs = paramSpecs(options.config);
  const byName = new Map(specs.map((s) => [s.name, new Tensor(Float64Array.from(get(s.name)), s.shape)]));
  const params = paramsFromNamed(options.config, (name) => byName.get(name)!);
  const optimizer: AdamWState = {
    step: record.adamwStep,
    m: specs.map((s) => Float64Array.from(get(`adamw.m.${s.name}`))),
    v: specs.map((s) => Float64Array.from(get(`adamw.v.${s.name}`))),
  };
  return {
    step: record.step, params, optimizer, dataRng: new Rng(0, record.dataRng),
    history: record.history, evals: record.evals,
  };
}

// ---------------------------------------------------------------- the loss table

/**
 * The loss curve as CSV: `step,lr,loss,grad_norm` and one column per evaluation metric, filled on the
 * steps where an evaluation ran.
 *
 * @example
 * ```ts
 * lossCsv([{ step: 1, lr: 0.001, loss: 2.5, gradNorm: 0.8 }], [{ step: 1, heldoutLoss: 2.6 }]);
 * // "step,lr,loss,grad_norm,heldoutLoss\n1,0.001,2.5,0.8,2.6\n"
 * ```
 * @category Training
 */
export function lossCsv(history: readonly HistoryRow[], evals: readonly EvalRow[]): string {
  const metrics = [...new Set(evals.flatMap((e) => Object.keys(e).filter((k) => k !== "step")))];
  const parts = [...new Set(history.flatMap((h) => Object.keys(h.parts ?? {})))];
  const byStep = new Map(evals.map((e) => [e.step, e]));
  const lines = [["step", "lr", "loss", "grad_norm", ...parts.map((p) => `${p}_loss`), ...metrics].join(",")];
  for (const h of history) {
    const e = byStep.get(h.step);
    lines.push([h.step, h.lr, h.loss, h.gradNorm, ...parts.map((p) => h.parts?.[p] ?? ""), ...metrics.map((m) => (e && m in e ? e[m] : ""))].join(","));
  }
  return lines.join("\n") + "\n";
}
