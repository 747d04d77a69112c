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
import type { FolderSource } from "../backend/webgpu/folder.ts";
import { WEIGHTS_ON_GPU, WebGpuUnavailableError, webgpuRunner } from "../backend/webgpu/runner.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { startKernelThreads } from "../node/kernel-threads.ts";
import { cpuRunner, type ModelRunner } from "../model/runner.ts";
import type { KernelThreads } from "../tensor/threads.ts";
import { CliError, type FlagSpec, type Flags } from "./args.ts";

/**
 * The `--backend` flag's specification.
 *
 * @category CLI
 */
export const BACKEND_FLAG: FlagSpec = {
  type: "string", choices: ["cpu", "webgpu"], default: "cpu",
  help: "cpu (float64 reference) or webgpu (float32 WGSL kernels on the GPU; needs the optional webgpu package)",
};

/**
 * The flags of {@link withRunner}: `--backend`, and `--threads`, the kernel threads of the CPU backend.
 *
 * @category CLI
 */
export const RUNNER_FLAGS: Readonly<Record<string, FlagSpec>> = {
  backend: BACKEND_FLAG,
  threads: {
    type: "int", default: 1,
    help: "cpu: threads that compute a forward (products, attention and SiLU split over them; the output is bit-identical to one thread)",
  },
};

/**
 * Runs `body` on the runner that `--backend` and `--threads N` ask for, and closes it (and the kernel
 * threads) when `body` is done. For N > 1 the weights are copied into a kernel-thread pool's shared
 * memory, and `body` gets that copy and the pool: every forward given both is split over the threads,
 * bit-identical to one.
 *
 * `weights` may be a model folder instead, for `--backend webgpu` only: the GPU backend streams it from
 * disk (16-bit matrices stay 16-bit), the host never holds it, and `body` gets `WEIGHTS_ON_GPU` as the
 * weights; `maxPositions` then sizes the runner's context (a 7B's config names 32768 positions).
 *
 * @param command - the command's name, for the error messages
 * @param weights - the weights, or the folder that holds them
 * @param body - what to do with the runner, the weights to decode with and the kernel threads, if any
 * @param maxPositions - `--backend webgpu`: the context the runner allocates (default the config's)
 * @throws CliError when N is not in 1..17, N > 1 with `--backend webgpu`, or the WebGPU backend is
 *   unavailable, saying why (Error for a folder with `--backend cpu`: the caller's mistake)
 * @example
 * ```ts
 * await withRunner("generate", { backend: "cpu", threads: 2 }, config, params, (runner, shared) =>
 *   arGreedy(config, shared, prompt, { maxNewTokens: 8, runner }));   // on two cores, same tokens
 * ```
 * @category CLI
 */
export async function withRunner<T>(
  command: string, flags: Flags, config: ModelConfig, weights: Params | FolderSource,
  body: (runner: ModelRunner, params: Params, threads: KernelThreads | undefined) => T | Promise<T>,
  maxPositions?: number,
): Promise<T> {
  const threads = flags.threads as number;
  if (threads < 1 || threads > 17) throw new CliError(`${command}: --threads must be an integer in 1..17, got ${threads}`);
  if (threads > 1 && flags.backend === "webgpu") throw new CliError(`${command}: --threads splits the CPU backend's forwards; it cannot be combined with --backend webgpu`);
  const folder = "kind" in weights ? weights : undefined;
  if (folder && flags.backend !== "webgpu") throw new Error(`${command}: withRunner streams a folder only to the GPU (--backend webgpu)`);   // a caller's mistake
  const shared = threads > 1 && !folder ? await startKernelThreads(config, weights as Params, threads) : undefined;
  const params = folder ? WEIGHTS_ON_GPU : shared?.params ?? weights as Params;
  try {
    const runner = flags.backend !== "webgpu" ? cpuRunner(config, params, shared?.pool) : await webgpuRunner(config, folder ?? params, { maxPositions }).catch((error: unknown) => {
      // a WebGPU backend that cannot start is bad usage, said in one line, with what the user can change
      if (!(error instanceof WebGpuUnavailableError)) throw error;
      const advice = `this call's context is ${maxPositions} positions: use a shorter prompt or fewer --max-new-tokens`;
      const message = maxPositions === undefined ? error.message : error.message.replace("give the runner a smaller maxPositions", advice);
      throw new CliError(`${command}: ${message}${message.includes(advice) ? "" : "; use --backend cpu"}`);
    });
    try {
      return await body(runner, params, shared?.pool);
    } finally {
      runner.close();
    }
  } finally {
    void shared?.pool.close();
  }
}
