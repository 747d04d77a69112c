/**
 * An experiment, not part of the backend: can the GPU's tensor cores make a forward over 64 tokens cost
 * about what a forward over one costs, as float32 kernels cannot (docs/webgpu.md §6)?
 *
 * Dawn exposes NVIDIA's tensor cores to WGSL through its experimental `chromium-experimental-subgroup-matrix`
 * feature (Vulkan's VK_KHR_cooperative_matrix underneath; it needs the `allow_unsafe_apis` toggle). A
 * subgroup of 32 lanes multiplies a 16x16 f16 matrix by a 16x16 f16 matrix into a 16x16 f32 accumulator
 * in one call. This script asks what the adapter offers, then tries two kernel designs on the five matrix
 * shapes of the realistic model, at T = 1 and T = 64, next to the project's float32 kernel (default
 * tiles) in the same run. Design 1, staged (`tensorSource`):
 *
 * - weights and activations stay float32 in GPU memory (the model is unchanged, a T = 1 forward streams
 *   the same 3.08 GB); a workgroup stages a K-slab of x and w into workgroup memory, rounding to f16;
 * - each subgroup accumulates in f32 over its share of K (`SK` subgroups split each slab of `SK * BK`),
 *   and the SK partial sums are added in subgroup order at the end. The order of additions depends on SK
 *   and BK only, never on T, so the kernel is batch-invariant — checked below, bit for bit, between a
 *   16-row and a 64-row workgroup and between T = 1 and T = 37;
 * - products are of f16-rounded operands (11 significant bits), so results differ from float32 ones by
 *   about 1e-3 relative: checked against a float64 sum of the same rounded operands.
 *
 * Design 2, direct (`directSource`; `--direct-only` runs only it): x and w stored as f16 (weights converted
 * once, on upload — half the bytes a T = 1 forward streams), every fragment loaded by its subgroup straight
 * from storage, no staging and no barrier in the loop; the weights either row by row or as contiguous 16x16
 * blocks. Subgroup s of SK takes the K-steps s, s + SK, ..., and the SK sums are added in subgroup order:
 * batch-invariant too (checked the same way), against a float64 sum of the same f16 operands.
 *
 * Every kernel runs in a child process of its own (a driver fault or hang costs that variant only, with
 * a 60 s limit). Prints one JSON object (the raw results); a summary goes to stderr. Usage:
 * `npx tsx bench/experiments/gpu-tensor.ts`; on the lent GPU the bundle `dist/webgpu/gpu-tensor.mjs`
 * (`npm run build:gpu`).
 * Never part of `npm test`: SwiftShader has no cooperative matrices. Numbers from one run compare only
 * with each other.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { DEFAULT_TILES, tileFor, type MatrixName } from "../../src/backend/webgpu/gpu-model.ts";
import { STEP, matmulSource } from "../../src/backend/webgpu/wgsl.ts";
import { cardName } from "../gpu-probe.ts";
import { USAGE, gpuKit, openGpu, type GpuKit } from "./gpu-kit.ts";

/** How a tensor-core workgroup splits its work: column tiles of 16, subgroups splitting K, K per subgroup per slab. */
interface TensorTile {
  /** Column tiles (of 16) per workgroup. */
  readonly CG: number;
  /** Subgroups sharing one column tile, each taking BK of every slab of SK * BK. */
  readonly SK: number;
  /** K per subgroup per slab, a multiple of 16. */
  readonly BK: number;
}

/** The realistic model's five matrices, [K, N] (bench/gpu.ts). */
const SHAPES: Record<MatrixName, readonly [number, number]> = {
  qkv: [2048, 2560], wo: [2048, 2048], gu: [2048, 11264], down: [5632, 2048], lmHead: [2048, 32000],
};

const VARIANTS: readonly TensorTile[] = [
  { CG: 1, SK: 4, BK: 16 }, { CG: 2, SK: 4, BK: 16 }, { CG: 4, SK: 2, BK: 16 }, { CG: 4, SK: 2, BK: 32 },
  { CG: 8, SK: 1, BK: 16 }, { CG: 1, SK: 8, BK: 16 },
];

const WORKGROUP_BYTES = 49152;

