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
 * @module jacobi-forcing/webgpu
 */
export { WebGpuUnavailableError, webgpuRunner, type CacheStats, type WebGpuRunner, type WebGpuRunnerOptions } from "./backend/webgpu/runner.ts";
export type { RandomSource } from "./backend/webgpu/gpu-model.ts";
