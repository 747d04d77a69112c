/**
 * The kernel timings of the GPU benchmark (`bench/gpu.ts`): a model's own kernels timed alone — a whole
 * forward, its matmuls, its other kernels, one matrix product with any tile — and the card's own rates
 * measured in the same run: copy bandwidth, float32 multiply-adds, the fixed cost of one dispatch.
 *
 * The kernels are the model's, reached through its one accessor for benchmarks
 * (`GpuModel.forBenchmarks`), on a device the bench opens here beside the runner's: the same weights,
 * tiles and Dawn toggles, so the same compiled kernels. Timings run in this thread, awaited; the
 * runner's worker only decodes.
 *
 * Every timing is a difference: a submit of reps + 1 repetitions minus a submit of one (medians of three
 * rounds, after a warm-up), so the fixed cost of a submit and its wait cancel. A benchmark, not a test:
 * compare numbers from the same run only.
 *
 * @module
 */
/// <reference types="@webgpu/types" />
import { execFileSync } from "node:child_process";
import { GpuModel, weightReader, type ForwardKernel, type GpuModelForBenchmarks, type MatrixName, type NamedWeights, type OtherKernel, type RandomSource, type TileChoice } from "../src/backend/webgpu/gpu-model.ts";
import { STEP, type MatmulTile } from "../src/backend/webgpu/wgsl.ts";
import { openDevice } from "../src/backend/webgpu/worker.ts";
import type { ModelConfig } from "../src/model/config.ts";

/**
 * The GPU's name as `nvidia-smi` reports it ("NVIDIA H100 80GB HBM3"), or null where there is none (under
 * SwiftShader, say): Dawn's adapter info names the vendor and the driver, not the card, and a GPU number
 * must name its card.
 */
export function cardName(): string | null {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
    return out.split("\n")[0].trim() || null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- the probe: a model to time

/** A model on a device of the bench's own, to time its kernels. */
export interface GpuProbe {
  /** The model's device and kernels. */
  readonly model: GpuModelForBenchmarks;
  /** Dawn's instance, kept referenced: it lives only while referenced. */
  readonly gpu: GPU;
  /** Frees the device. */
  close(): void;
}

/**
 * Opens a device (with `dawnToggles`) and loads the model on it, as the runner's worker does for the
 * same weights and tiles.
 */
export async function openProbe(config: ModelConfig, weights: NamedWeights | RandomSource, options: { tiles?: TileChoice; dawnToggles?: readonly string[] } = {}): Promise<GpuProbe> {
  const opened = await openDevice(options.dawnToggles ?? []);
  if (typeof opened === "string") throw new Error(`bench: ${opened}`);
  const { gpu, device } = opened;
  const model = (await GpuModel.create(device, config, weightReader(weights), { tiles: options.tiles })).forBenchmarks();
  return { model, gpu, close: () => device.destroy() };
}

// ---------------------------------------------------------------- timing a submit

/** Submits `encoder`'s commands and waits for the GPU: wall seconds. */
async function timedSubmit(device: GPUDevice, encoder: GPUCommandEncoder): Promise<number> {
  const start = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - start) / 1000;
}

/**
 * Wall seconds of one submit holding one compute pass: `setup(pass)` once, then `record(pass, r)` for
 * r = 0 .. count-1 (the timed repetitions of {@link timedPair}).
 */
function timedPass(device: GPUDevice, count: number, record: (pass: GPUComputePassEncoder, r: number) => void, setup?: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  setup?.(pass);
  for (let r = 0; r < count; r++) record(pass, r);
  pass.end();
  return timedSubmit(device, encoder);
}

/**
 * A warm-up, then three rounds of (1 repetition, reps + 1 repetitions): the median of each, so that
 * one slow submit cannot make the difference negative. Returns seconds per repetition and the median
 * wall seconds of a lone repetition.
 */
