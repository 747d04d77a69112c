/**
 * `--backend cpu|webgpu`: the flag that `generate` and `eval` share (and `npm run bench`), and the
 * runner it opens; and `--threads N` (`generate`, `eval`): kernel threads for the CPU backend.
 *
 * `cpu` is the float64 reference (`cpuRunner`). `webgpu` starts the GPU backend (`webgpuRunner`); when
 * it cannot run — the optional `webgpu` package is missing, or Dawn finds no adapter — the command stops
 * with one line saying why, and `--backend cpu` still works.
 *
 * @module
 */
import { WebGpuUnavailableError, webgpuRunner } from "../backend/webgpu/runner.ts";
import type { ModelConfig } from "../model/config.ts";
import { startKernelThreads, type Params } from "../model/params.ts";
import { cpuRunner, type ModelRunner } from "../model/runner.ts";
import type { KernelThreads } from "../tensor/threads.ts";
import { CliError, type FlagSpec, type Flags } from "./args.ts";

/**
 * The backends a command can run on.
 *
 * @category CLI
 */
export const BACKENDS = ["cpu", "webgpu"] as const;

/**
 * The `--backend` flag's specification.
 *
 * @category CLI
 */
export const BACKEND_FLAG: FlagSpec = {
  type: "string", choices: BACKENDS, default: "cpu",
  help: "cpu (float64 reference) or webgpu (float32 WGSL kernels on the GPU; needs the optional webgpu package)",
};

/**
 * The runner `--backend` asks for, for this model. Close it when done.
 *
 * @param command - the command's name, for the error message
 * @param params - the weights; under `--threads`, those of {@link threadedParams}
 * @param threads - the CPU runner's kernel threads, from {@link threadedParams}
 * @throws CliError when the WebGPU backend is unavailable, saying why
 * @example
 * ```ts
 * const runner = await openRunner("generate", { backend: "webgpu" }, config, params);
 * ```
 * @category CLI
 */
export async function openRunner(command: string, flags: Flags, config: ModelConfig, params: Params, threads?: KernelThreads): Promise<ModelRunner> {
  if (flags.backend !== "webgpu") return cpuRunner(config, params, threads);
  try {
    return await webgpuRunner(config, params);
  } catch (error) {
    if (error instanceof WebGpuUnavailableError) throw new CliError(`${command}: ${error.message}; use --backend cpu`);
    throw error;
  }
}

/**
 * The `--threads` flag's specification: kernel threads for the CPU backend.
 *
 * @category CLI
 */
export const THREADS_FLAG: FlagSpec = {
  type: "int", default: 1,
  help: "cpu: threads that compute a forward (products, attention and SiLU split over them; the output is bit-identical to one thread)",
};

/**
 * The weights a command decodes with, and how to let go of them.
 *
 * @category CLI
 */
export interface ThreadedParams {
  /** The weights to pass to the decoders and the runner. */
  readonly params: Params;
  /** The kernel threads that hold `params`, to pass to the runner; absent for one thread. */
  readonly threads?: KernelThreads;
  /** Ends the kernel threads, if any. */
  close(): void;
}

/**
 * The weights a command decodes with under `--threads N`: for N > 1 a copy in a kernel-thread pool's
 * shared memory and the pool (every forward given both is split over the threads, bit-identical to
 * one), else the weights as given. Call `close()` when done.
 *
 * @param command - the command's name, for the error message
 * @throws CliError when N is not in 1..17, or N > 1 with `--backend webgpu`
 * @example
 * ```ts
 * const threaded = await threadedParams("generate", { threads: 2, backend: "cpu" }, config, params);
 * const runner = await openRunner("generate", flags, config, threaded.params, threaded.threads);
 * arGreedy(config, threaded.params, prompt, { runner });   // on two cores, same tokens
 * threaded.close();
 * ```
 * @category CLI
 */
export async function threadedParams(command: string, flags: Flags, config: ModelConfig, params: Params): Promise<ThreadedParams> {
  const threads = (flags.threads as number | undefined) ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 17) throw new CliError(`${command}: --threads must be an integer in 1..17, got ${threads}`);
  if (threads === 1) return { params, close() {} };
  if (flags.backend === "webgpu") throw new CliError(`${command}: --threads splits the CPU backend's forwards; it cannot be combined with --backend webgpu`);
  const shared = await startKernelThreads(config, params, threads);
  return { params: shared.params, threads: shared.pool, close: () => { void shared.pool.close(); } };
}