/**
 * The staged tensor-core kernel: `out[i, n] = sum_k x[i, k] w[n, k]` for i < T, MB rows a workgroup
 * (16 or 64), weights [N, K] as the project stores them; K a multiple of 4. Null when its workgroup
 * memory exceeds 48 KiB.
 */
function tensorSource(K: number, N: number, MB: number, { CG, SK, BK }: TensorTile): string | null {
  const SG = CG * SK, threads = 32 * SG, KB = SK * BK, STRIDE = KB + 8, K4 = K / 4;
  if (2 * (MB * STRIDE + CG * 16 * STRIDE) + 4 * SG * MB * 16 > WORKGROUP_BYTES) return null;
  const rows = [...Array(MB / 16).keys()];
  const steps = [...Array(BK / 16).keys()];
  // stage `count` quads of a [rows, K] f32 matrix into f16 workgroup memory, zero outside [limit, K)
  const stage = (dst: string, src: string, count: number, first: string, limit: string) => `
    for (var i = t; i < ${count}u; i += ${threads}u) {
      let r = i / ${KB / 4}u; let q = i % ${KB / 4}u; let k = k0 + 4u * q;
      var v = vec4<f32>(0.0);
      if (${first} + r < ${limit} && k < ${K}u) { v = ${src}[(${first} + r) * ${K4}u + k / 4u]; }
      let o = r * ${STRIDE}u + 4u * q;
      ${dst}[o] = f16(v.x); ${dst}[o + 1u] = f16(v.y); ${dst}[o + 2u] = f16(v.z); ${dst}[o + 3u] = f16(v.w);
    }`;
  return `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
${STEP}
@group(0) @binding(1) var<storage, read> xs: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ws: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> xa: array<f16, ${MB * STRIDE}>;
var<workgroup> wb: array<f16, ${CG * 16 * STRIDE}>;
var<workgroup> part: array<f32, ${SG * MB * 16}>;
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32,
    @builtin(subgroup_id) sg: u32) {   // subgroup_id, not t / 32: a matrix store's offset must be provably subgroup-uniform
  let row0 = wg.x * ${MB}u;
  let col0 = wg.y * ${CG * 16}u;
  let sk = sg % ${SK}u;
  let cg = sg / ${SK}u;
  ${rows.map((r) => `var acc${r} = subgroup_matrix_result<f32, 16, 16>();`).join(" ")}
  for (var k0 = 0u; k0 < ${K}u; k0 += ${KB}u) {
    ${stage("xa", "xs", MB * KB / 4, "row0", "step.T")}
    ${stage("wb", "ws", CG * 16 * KB / 4, "col0", `${N}u`)}
    workgroupBarrier();
    ${steps.map((s) => `{
      let w = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&wb, cg * ${16 * STRIDE}u + sk * ${BK}u + ${16 * s}u, true, ${STRIDE}u);
      ${rows.map((r) => `acc${r} = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&xa, ${16 * r * STRIDE}u + sk * ${BK}u + ${16 * s}u, false, ${STRIDE}u), w, acc${r});`).join("\n      ")}
    }`).join("\n    ")}
    workgroupBarrier();
  }
  ${rows.map((r) => `subgroupMatrixStore(&part, sg * ${MB * 16}u + ${256 * r}u, acc${r}, false, 16u);`).join("\n  ")}
  workgroupBarrier();
  for (var e = t; e < ${CG * MB * 16}u; e += ${threads}u) {
    let g = e / ${MB * 16}u; let f = e % ${MB * 16}u;
    var sum = part[g * ${SK * MB * 16}u + f];
    for (var s = 1u; s < ${SK}u; s++) { sum = sum + part[(g * ${SK}u + s) * ${MB * 16}u + f]; }   // subgroup order
    let row = row0 + f / 16u; let col = col0 + g * 16u + f % 16u;
    if (row < step.T && col < ${N}u) { out[row * ${N}u + col] = sum; }
  }
}`;
}

// ---------------------------------------------------------------- design 2: f16 in memory, loaded directly

