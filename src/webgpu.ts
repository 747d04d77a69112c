/**
 * `jacobi-forcing/webgpu`: the WebGPU backend, a {@link WebGpuRunner} that runs the same forward as
 * float32 WGSL kernels on a GPU, for the decoders of `jacobi-forcing` (`runner` option) — `docs/webgpu.md`.
 * It needs the optional package `webgpu` (Dawn for Node: `npm install webgpu`); without it
 * {@link webgpuRunner} rejects with a {@link WebGpuUnavailableError} that says so.
 *
 * ```ts
 * import { loadCheckpoint, jacobi } from "jacobi-forcing";
 * import { webgpuRunner } from "jacobi-forcing/webgpu";
 * const { config, params } = loadCheckpoint("node_modules/jacobi-forcing/models/math-teacher");
 * const runner = await webgpuRunner(config, params);
 * jacobi(config, params, [1, 11, 12], { maxNewTokens: 16, blockSize: 8, runner });
 * await runner.close();
 * ```
 *
 * A large model folder (BF16 or F16 weights stay 16-bit on the GPU; nothing is held in float64) is
 * streamed by the GPU worker from its files, and decoded without Params:
 *
 * ```ts
 * import { folderConfig, webgpuRunner, WEIGHTS_ON_GPU } from "jacobi-forcing/webgpu";
 * const runner = await webgpuRunner(folderConfig(dir), { kind: "folder", dir }, { maxPositions: 1024 });
 * jacobi(runner.config, WEIGHTS_ON_GPU, prompt, { maxNewTokens: 64, runner });
 * ```
 *
 * @module jacobi-forcing/webgpu
 */
export { WEIGHTS_ON_GPU, WebGpuUnavailableError, webgpuRunner, type CacheStats, type WebGpuRunner, type WebGpuRunnerOptions } from "./backend/webgpu/runner.ts";
export { folderConfig, type FolderSource } from "./backend/webgpu/folder.ts";
export type { RandomSource } from "./backend/webgpu/gpu-model.ts";
