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
 * naming the file, the tensor and what is wrong.
 *
 * No file access here: {@link readCheckpoint} reads a folder through a {@link CheckpointSource}, the
 * bytes of its files by name, so the same checks run on a folder on disk (`src/node/checkpoint-folder.ts`,
 * which also saves), on files a browser fetched, or on a folder a user dropped onto a page. Its two
 * checking steps, {@link checkpointConfig} and {@link checkpointTensors}, serve the WebGPU backend too,
 * which reads only the safetensors headers of a folder and streams the bytes to the GPU itself.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import { ConfigError, fromHfConfig, type ModelConfig } from "./config.ts";
import { paramSpecs, paramsFromNamed, type Params } from "./params.ts";
import { CheckpointError, decodeSafetensors, type StoredTensor } from "./safetensors.ts";
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
 * A checkpoint folder as {@link readCheckpoint} sees it: its files by name, wherever they are.
 *
 * @category Checkpoints
 */
export interface CheckpointSource {
  /** Where file `name` of the folder is, as error messages name it, e.g. `models/math-teacher/config.json`. */
  path(name: string): string;
  /** True when the folder has a file `name`. */
  has(name: string): boolean;
  /** The bytes of file `name`; throws a CheckpointError naming {@link CheckpointSource.path} when it cannot be read. */
  read(name: string): Uint8Array;
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
function weightFiles(source: CheckpointSource): Map<string, Set<string> | null> {
  // transformers reads model.safetensors when it is there, whatever index lies beside it
  if (!source.has(INDEX) || source.has("model.safetensors")) return new Map([["model.safetensors", null]]);
  const map = (readJson(source, INDEX) as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw new CheckpointError(source.path(INDEX), `"weight_map" must be an object of tensor name to file name`);
  const files = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== "string" || shard.includes("/") || shard === "." || shard === ".." || shard.includes("\\")) {
      throw new CheckpointError(source.path(INDEX), `names ${JSON.stringify(shard)}, which is not a file of this folder`, name);
    }
    if (!files.has(shard)) files.set(shard, new Set());
    files.get(shard)!.add(name);
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The files a tokenizer may be saved in; `tokenizer.json` is the one that must be there. */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"];

/** File `name` as UTF-8 text; a byte-order mark is kept (and JSON.parse then refuses it). */
function readText(source: CheckpointSource, name: string): string {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(source.read(name));
}

/** File `name` parsed as JSON, or a CheckpointError. */
function readJson(source: CheckpointSource, name: string): unknown {
  const text = readText(source, name);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(source.path(name), `is not valid JSON (${(e as Error).message})`);
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
 * The config of a checkpoint folder: `config.json`, with `generation_config.json`'s EOS where there is
 * one (a ConfigError becomes a CheckpointError naming the file).
 *
 * @throws CheckpointError naming the file and the problem
 * @example
 * ```ts
 * const files = new Map([["config.json", configBytes]]);
 * checkpointConfig({ path: (name) => `math-teacher/${name}`, has: (name) => files.has(name), read: (name) => files.get(name)! }).hiddenSize; // 64
 * ```
 * @category Checkpoints
 */
export function checkpointConfig(source: CheckpointSource): ModelConfig {
  const configFile = source.path("config.json");
  const generation = source.has("generation_config.json") ? readJson(source, "generation_config.json") : undefined;
  return reading(configFile, () => fromHfConfig(readJson(source, "config.json"), configFile, generation));
}

/**
 * Every weight of `config` in a folder's safetensors files, by its Hugging Face name. `readShard` gives
 * the tensors of one weight file (`shard`, at `file` as errors name it) with whatever the caller keeps
 * of them — the values (`readCheckpoint`), or where they lie (the WebGPU backend, which reads only the
 * headers) — and each is checked: a weight of this config, in the file the index names, not twice, with
 * the shape the config implies. Then none may be missing. Shards are read one at a time.
 *
 * @throws CheckpointError naming the file, the tensor and the problem
 * @example
 * ```ts
 * const shapes = checkpointTensors(source, config, (shard, file) => readSafetensorsHeader(source.read(shard), file).entries);
 * shapes.get("model.norm.weight")!.shape; // [64]
 * ```
 * @category Checkpoints
 */
export function checkpointTensors<T extends Pick<StoredTensor, "name" | "shape">>(
  source: CheckpointSource, config: ModelConfig, readShard: (shard: string, file: string) => Iterable<T>,
): Map<string, T> {
  const expected = new Map(paramSpecs(config).map((spec) => [spec.name, spec.shape]));
  const found = new Map<string, T>();
  for (const [shard, names] of weightFiles(source)) {
    const file = source.path(shard);
    for (const tensor of readShard(shard, file)) {
      const { name, shape: stored } = tensor;
      const shape = expected.get(name);
      if (shape === undefined) throw new CheckpointError(file, "is not a weight of this config", name);
      if (names !== null && !names.has(name)) throw new CheckpointError(file, "is not where model.safetensors.index.json puts it", name);
      if (found.has(name)) throw new CheckpointError(file, "is present twice", name);
      if (stored.length !== shape.length || stored.some((d, i) => d !== shape[i])) {
        throw new CheckpointError(file, `has shape [${stored.join(", ")}] but the config implies [${shape.join(", ")}]`, name);
      }
      found.set(name, tensor);
    }
  }
  const missing = [...expected.keys()].find((name) => !found.has(name));
  if (missing !== undefined) throw new CheckpointError(source.path(source.has("model.safetensors") ? "model.safetensors" : INDEX), "is missing", missing);
  return found;
}

/**
 * Reads a checkpoint folder — ours, or one Hugging Face transformers wrote (Llama, Mistral, Qwen2,
 * Qwen3; F32, F16, BF16 or F64; one `model.safetensors` or shards listed in
 * `model.safetensors.index.json`) — checking the config ({@link checkpointConfig}), every tensor's
 * presence and shape ({@link checkpointTensors}), and the tokenizer. Shards are read one at a time, so
 * the file bytes of only one are held at once.
 *
 * @param source - the folder's files (`loadCheckpoint` gives a folder on disk)
 * @throws CheckpointError naming the file, the tensor and the problem
 * @example
 * ```ts
 * const files = new Map([["config.json", configBytes], ["model.safetensors", weightBytes]]);
 * const { config, tokenizer } = readCheckpoint({ path: (name) => `math-teacher/${name}`, has: (name) => files.has(name), read: (name) => files.get(name)! });
 * config.hiddenSize; // 64
 * tokenizer;         // null: no tokenizer.json among the files
 * ```
 * @category Checkpoints
 */
export function readCheckpoint(source: CheckpointSource): Checkpoint {
  const config = checkpointConfig(source);
  const stored = checkpointTensors(source, config, (shard, file) => decodeSafetensors(source.read(shard), file).tensors.values());
  const params = paramsFromNamed(config, (name) => {
    const { data, shape } = stored.get(name)!;
    return new Tensor(data, shape);
  });
  return { config, params, tokenizer: checkpointTokenizer(source, config) };
}

/**
 * The tokenizer of a checkpoint's files (`tokenizer.json`, with `tokenizer_config.json` and
 * `chat_template.jinja` where they are), or null without a `tokenizer.json`: what {@link readCheckpoint}
 * reads besides the config and the weights, for a backend that streams the weights itself.
 *
 * @throws CheckpointError naming the file when it cannot be read or has more ids than the config's vocabulary
 * @example
 * ```ts
 * checkpointTokenizer(source, checkpointConfig(source))?.vocabSize; // 20 for the math models
 * ```
 * @category Checkpoints
 */
export function checkpointTokenizer(source: CheckpointSource, config: ModelConfig): Tokenizer | null {
  if (!source.has("tokenizer.json")) return null;
  const tokenizerFile = source.path("tokenizer.json");
  const files = Object.fromEntries(TOKENIZER_FILES.filter((name) => source.has(name))
    .map((name) => [name, name.endsWith(".json") ? readJson(source, name) : readText(source, name)]));
  const tokenizer = reading(tokenizerFile, () => readTokenizer(files, tokenizerFile));
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new CheckpointError(tokenizerFile, `has ${tokenizer.vocabSize} ids, more than vocab_size ${config.vocabSize} in config.json`);
  }
  return tokenizer;
}