/** How a direct workgroup splits its work: column tiles of 16 per subgroup, subgroups splitting K, K-steps unrolled. */
interface DirectTile {
  /** Column tiles (of 16) per subgroup (and per workgroup). */
  readonly CN: number;
  /** Subgroups sharing those columns; subgroup s takes the K-steps (of 16) s, s + SK, s + 2 SK, ... */
  readonly SK: number;
  /** K-steps loaded before their products are accumulated. */
  readonly U: number;
  /**
   * Weights stored as 16x16 blocks, block (n/16, k/16) at `((n/16) (K/16) + k/16) 256`, column-major
   * inside (`(n%16) 16 + k%16`): a fragment is 512 contiguous bytes. Otherwise [N, K] rows (stride K).
   */
  readonly tiled?: boolean;
}

const DIRECT_VARIANTS: readonly DirectTile[] = [
  { CN: 1, SK: 4, U: 1 }, { CN: 2, SK: 4, U: 2 }, { CN: 1, SK: 8, U: 2 },
  { CN: 1, SK: 4, U: 2, tiled: true }, { CN: 2, SK: 4, U: 2, tiled: true }, { CN: 1, SK: 8, U: 2, tiled: true },
  { CN: 2, SK: 2, U: 4, tiled: true }, { CN: 4, SK: 1, U: 4, tiled: true },
];

/**
 * The direct tensor-core kernel: x [rows, K] and w [N, K] stored as f16 (weights converted once, on
 * upload), every 16x16 fragment loaded by the subgroup straight from storage — no workgroup staging, no
 * conversion in the loop. A subgroup accumulates its K-steps in ascending order into MB/16 x CN f32
 * accumulators; the SK partial sums are added in subgroup order. K a multiple of 16, N of 16 CN; rows
 * past T are computed and not stored (x has at least MB rows a workgroup). Null when the partial sums
 * exceed 48 KiB.
 */
function directSource(K: number, N: number, MB: number, { CN, SK, U, tiled }: DirectTile): string | null {
  const MR = MB / 16, threads = 32 * SK, steps = K / 16;
  if (4 * SK * MB * 16 * CN > WORKGROUP_BYTES || K % 16 !== 0 || N % (16 * CN) !== 0) return null;
  const rs = [...Array(MR).keys()], cs = [...Array(CN).keys()], us = [...Array(U).keys()];
  const body = (u: number | null) => {
    const s = u === null ? "s" : `s + ${u * SK}u`;
    const v = u ?? 0;
    const wAt = (c: number) => tiled ? `((col0 / 16u + ${c}u) * ${steps}u + ${s}) * 256u, true, 16u` : `(col0 + ${16 * c}u) * ${K}u + (${s}) * 16u, true, ${K}u`;
    return `${cs.map((c) => `let w${v}_${c} = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&ws, ${wAt(c)});`).join(" ")}
      ${rs.map((r) => `let x${v}_${r} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&xs, (row0 + ${16 * r}u) * ${K}u + (${s}) * 16u, false, ${K}u);`).join(" ")}`;
  };
  const mma = (v: number) => rs.flatMap((r) => cs.map((c) => `acc${r}_${c} = subgroupMatrixMultiplyAccumulate(x${v}_${r}, w${v}_${c}, acc${r}_${c});`)).join(" ");
  return `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
${STEP}
@group(0) @binding(1) var<storage, read> xs: array<f16>;
@group(0) @binding(2) var<storage, read> ws: array<f16>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> part: array<f32, ${SK * MB * 16 * CN}>;
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32,
    @builtin(subgroup_id) sg: u32) {
  let row0 = wg.x * ${MB}u;
  let col0 = wg.y * ${16 * CN}u;
  ${rs.flatMap((r) => cs.map((c) => `var acc${r}_${c} = subgroup_matrix_result<f32, 16, 16>();`)).join(" ")}
  var s = sg;
  for (; s + ${(U - 1) * SK}u < ${steps}u; s += ${U * SK}u) {
    ${us.map((u) => body(u)).join("\n    ")}
    ${us.map((u) => mma(u)).join("\n    ")}
  }
  for (; s < ${steps}u; s += ${SK}u) {
    ${body(null)}
    ${mma(0)}
  }
  ${rs.flatMap((r) => cs.map((c) => `subgroupMatrixStore(&part, ${(r * CN + c) * 256}u + sg * ${MB * 16 * CN}u, acc${r}_${c}, false, 16u);`)).join("\n  ")}
  workgroupBarrier();
  for (var e = t; e < ${MB * 16 * CN}u; e += ${threads}u) {
    let row = e / ${16 * CN}u; let colL = e % ${16 * CN}u;
    let f = ((row / 16u) * ${CN}u + colL / 16u) * 256u + (row % 16u) * 16u + colL % 16u;
    var sum = part[f];
    for (var g = 1u; g < ${SK}u; g++) { sum = sum + part[g * ${MB * 16 * CN}u + f]; }   // subgroup order
    if (row0 + row < step.T) { out[(row0 + row) * ${N}u + col0 + colL] = sum; }
  }
}`;
}

