/**
 * The training checkpoint: everything a resumed run needs to continue bit for bit, in one file that
 * is replaced atomically, next to the inference model and the loss curve.
 *
 * An output folder holds:
 * - `model.safetensors` (F32), `config.json`, `tokenizer.json`, `tokenizer_config.json`: the model, loadable by `loadCheckpoint`;
 * - `loss.csv` (one row per step, plus held-out columns on evaluation steps) and `loss.svg`;
 * - `resume.safetensors` (F64): the weights, AdamW's moments (`adamw.m.<name>`, `adamw.v.<name>`) and, in
 *   the header metadata, a JSON `trainer` record: step, AdamW step, the data generator's state, the
 *   options and dataset it was made with, the loss history, and the SHA-256 of each file above.
 *
 * A step is committed by its resume checkpoint. Every file is replaced atomically (`writeFileAtomic`),
 * but a crash between two files leaves files of two steps, so a save writes the files above first and
 * the resume checkpoint last: it is the step's manifest, naming the step and the bytes of each of its
 * files. A crash before it is written leaves the previous step's checkpoint in place, beside files of a
 * step that never committed; a resume finds them by their hashes and rewrites them from the checkpoint
 * (all of them are functions of it), so the folder is again one step's. Weights and optimizer state
 * share one file and can never come from different steps.
 *
 * Read next: `plot.ts` (the SVG), `trainer.ts` (who calls this).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { saveCheckpoint } from "../node/checkpoint-folder.ts";
import { namedParams, paramSpecs, paramsFromNamed, type Params } from "../model/params.ts";
import { CheckpointError, decodeSafetensors, encodeSafetensors, type StoredTensor } from "../model/safetensors.ts";
import { Rng, type RngState } from "../tensor/random.ts";
import { Tensor } from "../tensor/tensor.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";
import type { AdamWState } from "./optimizer.ts";
import { lossCurveSvg } from "./plot.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Tokenizer } from "../model/tokenizer.ts";

// ---------------------------------------------------------------- the state

/**
 * What identifies a run, saved with it: a resume must be given the very same options. The AR trainer's
 * `TrainOptions` and the distiller's `DistillOptions` are both such options.
 *
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
 * @category Training
 */
export interface Corpus {
  /** `math`, `code`, a file path, or a trajectories file. */
  readonly name: string;
  /** The vocabulary saved with the model. */
  readonly tokenizer: Tokenizer;
}

/**
 * One training step in the history.
 *
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
 * @category Training
 */
export interface EvalRow extends Readonly<Record<string, number>> {
  /** The step after which the evaluation ran. */
  readonly step: number;
}

/**
 * A training run in memory.
 *
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

/** The resume checkpoint: the commit of a step, written last. */
const RESUME_FILE = "resume.safetensors";

/** The other files of a step, in the order a save writes them; the resume checkpoint records their hashes. */
const STEP_FILES = ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "loss.csv", "loss.svg"] as const;

/**
 * The files a training run writes into its folder: a folder holding any of them holds a run.
 *
 * @category Training
 */
export const RUN_FILES: readonly string[] = [...STEP_FILES, RESUME_FILE];

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
  /** SHA-256 (hex) of each of the step's other files, by name; absent in checkpoints of older versions. */
  readonly files?: Readonly<Record<string, string>>;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// ---------------------------------------------------------------- saving

/**
 * Writes one step into `dir`: the model (F32), `loss.csv` and `loss.svg`, then, last, the resume
 * checkpoint (F64) that commits them, with their SHA-256. Each file is replaced atomically.
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
  const tensors: StoredTensor[] = namedParams(config, state.params).flatMap(([name, { shape, data }], i) => [
    { name, shape, data },
    { name: `adamw.m.${name}`, shape, data: state.optimizer.m[i] },
    { name: `adamw.v.${name}`, shape, data: state.optimizer.v[i] },
  ]);
  writeFileAtomic(join(dir, "loss.csv"), lossCsv(state.history, state.evals));
  writeFileAtomic(join(dir, "loss.svg"), lossCurveSvg(state.history, state.evals, `${dataset.name}: ${options.objective ?? "AR"} training and held-out loss`));
  // the hashes of what is on disk now: the step's files as the commit below names them
  const files = Object.fromEntries(STEP_FILES.map((name) => [name, sha256(readFileSync(join(dir, name)))]));
  const record: TrainerRecord = {
    version: 1, step: state.step, adamwStep: state.optimizer.step, dataRng: state.dataRng.state(),
    dataset: dataset.name, options, history: state.history, evals: state.evals, files,
  };
  writeFileAtomic(join(dir, RESUME_FILE), encodeSafetensors(tensors, { dtype: "F64", metadata: { trainer: JSON.stringify(record) } }));
}

// ---------------------------------------------------------------- loading

/**
 * Reads `dir`'s resume checkpoint and checks that it was made with the same options and dataset. Files
 * of the folder that are not the ones the checkpoint committed (a save interrupted before its resume
 * checkpoint was written) are rewritten from it, and `log` is told which.
 *
 * @param log - receives one line when files were rewritten
 * @throws CheckpointError when the file is missing or corrupt; Error when the options differ
 * @example
 * ```ts
 * loadTrainState("runs/demo", options, dataset, console.error).step; // the step the run stopped at
 * ```
 * @category Training
 */
export function loadTrainState(dir: string, options: RunOptions, dataset: Corpus, log?: (line: string) => void): TrainState {
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
  const state: TrainState = {
    step: record.step, params, optimizer, dataRng: new Rng(0, record.dataRng),
    history: record.history, evals: record.evals,
  };
  const stale = Object.entries(record.files ?? {})
    .filter(([name, hash]) => !existsSync(join(dir, name)) || sha256(readFileSync(join(dir, name))) !== hash)
    .map(([name]) => name);
  if (stale.length > 0) {
    log?.(`${stale.join(", ")} in ${dir} ${stale.length === 1 ? "is" : "are"} not the step-${record.step} checkpoint's (a save was interrupted); rewritten from it`);
    saveTrainState(dir, state, options, dataset);
  }
  return state;
}

// ---------------------------------------------------------------- the folder

/**
 * The files of a training run ({@link RUN_FILES}) present in `dir`; none when `dir` does not exist.
 *
 * @example
 * ```ts
 * runFiles("runs/demo"); // ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "loss.csv", "loss.svg", "resume.safetensors"]
 * ```
 * @category Training
 */
export function runFiles(dir: string): string[] {
  return RUN_FILES.filter((name) => existsSync(join(dir, name)));
}

/**
 * Deletes the files of the training run in `dir` (what `--overwrite` replaces); other files stay.
 *
 * @returns the names deleted
 * @example
 * ```ts
 * removeRun("runs/demo"); // ["model.safetensors", ..., "resume.safetensors"]; runFiles("runs/demo") is now []
 * ```
 * @category Training
 */
export function removeRun(dir: string): string[] {
  const present = runFiles(dir);
  // the commit first: a crash halfway leaves files without a checkpoint, never a checkpoint without files
  for (const name of [...present].reverse()) unlinkSync(join(dir, name));
  return present;
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
