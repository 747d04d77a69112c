/**
 * A model folder (Hugging Face's layout: `config.json`, `model.safetensors` or an index and its shards)
 * streamed to the GPU: the main thread reads only `config.json` and the safetensors headers, and checks
 * every tensor against the config as `loadCheckpoint` does (same `CheckpointError`s); the worker thread
 * then reads each tensor's bytes from its file, in bounded pieces, straight into the mapped GPU buffer.
 * No weight crosses a thread or becomes a float64: 16-bit matrices are copied as they are (the GPU
 * widens them, `wgsl.ts`), F32 is copied, and what must become float32 (an F64 tensor, a 16-bit gain or
 * bias, a fused matrix whose parts differ in dtype) is converted a piece at a time. The host holds at
 * most one GPU buffer's mapping at once (the largest matrix), never the model.
 *
 * What it is not: a checkpoint loader for the CPU (that is `loadCheckpoint`, which reads float64 Params),
 * nor usable outside Node (it reads files).
 *
 * Read next: `gpu-model.ts` (`GpuModel.create`, which asks a {@link WeightReader} for each buffer).
 *
 * @module
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkpointConfig, checkpointTensors, type CheckpointSource } from "../../model/checkpoint.ts";
import type { ModelConfig } from "../../model/config.ts";
import { paramsFromNamed } from "../../model/params.ts";
import { CheckpointError, DTYPES, readSafetensorsHeader } from "../../model/safetensors.ts";
import type { Tensor } from "../../tensor/tensor.ts";
import { forEachPiece, weightArrays, type TensorFiles, type WeightReader } from "./gpu-model.ts";

/**
 * A model folder whose weights `webgpuRunner` streams to the GPU (see the module header).
 *
 * @category WebGPU
 */
export interface FolderSource {
  /** Discriminant. */
  readonly kind: "folder";
  /** The folder: `config.json` and `model.safetensors`, or `model.safetensors.index.json` and its shards. */
  readonly dir: string;
}

// ---------------------------------------------------------------- the main thread: config and headers

/**
 * The config of a model folder: `config.json`, with `generation_config.json`'s EOS where there is one
 * (`checkpointConfig`'s checks).
 *
 * @throws CheckpointError naming the file and the problem
 * @example
 * ```ts
 * folderConfig("spec/fixtures/hf/qwen3-bf16").architecture; // "Qwen3ForCausalLM"
 * ```
 * @category WebGPU
 */
export function folderConfig(dir: string): ModelConfig {
  return checkpointConfig(folderSource(dir));
}

/**
 * Where each weight of `config` lies in the folder's safetensors files: only the headers are read, and
 * every tensor is checked as for `loadCheckpoint` (`checkpointTensors`).
 *
 * @throws CheckpointError naming the file, the tensor and the problem
 * @example
 * ```ts
 * folderTensors(dir, folderConfig(dir)).tensors["layers.0.wq"]; // { file: ".../model.safetensors", offset: 1184, dtype: "BF16" }
 * ```
 * @category WebGPU
 */
export function folderTensors(dir: string, config: ModelConfig): TensorFiles {
  const found = checkpointTensors(folderSource(dir), config, (_, file) => {
    const { size, head } = withFile(file, (fd) => {
      const size = fstatSync(fd).size;
      const prefix = readBytes(fd, file, Buffer.alloc(Math.min(size, 8)), 0);
      const declared = prefix.length < 8 ? 0 : Number(prefix.readBigUInt64LE(0));
      return { size, head: readBytes(fd, file, Buffer.alloc(Math.min(size, 8 + Math.min(declared, 1e8))), 0) };   // readSafetensorsHeader refuses more
    });
    const { entries, dataStart } = readSafetensorsHeader(head, file, size);
    return entries.map(({ name, shape, dtype, begin }) => ({ name, shape, at: { file, offset: dataStart + begin, dtype } }));
  });
  // Our names (weightArrays's: `layers.0.wq`) for the Hugging Face ones, from params.ts's one table of
  // names: paramsFromNamed handed each name in place of its tensor.
  const named = weightArrays(paramsFromNamed(config, (name) => ({ data: name }) as unknown as Tensor)) as unknown as Record<string, string>;
  return { kind: "files", tensors: Object.fromEntries(Object.entries(named).map(([ours, name]) => [ours, found.get(name)!.at])) };
}

/**
 * The folder as `checkpointTensors` reads one, as `loadCheckpoint` builds it (a backend does not
 * import src/node/).
 */
function folderSource(dir: string): CheckpointSource {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(dir, "is not a checkpoint folder (it does not exist or is not a directory)");
  const path = (name: string) => join(dir, name);
  return { path, has: (name) => existsSync(path(name)), read: (name) => withFile(path(name), (fd) => readBytes(fd, path(name), Buffer.alloc(fstatSync(fd).size), 0)) };
}

// ---------------------------------------------------------------- the worker thread: the bytes

/**
 * The {@link WeightReader} of a folder's files: a fused matrix is held in its parts' 16-bit dtype when
 * they all share it, else as float32; bytes stored as held are read straight into the target (the
 * files and the GPU are both little-endian), others are converted to float32 in pieces of 64 Ki values.
 *
 * @example
 * ```ts
 * await GpuModel.create(device, config, filesReader(folderTensors(dir, config)));
 * ```
 * @category WebGPU
 */
export function filesReader(files: TensorFiles): WeightReader {
  const { tensors } = files;
  return {
    dtype(parts) {
      const dtype = tensors[parts[0][0]].dtype;
      return (dtype === "F16" || dtype === "BF16") && parts.every(([name]) => tensors[name].dtype === dtype) ? dtype : "F32";
    },
    read: (parts, from, count, target, dtype) => forEachPiece(parts, from, count, (name, start, n, at) => {
      const { file, offset, dtype: stored } = tensors[name];
      const { bytes, read } = DTYPES[stored];
      withFile(file, (fd) => {
        if (stored === dtype) return readBytes(fd, file, new Uint8Array(target, at * bytes, n * bytes), offset + start * bytes);
        const out = new Float32Array(target, 4 * at, n);
        const piece = new Uint8Array(bytes * Math.min(n, 1 << 16));
        for (let i = 0; i < n; i += piece.length / bytes) {
          const m = Math.min(piece.length / bytes, n - i);
          const view = new DataView(piece.buffer, 0, m * bytes);
          readBytes(fd, file, piece.subarray(0, m * bytes), offset + (start + i) * bytes);
          for (let j = 0; j < m; j++) out[i + j] = read(view, j);            // float32 rounding of an F64; exact otherwise
        }
      });
    }),
  };
}

/** What `use` returns with `file` open for reading, closed after. */
function withFile<T>(file: string, use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new CheckpointError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/** Fills `target` with the bytes of `fd` from `position` on, in reads of at most 1 GiB; returns it. */
function readBytes<T extends Uint8Array>(fd: number, file: string, target: T, position: number): T {
  for (let done = 0; done < target.length;) {
    const read = readSync(fd, target, done, Math.min(target.length - done, 1 << 30), position + done);
    if (read === 0) throw new CheckpointError(file, `ends at byte ${position + done}, before the data its header promises`);
    done += read;
  }
  return target;
}