/** The bits of the nearest f16 (ties to even). */
function f16Bits(x: number): number {
  const y = toF16(x);
  const sign = y < 0 || Object.is(y, -0) ? 0x8000 : 0;
  const a = Math.abs(y);
  if (a === 0) return sign;
  if (a === Infinity) return sign | 0x7c00;
  const e = Math.floor(Math.log2(a));
  if (e < -14) return sign | Math.round(a / 2 ** -24);                 // subnormal
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

/** Round to the nearest f16 (ties to even), returned as a number: the CPU reference's operands. */
function toF16(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);     // below 2^-14 the f16 spacing is fixed: subnormals
  const ulp = 2 ** (e - 10);
  const q = x / ulp;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q)) === 0.5) r = 2 * Math.round(q / 2);  // ties to even
  const y = r * ulp;
  return Math.abs(y) > 65504 ? Math.sign(y) * Infinity : y;
}

// ---------------------------------------------------------------- one child process: one job

type Job = { kind: "info" } | { kind: "f32" } | { kind: "check"; tile: TensorTile } | { kind: "time"; tile: TensorTile }
  | { kind: "direct-check"; tile: DirectTile } | { kind: "direct-time"; tile: DirectTile };

/** How a check or a timing runs one design's kernels. */
interface Design {
  /** Its kernel for MB rows a workgroup, or null when that does not fit. */
  source(K: number, N: number, MB: number): string | null;
  /** Columns a workgroup computes. */
  readonly columns: number;
  /** The check's sizes (ragged where the design allows), its seed and the weights' scale. */
  readonly check: { readonly K: number; readonly N: number; readonly seed: number; readonly weightScale: number };
  /** A random value as the kernel holds it: float32 (design 1) or f16 (design 2). */
  operand(value: number): number;
  /** The buffer the kernel reads for a [rows, K] matrix of `operand` values; `weights`: w's layout. */
  store(values: number[], K: number, weights: boolean): ArrayBufferView & { byteLength: number };
  /** Bytes one weight takes in memory. */
  readonly weightBytes: number;
  /** Filler for the timing's buffers, [length] values as stored; null: zeros. */
  readonly fill: ((length: number) => ArrayBufferView & { byteLength: number }) | null;
}

/** Random f16 bits of magnitude 2^-7 .. 2^-1, integer arithmetic only (f16Bits on 65 M weights would take minutes). */
function randomHalves(length: number, seed: number): Uint16Array {
  const bits = new Uint16Array(length);
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bits[i] = (seed >>> 31) << 15 | (8 + ((seed >>> 10) % 7)) << 10 | (seed & 0x3ff);
  }
  return bits;
}

function stagedDesign(tile: TensorTile): Design {
  return {
    source: (K, N, MB) => tensorSource(K, N, MB, tile),
    columns: 16 * tile.CG,
    check: { K: 260, N: 88, seed: 12345, weightScale: 1 },                 // K not a multiple of a slab
    operand: Math.fround,
    store: (values) => Float32Array.from(values),
    weightBytes: 4,
    fill: null,
  };
}

