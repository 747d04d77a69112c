/**
 * `--backend cpu|webgpu`: the flag that `generate`, `eval` and `bench` share, and the runner it opens.
 *
 * `cpu` is the float64 reference (`cpuRunner`). `webgpu` starts the GPU backend (`webgpuRunner`); when
 * it cannot run — the optional `webgpu` package is missing, or Dawn finds no adapter — the command stops
 * with one line saying why, and `--backend cpu` still works.
 *
 * @module
 */
import { WebGpuUnavailableError, webgpuRunner } from "../backend/webgpu/runner.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { cpuRunner, type ModelRunner } from "../model/runner.ts";
import { CliError, type FlagSpec, type Flags } from "./args.ts";

/**
 * The backends a command can run on.
 *
 * @example
 * ```ts
 * BACKENDS; // ["cpu", "webgpu"]
 * ```
 * @category CLI
 */
export const BACKENDS = ["cpu", "webgpu"] as const;

/**
 * The `--backend` flag's specification.
 *
 * @example
 * ```ts
 * const flags = { backend: BACKEND_FLAG }; // --backend cpu|webgpu, default cpu
 * ```
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
 * @throws CliError when the WebGPU backend is unavailable, saying why
 * @example
 * ```ts
 * const runner = await openRunner("generate", { backend: "webgpu" }, config, params);
 * ```
 * @category CLI
 */
export async function openRunner(command: string, flags: Flags, config: ModelConfig, params: Params): Promise<ModelRunner> {
  if (flags.backend !== "webgpu") return cpuRunner(config, params);
  try {
    return await webgpuRunner(config, params);
  } catch (error) {
    if (error instanceof WebGpuUnavailableError) throw new CliError(`${command}: ${error.message}; use --backend cpu`);
    throw error;
  }
}
