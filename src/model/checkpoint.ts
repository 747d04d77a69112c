/**
 * Checkpoints: a folder that Hugging Face tools can read.
 *
 * ```text
 * DIR/config.json                   Hugging Face fields (config.ts: which classes, which are refused)
 * DIR/generation_config.json        optional; its eos_token_id is where generation stops
 * DIR/model.safetensors             Hugging Face tensor names and [out, in] layouts; we write F32 (F64
 *                                   on request) and read F32, F16, BF16, F64
 *   or model.safetensors.index.json and the shards it names
 * DIR/tokenizer.json                optional: Hugging Face's format (ours is the character tokenizer,
 *                                   tokenizer.ts), or our old "type": "char" format; with
 *                                   tokenizer_config.json and chat_template.jinja
 * ```
 *
 * Loading trusts nothing, as safetensors promises: the config is validated, every tensor the config
 * implies must be present once with its exact shape, nothing else may be in the files, and an index may
 * name only files of the folder itself. Every problem is a `CheckpointError`
 * naming the file, the tensor and what is wrong. Saving writes each file to a temporary name and then
 * renames it, so an interrupted save never leaves a half-written file under a real name.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { Tensor } from "../tensor/tensor.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";
import { ConfigError, fromHfConfig, toHfConfig, type ModelConfig } from "./config.ts";
import { namedParams, paramSpecs, paramsFromNamed, type Params } from "./params.ts";
import { CheckpointError, decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import { readTokenizer } from "./hf-tokenizer.ts";
import { TokenizerError, type Tokenizer } from "./tokenizer.ts";

export { CheckpointError };

/**
 * A loaded (or to-be-saved) model: blueprint, weights and tokenizer.
 *
 * @category Checkpoints
 */
export interface Checkpoint {
  /** The blueprint. */
  readonly config: ModelConfig;
  /** The weights. */
  readonly params: Params;
  /** The tokenizer, or null when the folder has no `tokenizer.json`. */
  readonly tokenizer: Tokenizer | null;
}

/**
 * Options of {@link saveCheckpoint}.
 *
 * @category Checkpoints
 */
export interface SaveOptions {
  /** On-disk precision: F32 (default, what Hugging Face expects) or F64 (lossless for trained float64 weights). */
  readonly dtype?: "F32" | "F64";
  /** Extra string metadata stored in the safetensors header. */
  readonly metadata?: Record<string, string>;
}

// ---------------------------------------------------------------- saving

/**
 * Writes `config.json`, `model.safetensors` and (if any) the tokenizer's files into `dir`, each atomically.
 *
 * @example
 * ```ts
 * saveCheckpoint("out/tiny", { config: PRESETS.tiny, params: initParams(PRESETS.tiny, { seed: 0 }), tokenizer: CharTokenizer.ascii() });
 * ```
 * @category Checkpoints
 */
export function saveCheckpoint(dir: string, checkpoint: Checkpoint, options: SaveOptions = {}): void {
  const { config, params, tokenizer } = checkpoint;
  if (tokenizer !== null && tokenizer.vocabSize > config.vocabSize) {
    throw new CheckpointError(join(dir, "tokenizer.json"), `the tokenizer has ${tokenizer.vocabSize} ids, more than vocab_size ${config.vocabSize}`);
  }
  mkdirSync(dir, { recursive: true });
  const tensors = namedParams(config, params).map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
  const metadata = { format: "pt", ...options.metadata };
  writeFileAtomic(join(dir, "model.safetensors"), encodeSafetensors(tensors, { dtype: options.dtype ?? "F32", metadata }));
  writeFileAtomic(join(dir, "config.json"), JSON.stringify(toHfConfig(config), null, 2) + "\n");
  for (const [name, content] of Object.entries(tokenizer?.files() ?? {})) {
    writeFileAtomic(join(dir, name), typeof content === "string" ? content : JSON.stringify(content, null, 2) + "\n");
  }
}

// ---------------------------------------------------------------- loading

/** The index of a sharded checkpoint. */
const INDEX = "model.safetensors.index.json";

/**
 * The weight files of a folder, each with the tensor names the index puts in it: the shards that
 * `model.safetensors.index.json` lists, in name order, or `model.safetensors` alone (names null: anything),
 * which wins when both are there, as in transformers.
 * A shard must be a file of the folder itself: an index naming a path elsewhere is refused.
 */
