/**
 * Checkpoint folders on disk: loading one (the checks are `model/checkpoint.ts`'s, on the folder's
 * files read from disk) and saving one, each file written atomically.
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
 * Saving writes each file to a temporary name and then renames it, so an interrupted save never leaves
 * a half-written file under a real name.
 *
 * Node only (`node:fs`): the library's core reads a folder from bytes (`readCheckpoint`), so that a page
 * in a browser loads the same checkpoints with the same checks. Training saves and resumes through this
 * file, so it must reach no decoder (trajectory files are `trajectory-file.ts`).
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkpointConfig, checkpointTokenizer, readCheckpoint, type Checkpoint, type CheckpointSource } from "../model/checkpoint.ts";
import { toHfConfig } from "../model/config.ts";
import { namedParams } from "../model/params.ts";
import { CheckpointError, encodeSafetensors } from "../model/safetensors.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";

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

/**
 * Reads a checkpoint folder from disk with every check of `readCheckpoint` (the config, each tensor's
 * presence and shape, the shards an index names, the tokenizer); shards are read one at a time.
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
  return readCheckpoint(folderSource(dir));
}

/**
 * The config and tokenizer of the checkpoint folder `dir`, with the same checks as {@link loadCheckpoint},
 * but not its weights (of which only the headers are read, by the backend that streams them: a 7B folder
 * is never held on the host).
 *
 * @throws CheckpointError naming the file and the problem
 * @example
 * ```ts
 * const { config, tokenizer } = loadConfigAndTokenizer(dir);
 * const runner = await webgpuRunner(config, { kind: "folder", dir }, { maxPositions: 1024 });
 * ```
 * @category Checkpoints
 */
export function loadConfigAndTokenizer(dir: string): Omit<Checkpoint, "params"> {
  const source = folderSource(dir);
  const config = checkpointConfig(source);
  return { config, tokenizer: checkpointTokenizer(source, config) };
}

/** The folder `dir` as the core's readers take one, its files read from disk. */
function folderSource(dir: string): CheckpointSource {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CheckpointError(dir, "is not a checkpoint folder (it does not exist or is not a directory)");
  }
  return {
    path: (name) => join(dir, name),
    has: (name) => existsSync(join(dir, name)),
    read: (name) => {
      try {
        return readFileSync(join(dir, name));
      } catch (e) {
        throw new CheckpointError(join(dir, name), `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    },
  };
}
