/**
 * What the GPU experiments (`gpu-tensor.ts`, `gpu-attention.ts`, `gpu-matmul.ts` in this folder) share:
 * buffers, pipelines and bind groups made in one line, one dispatch read back, and the timing of a
 * kernel alone — a run of dispatches in one compute pass, as the difference of 2 reps and reps (fixed
 * costs cancel), median of three — and opening the device (`openGpu`). The card's name comes from
 * `cardName` in `bench/gpu-probe.ts`.
 *
 * @module
 */

/**
 * Dawn's GPU, its adapter (high performance) and a device with the adapter's largest buffers and
 * workgroup memory (at most `workgroupBytes`), and those of `features` the adapter has. Dawn's instance is
 * kept referenced for the life of the process: it lives only while referenced.
 */
export async function openGpu(options: { flags?: string[]; features?: GPUFeatureName[]; workgroupBytes?: number } = {}): Promise<{ adapter: GPUAdapter; device: GPUDevice; adapterName: string }> {
  const { create } = await import("webgpu") as { create(flags: string[]): GPU };
  const gpu = create(options.flags ?? []);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) throw new Error("no GPU adapter");
  const { maxComputeWorkgroupStorageSize, maxStorageBufferBindingSize, maxBufferSize } = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: (options.features ?? []).filter((f) => adapter.features.has(f)),
    requiredLimits: {
      maxComputeWorkgroupStorageSize: Math.min(options.workgroupBytes ?? Infinity, maxComputeWorkgroupStorageSize),
      maxStorageBufferBindingSize, maxBufferSize,
    },
  });
  (globalThis as { keepGpu?: GPU }).keepGpu = gpu;
  const info = adapter.info;
  return { adapter, device, adapterName: `${info.vendor} ${info.architecture} ${info.description}`.trim() };
}

/** WebGPU's buffer usage bits (the `GPUBufferUsage` global is not defined in Node). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;

/** Helpers bound to one device. */
export interface GpuKit {
  /** A storage buffer holding `data` (at least 16 bytes; `data.byteLength` a multiple of 4). */
  buffer(data: ArrayBufferView & { byteLength: number }, usage?: number): GPUBuffer;
  /** A zero-filled buffer of `bytes` (storage by default), nothing written from the CPU. */
  zeros(bytes: number, usage?: number): GPUBuffer;
  /** The uniform `Step { T, P, L, hasMask }` of `STEP` (src/backend/webgpu/wgsl.ts). */
  step(T: number, P?: number, hasMask?: boolean): GPUBuffer;
  /** A compute pipeline of `code`'s `main`, its layout taken from the code. */
  pipeline(code: string): GPUComputePipeline;
  /** A bind group of `buffers` at bindings 0, 1, ... of `p`'s group 0. */
  group(p: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup;
  /** Dispatches `grid` of `p` once over `buffers`, then reads `bytes` of `out` back as floats. */
  runOnce(p: GPUComputePipeline, buffers: GPUBuffer[], grid: readonly [number, number], out: GPUBuffer, bytes: number): Promise<Float32Array>;
  /**
   * Milliseconds a dispatch of `grid` takes alone: `reps` and `2 reps` dispatches in one pass, bind group
   * r cycling through `groups` (so that several copies of the weights keep the L2 cache from flattering
   * them), the difference divided by reps, median of three, after one untimed run.
   */
  timeDispatches(p: GPUComputePipeline, groups: GPUBindGroup[], grid: readonly [number, number], reps: number): Promise<number>;
}

/** The helpers of {@link GpuKit} for `device`. */
export function gpuKit(device: GPUDevice): GpuKit {
  const { MAP_READ, COPY_SRC, COPY_DST, UNIFORM, STORAGE } = USAGE;
  const buffer = (data: ArrayBufferView & { byteLength: number }, usage: number = STORAGE | COPY_DST | COPY_SRC) => {
    const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage });
    device.queue.writeBuffer(b, 0, data as unknown as ArrayBuffer);
    return b;
  };
  const group = (p: GPUComputePipeline, buffers: GPUBuffer[]) =>
    device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: buffers.map((b, i) => ({ binding: i, resource: { buffer: b } })) });
  /** Submits `count` dispatches in one pass and waits for the GPU; returns the milliseconds that took. */
  const submit = async (p: GPUComputePipeline, groups: GPUBindGroup[], grid: readonly [number, number], count: number, after?: (e: GPUCommandEncoder) => void) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(p);
    for (let r = 0; r < count; r++) {
      pass.setBindGroup(0, groups[r % groups.length]);
      pass.dispatchWorkgroups(...grid);
    }
    pass.end();
    after?.(encoder);
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - start;
  };
  return {
    buffer,
    zeros: (bytes, usage = STORAGE | COPY_DST | COPY_SRC) => device.createBuffer({ size: Math.max(16, bytes), usage }),
    step: (T, P = 0, hasMask = false) => buffer(Uint32Array.of(T, P, P + T, hasMask ? 1 : 0), UNIFORM | COPY_DST),
    pipeline: (code) => device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } }),
    group,
    async runOnce(p, buffers, grid, out, bytes) {
      const read = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
      await submit(p, [group(p, buffers)], grid, 1, (encoder) => encoder.copyBufferToBuffer(out, 0, read, 0, bytes));
      await read.mapAsync(1);                                             // GPUMapMode.READ
      const values = new Float32Array(read.getMappedRange().slice(0));
      read.destroy();
      return values;
    },
    async timeDispatches(p, groups, grid, reps) {
      await submit(p, groups, grid, reps);
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) samples.push((await submit(p, groups, grid, 2 * reps) - await submit(p, groups, grid, reps)) / reps);
      return samples.sort((a, b) => a - b)[1];
    },
  };
}