function weightFiles(dir: string): Map<string, Set<string> | null> {
  const indexFile = join(dir, INDEX);
  // transformers reads model.safetensors when it is there, whatever index lies beside it
  if (!existsSync(indexFile) || existsSync(join(dir, "model.safetensors"))) return new Map([[join(dir, "model.safetensors"), null]]);
  const map = (readJson(indexFile) as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw new CheckpointError(indexFile, `"weight_map" must be an object of tensor name to file name`);
  const files = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== "string" || basename(shard) !== shard || shard === "." || shard === ".." || shard.includes("\\")) {
      throw new CheckpointError(indexFile, `names ${JSON.stringify(shard)}, which is not a file of this folder`, name);
    }
    const path = join(dir, shard);
    if (!files.has(path)) files.set(path, new Set());
    files.get(path)!.add(name);
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The files a tokenizer may be saved in; `tokenizer.json` is the one that must be there. */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"];

/** The bytes of `file`, or a CheckpointError saying why it cannot be read. */
function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CheckpointError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** `file` parsed as JSON, or a CheckpointError. */
function readJson(file: string): unknown {
  const text = readBytes(file).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `is not valid JSON (${(e as Error).message})`);
  }
}

/** What `read` returns; a ConfigError or TokenizerError it throws about `file` becomes a CheckpointError. */
function reading<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof TokenizerError) throw new CheckpointError(file, e.message.replace(`${file}: `, ""));
    throw e;
  }
}

/**
 * Reads a checkpoint folder — ours, or one Hugging Face transformers wrote (Llama, Mistral, Qwen2,
 * Qwen3; F32, F16, BF16 or F64; one `model.safetensors` or shards listed in
 * `model.safetensors.index.json`) — checking the config, every tensor's presence and shape, and the
 * tokenizer. Shards are read one at a time, so the file bytes of only one are held at once.
 *
 * @throws CheckpointError naming the file, the tensor and the problem
 * @example
 * ```ts
 * const { config, params, tokenizer } = loadCheckpoint("models/math-teacher");
 * config.hiddenSize; // 64
 * ```
 * @category Checkpoints
 */
export function loadCheckpoint(dir: string): Checkpoint {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CheckpointError(dir, "is not a checkpoint folder (it does not exist or is not a directory)");
  }
  const configFile = join(dir, "config.json");
  const generationFile = join(dir, "generation_config.json");
  const generation = existsSync(generationFile) ? readJson(generationFile) : undefined;
  const config = reading(configFile, () => fromHfConfig(readJson(configFile), configFile, generation));
  const expected = new Map(paramSpecs(config).map((spec) => [spec.name, spec.shape]));
  const byName = new Map<string, Tensor>();
  for (const [file, names] of weightFiles(dir)) {
    const { tensors } = decodeSafetensors(readBytes(file), file);
    for (const [name, stored] of tensors) {
      const shape = expected.get(name);
      if (shape === undefined) throw new CheckpointError(file, "is not a weight of this config", name);
      if (names !== null && !names.has(name)) throw new CheckpointError(file, "is not where model.safetensors.index.json puts it", name);
      if (byName.has(name)) throw new CheckpointError(file, "is present twice", name);
      if (stored.shape.length !== shape.length || stored.shape.some((d, i) => d !== shape[i])) {
        throw new CheckpointError(file, `has shape [${stored.shape.join(", ")}] but the config implies [${shape.join(", ")}]`, name);
      }
      byName.set(name, new Tensor(stored.data, shape));
    }
  }
  const missing = [...expected.keys()].find((name) => !byName.has(name));
  if (missing !== undefined) throw new CheckpointError(join(dir, existsSync(join(dir, "model.safetensors")) ? "model.safetensors" : INDEX), "is missing", missing);
  const params = paramsFromNamed(config, (name) => byName.get(name) as Tensor);

  const tokenizerFile = join(dir, "tokenizer.json");
  let tokenizer: Tokenizer | null = null;
  if (existsSync(tokenizerFile)) {
    const files = Object.fromEntries(TOKENIZER_FILES.filter((name) => existsSync(join(dir, name)))
      .map((name) => [name, name.endsWith(".json") ? readJson(join(dir, name)) : readBytes(join(dir, name)).toString("utf8")]));
    tokenizer = reading(tokenizerFile, () => readTokenizer(files, tokenizerFile));
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new CheckpointError(tokenizerFile, `has ${tokenizer.vocabSize} ids, more than vocab_size ${config.vocabSize} in config.json`);
    }
  }
  return { config, params, tokenizer };
}