async function timedPair(once: (n: number) => Promise<number>, reps: number): Promise<{ seconds: number; single: number }> {
  await once(2);
  const singles: number[] = [], manys: number[] = [];
  for (let round = 0; round < 3; round++) {
    singles.push(await once(1));
    manys.push(await once(reps + 1));
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
  return { seconds: (mid(manys) - mid(singles)) / reps, single: mid(singles) };
}

/** Seconds per repetition of `once(n)` (n repetitions in one submit): see {@link timedPair}. */
async function secondsPerRep(once: (n: number) => Promise<number>, reps: number): Promise<number> {
  return (await timedPair(once, reps)).seconds;
}

// ---------------------------------------------------------------- the model's kernels

/**
 * Which kernels of a forward {@link timeForward} records: all, only the five matmuls, only the others,
 * or only one of the others.
 */
export type ForwardPart = "all" | "matmul" | "other" | OtherKernel;

/** Whether `part` records `kernel`. */
function inPart(part: ForwardPart, kernel: ForwardKernel): boolean {
  return part === "all" || (part === "other" ? kernel !== "matmul" : part === kernel);
}

/** What {@link timeForward} measured. */
export interface ForwardGpuTiming {
  /** GPU seconds of one more forward in a submit (the submit's fixed cost cancelled out). */
  readonly seconds: number;
  /** Wall seconds of a submit holding one forward, until the GPU is done (what a lone forward pays, less the read-back). */
  readonly singleSubmitSeconds: number;
}

/**
 * GPU seconds of one forward over T tokens after P = 0 (the scratch cache), with no submit or
 * read-back of its own: `reps` forwards recorded into one compute pass. `part` times only the
 * matmuls or only the other kernels (each alone still pays its dispatches).
 */
export async function timeForward(probe: GpuProbe, T: number, reps: number, part: ForwardPart = "all"): Promise<ForwardGpuTiming> {
  const { model } = probe;
  model.writeInputs(T);
  const once = (count: number) => timedPass(model.device, count, (pass) => model.encodeForward(pass, T, (kernel) => inPart(part, kernel)));
  const { seconds, single } = await timedPair(once, reps);
  return { seconds, singleSubmitSeconds: single };
}

/** One matmul dispatch timed. */
export interface MatmulTiming {
  /** Weight bytes the dispatch streams. */
  readonly bytes: number;
  /** Seconds one dispatch took (the submit's fixed cost cancelled out). */
  readonly seconds: number;
}

/**
 * Seconds per dispatch of the matmul `x [M, K] · w^T` with the weights of `matrix`, compiled for
 * `tile`, `reps` dispatches in one submit. Dispatch r reads layer r mod numLayers's weights, so that a
 * matrix smaller than the GPU's L2 cache is still streamed from memory, as in a forward (the LM head is
 * one matrix: its repeats may hit the cache when it fits).
 *
 * @throws Error when the tile needs more workgroup memory than the device has
 */
export async function timeMatmul(probe: GpuProbe, M: number, tile: MatmulTile, reps: number, matrix: MatrixName): Promise<MatmulTiming> {
  const { model } = probe;
  const { shape, pipeline, groups } = model.matmul(matrix, tile);
  model.writeInputs(M);
  const once = (count: number) => timedPass(model.device, count, (pass, r) => {
    pass.setBindGroup(0, groups[r % groups.length]);
    pass.dispatchWorkgroups(Math.ceil(M / (tile.TM * tile.GM)), Math.ceil(shape.N / (tile.TN * tile.GN)));
  }, (pass) => pass.setPipeline(pipeline));
  const seconds = await secondsPerRep(once, reps);
  return { bytes: (shape.dtype === undefined || shape.dtype === "F32" ? 4 : 2) * shape.N * shape.K, seconds };
}

// ---------------------------------------------------------------- the card's rates

// WebGPU's usage flags (Node has no GPUBufferUsage global).
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const UNIFORM = 0x40;
const STORAGE = 0x80;

/**
 * A kernel of `code` with the model's one-input, one-output layout (binding 0 the `Step` uniform, 1 read,
 * 2 read-write), bound to `step`, `input` and `output`.
 */
function oneInOneOut(device: GPUDevice, code: string, buffers: [GPUBuffer, GPUBuffer, GPUBuffer]): { pipeline: GPUComputePipeline; group: GPUBindGroup } {
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: 4, buffer: { type: "uniform" } },
      { binding: 1, visibility: 4, buffer: { type: "read-only-storage" } },
      { binding: 2, visibility: 4, buffer: { type: "storage" } },
    ],
  });
  const pipeline = device.createComputePipeline({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
  const group = device.createBindGroup({ layout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  return { pipeline, group };
}

/** A `Step` uniform buffer (its values unread by the kernels here). */
function stepBuffer(device: GPUDevice): GPUBuffer {
  return device.createBuffer({ size: 16, usage: UNIFORM | COPY_DST });
}

/**
 * Seconds per dispatch of a one-thread kernel that reads and writes the same word, `reps` dispatches
 * in one compute pass: the fixed cost of a dependent dispatch (launch plus the barrier between two),
 * which a forward pays about 9 times per layer whatever T is.
 */
export async function timeDispatch(device: GPUDevice, reps: number): Promise<number> {
  const step = stepBuffer(device);
  const unused = device.createBuffer({ size: 16, usage: STORAGE });
  const word = device.createBuffer({ size: 16, usage: STORAGE });
  const { pipeline, group } = oneInOneOut(device, `${STEP}
@group(0) @binding(1) var<storage, read> unused: array<f32>;
@group(0) @binding(2) var<storage, read_write> word: array<f32>;
@compute @workgroup_size(1) fn main() { word[0] = word[0] + 1.0; }`, [step, unused, word]);
  const once = (count: number) => timedPass(device, count, (pass) => pass.dispatchWorkgroups(1), (pass) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
  });
  const seconds = await secondsPerRep(once, reps);
  for (const b of [step, unused, word]) b.destroy();
  return seconds;
}

/**
 * Float32 operations per second of a WGSL kernel that does nothing but multiply-adds in registers
 * (8 independent vec4 chains a thread, each lane seeded differently, 2^18 threads, `a = a * s + c`,
 * counted as 2 operations a lane): the arithmetic rate a matmul could reach at best on this card,
 * measured, not taken from a data sheet.
 */
export async function timeFmaKernel(device: GPUDevice, reps: number): Promise<number> {
  const ITERATIONS = 2048, CHAINS = 8, GROUPS = 1024;
  const step = stepBuffer(device);
  const seed = device.createBuffer({ size: 16, usage: STORAGE | COPY_DST });
  device.queue.writeBuffer(seed, 0, Float32Array.of(0.999, 1e-3, 0, 0));
  const sink = device.createBuffer({ size: 16 * 256 * GROUPS, usage: STORAGE });
  const chains = [...Array(CHAINS).keys()];
  const { pipeline, group } = oneInOneOut(device, `${STEP}
@group(0) @binding(1) var<storage, read> seed: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sink: array<vec4<f32>>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) {
  let s = seed[0];                                       // read at run time: nothing folds to a constant
  // every lane of every chain starts elsewhere, so that no compiler can merge two chains into one
  ${chains.map((c) => `var a${c} = vec4<f32>(f32(g.x) + ${c}.0, s.y * ${c + 1}.0, s.z + ${c}.5, s.w - ${c}.25);`).join("\n  ")}
  for (var i = 0u; i < ${ITERATIONS}u; i++) {
    ${chains.map((c) => `a${c} = a${c} * s.x + s.y;`).join(" ")}
  }
  let r = ${chains.map((c) => `a${c}`).join(" + ")};
  if (r.x == 1234.5) { sink[g.x] = r; }                 // never true, but the compiler cannot know it
}`, [step, seed, sink]);
  const once = (count: number) => timedPass(device, count, (pass) => pass.dispatchWorkgroups(GROUPS), (pass) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
  });
  const seconds = await secondsPerRep(once, reps);
  for (const b of [step, seed, sink]) b.destroy();
  return (2 * 4 * CHAINS * ITERATIONS * 256 * GROUPS) / seconds;
}

/** A buffer copy timed. */
export interface CopyTiming {
  /** Bytes read plus bytes written, per second. */
  readonly bytesPerSecond: number;
}

/**
 * Bytes moved per second by a WGSL copy kernel (vec4 loads and stores, one per thread) over `bytes`
 * bytes, each read once and written once: the streaming bandwidth a compute kernel can reach.
 */
export async function timeCopyKernel(device: GPUDevice, bytes: number, reps: number): Promise<CopyTiming> {
  const count = bytes / 16;
  const step = stepBuffer(device);
  const a = device.createBuffer({ size: bytes, usage: STORAGE });
  const b = device.createBuffer({ size: bytes, usage: STORAGE });
  const { pipeline, group } = oneInOneOut(device, `${STEP}
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.y * 65535u * 256u + g.x;
  if (i < ${count}u) { dst[i] = src[i]; }
}`, [step, a, b]);
  const groups = Math.ceil(count / 256);
  const once = (n: number) => timedPass(device, n, (pass) => pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535)), (pass) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
  });
  const seconds = await secondsPerRep(once, reps);
  for (const buffer of [step, a, b]) buffer.destroy();
  return { bytesPerSecond: (2 * bytes) / seconds };
}

/** Bytes moved per second by `copyBufferToBuffer` of `bytes` bytes (each byte read once and written once). */
export async function timeCopy(device: GPUDevice, bytes: number, reps: number): Promise<CopyTiming> {
  const a = device.createBuffer({ size: bytes, usage: COPY_SRC | COPY_DST });
  const b = device.createBuffer({ size: bytes, usage: COPY_SRC | COPY_DST });
  const once = (count: number): Promise<number> => {
    const encoder = device.createCommandEncoder();
    for (let r = 0; r < count; r++) encoder.copyBufferToBuffer(a, 0, b, 0, bytes);
    return timedSubmit(device, encoder);
  };
  const seconds = await secondsPerRep(once, reps);
  a.destroy();
  b.destroy();
  return { bytesPerSecond: (2 * bytes) / seconds };
}