function directDesign(tile: DirectTile): Design {
  return {
    source: (K, N, MB) => directSource(K, N, MB, tile),
    columns: 16 * tile.CN,
    check: { K: 272, N: 16 * tile.CN * 3, seed: 777, weightScale: 0.1 },    // 17 K-steps: every SK leaves a remainder
    operand: toF16,
    store: (values, K, weights) => {
      const N = values.length / K;
      // tiled weights: block (n/16, k/16) at ((n/16) (K/16) + k/16) 256, column-major inside
      const at = (e: number) => { const b = Math.floor(e / 256), f = e % 256, nb = Math.floor(b / (K / 16)), kb = b % (K / 16); return (16 * nb + Math.floor(f / 16)) * K + 16 * kb + f % 16; };
      return Uint16Array.from({ length: N * K }, (_, e) => f16Bits(values[weights && tile.tiled ? at(e) : e]));
    },
    weightBytes: 2,
    fill: (length) => randomHalves(length, 777),
  };
}

/** The device with the subgroup-matrix, f16 and subgroup features where the adapter has them. */
function openDevice(): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  return openGpu({
    flags: ["enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia"],
    features: ["chromium-experimental-subgroup-matrix", "shader-f16", "subgroups"] as GPUFeatureName[],
    workgroupBytes: WORKGROUP_BYTES,
  });
}

/**
 * Checks a design on ragged sizes (T = 37): bits between T = 1 and T = 37 and between 16- and 64-row
 * workgroups, rows past T left untouched, and the largest difference from a float64 sum of the same
 * f16-rounded operands.
 */
async function checkDesign(kit: GpuKit, design: Design): Promise<unknown> {
  const { K, N, seed: first, weightScale } = design.check;
  const T = 37;
  let seed = first;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
  const x = Array.from({ length: 64 * K }, () => design.operand(rnd()));
  const w = Array.from({ length: N * K }, () => design.operand(rnd() * weightScale));
  const xb = kit.buffer(design.store(x, K, false)), wb = kit.buffer(design.store(w, K, true));
  const results: Record<string, Float32Array> = {};
  for (const [MB, rows] of [[16, 1], [16, T], [64, T]] as const) {
    const code = design.source(K, N, MB);
    if (code === null) continue;
    const out = kit.buffer(new Float32Array(64 * N));
    results[`${MB}/${rows}`] = await kit.runOnce(kit.pipeline(code), [kit.step(rows), xb, wb, out], [Math.ceil(rows / MB), Math.ceil(N / design.columns)], out, 64 * N * 4);
  }
  const C = results[`16/${T}`];
  let maxRelative = 0;
  for (let i = 0; i < T; i++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += toF16(x[i * K + k]) * toF16(w[n * K + k]);
      maxRelative = Math.max(maxRelative, Math.abs(C[i * N + n] - sum) / (Math.abs(sum) + 1e-3));
    }
  }
  const wide = results[`64/${T}`], one = results[`16/1`];
  return {
    maxRelativeToF16Reference: maxRelative,
    batchInvariant: (wide === undefined || C.slice(0, T * N).every((v, i) => Object.is(v, wide[i]))) && one.slice(0, N).every((v, i) => Object.is(v, C[i])),
    rowsBeyondTUntouched: C.slice(T * N).every((v) => v === 0),
    checkedWith64Rows: wide !== undefined,
  };
}

/**
 * Times `kernel` on the realistic model's five matrices at T = 1 and 64: 20 dispatches (and 40) in one
 * pass over 4 copies of the weights, so the L2 cache does not flatter them.
 */
async function timeKernels(kit: GpuKit, kernel: (name: MatrixName, K: number, N: number, T: number) => { code: string; grid: [number, number] } | null,
  weightBytes: number, fill: Design["fill"]): Promise<unknown> {
  const times: Record<string, { microseconds: number; weightTBs: number; tflops: number }> = {};
  const operands = (length: number, bytes: number) => fill === null ? kit.zeros(length * bytes, USAGE.STORAGE) : kit.buffer(fill(length), USAGE.STORAGE | USAGE.COPY_DST);
  for (const [name, [K, N]] of Object.entries(SHAPES) as [MatrixName, readonly [number, number]][]) {
    const weights = Array.from({ length: 4 }, () => operands(N * K, weightBytes));
    const xb = operands(64 * K, weightBytes);
    const out = kit.zeros(64 * N * 4, USAGE.STORAGE);
    for (const T of [1, 64]) {
      const chosen = kernel(name, K, N, T);
      if (chosen === null) continue;
      const p = kit.pipeline(chosen.code);
      const step = kit.step(T);
      const seconds = await kit.timeDispatches(p, weights.map((w) => kit.group(p, [step, xb, w, out])), chosen.grid, 20) / 1000;
      times[`${name} T=${T}`] = { microseconds: 1e6 * seconds, weightTBs: (weightBytes * N * K) / seconds / 1e12, tflops: (2 * T * N * K) / seconds / 1e12 };
    }
    weights.forEach((b) => b.destroy());
    xb.destroy();
    out.destroy();
  }
  return times;
}

async function runJob(job: Job): Promise<unknown> {
  const { adapter, device } = await openDevice();
  if (job.kind === "info") {
    const info = adapter.info as GPUAdapterInfo & { subgroupMatrixConfigs?: unknown[] };
    return {
      adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim(),
      features: [...adapter.features].sort(),
      // native objects: their fields are getters, which a spread would not copy
      subgroupMatrixConfigs: (info.subgroupMatrixConfigs ?? []).map((c) => {
        const { componentType, resultComponentType, M, N, K } = c as Record<string, unknown>;
        return { componentType, resultComponentType, M, N, K };
      }),
    };
  }
  const kit = gpuKit(device);
  if (job.kind === "f32") {
    return timeKernels(kit, (name, K, N, T) => {
      const tile = tileFor(DEFAULT_TILES, name, N, T);
      return { code: matmulSource({ K, N, bias: false, residual: false }, tile), grid: [Math.ceil(T / (tile.TM * tile.GM)), Math.ceil(N / (tile.TN * tile.GN))] };
    }, 4, null);
  }
  const design = job.kind === "check" || job.kind === "time" ? stagedDesign(job.tile) : directDesign(job.tile);
  if (job.kind === "check" || job.kind === "direct-check") return checkDesign(kit, design);
  return timeKernels(kit, (_, K, N, T) => {
    const MB = T === 1 ? 16 : 64;
    const code = design.source(K, N, MB);
    return code === null ? null : { code, grid: [Math.ceil(T / MB), Math.ceil(N / design.columns)] };
  }, design.weightBytes, design.fill);
}

// ---------------------------------------------------------------- the parent: one child per job

function inChild(job: Job): unknown {
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], "--job", JSON.stringify(job)], { encoding: "utf8", timeout: 60_000 });
  const line = child.stdout.split("\n").find((l) => l.startsWith("{"));
  if (child.status !== 0 || line === undefined) {
    return { failed: child.signal ?? `exit ${child.status}`, stderr: child.stderr.split("\n").filter((l) => /error/i.test(l)).slice(0, 3).join(" | ").slice(0, 500) };
  }
  return JSON.parse(line);
}

async function main(): Promise<void> {
  const at = process.argv.indexOf("--job");
  if (at >= 0) {
    console.log(JSON.stringify(await runJob(JSON.parse(process.argv[at + 1]) as Job)));
    process.exit(0);
  }
  const log = (line: string) => process.stderr.write(line + "\n");
  const info = inChild({ kind: "info" }) as { adapter?: string; subgroupMatrixConfigs?: unknown[] };
  log(`adapter: ${info.adapter}; subgroup matrix configs: ${JSON.stringify(info.subgroupMatrixConfigs)}`);
  const f32 = inChild({ kind: "f32" });
  log(`float32 kernel, default tiles: ${JSON.stringify(f32)}`);
  const direct = DIRECT_VARIANTS.map((tile) => {
    const check = inChild({ kind: "direct-check", tile });
    const time = inChild({ kind: "direct-time", tile });
    log(`direct ${JSON.stringify(tile)}: ${JSON.stringify(check)} ${JSON.stringify(time)}`);
    return { tile, check, time };
  });
  const variants = process.argv.includes("--direct-only") ? [] : VARIANTS.map((tile) => {
    const check = inChild({ kind: "check", tile });
    const time = inChild({ kind: "time", tile });
    log(`tensor ${JSON.stringify(tile)}: ${JSON.stringify(check)} ${JSON.stringify(time)}`);
    return { tile, check, time };
  });
  console.log(JSON.stringify({ date: new Date().toISOString(), card: cardName(), node: process.version, info, f32, direct, variants }, null, 1));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
