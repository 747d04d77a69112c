/**
 * An experiment on the matmul at T = 16–128, where the backend's lane kernel (`matmulSource`) reaches
 * well under what NVIDIA's cuBLAS does at T = 64 on the lent cards (`vendor-matmul.py` in this folder;
 * docs/webgpu.md §6 has both rates).
 *
 * The lane kernel splits each dot product over the 32 lanes of a warp: lane l adds quads l, l+32, ...
 * (k = 4q + e, in order), then the workgroup adds the 32 lane sums in lane order. Every load comes
 * from memory (through the L1 cache) and serves TM or TN multiply-adds only, so at T = 64 it is bound by
 * its loads, not by arithmetic.
 *
 * The staged kernel here (`stagedSource`) keeps exactly that order of additions — so its bits are the
 * lane kernel's, and a model may use either at any T — but moves the lane loop outside the workgroup, as
 * run G's staged tile did (docs/webgpu.md §6): for each group of SH consecutive shares, the workgroup
 * stages JB quads of each share of its BM rows of x and BN rows of w into workgroup memory, and each
 * thread adds their products into SH sets of TM x TN share sums; after a group's last round it adds
 * the group's share sums into its outputs, share by share. Unlike run G's kernel:
 *
 * - SH shares at once: quads l and l+1 are neighbours in memory, so SH = 2 reads whole 32-byte sectors
 *   where one share at a time reads half of each;
 * - each round's global loads are issued into registers before the previous round's products are
 *   computed (one buffer of workgroup memory, the next round in flight);
 * - each staged block of BM (or BN) rows gets one pad quad, so that a warp's stores, which walk the
 *   shares and quads of a few rows, spread over the memory banks.
 *
 * Each tile is checked bit for bit against the lane kernel (the same random x, w, bias and residual),
 * then both are timed alone on the realistic model's five matrices (weights in several copies, cycled,
 * so the L2 cache does not flatter a matrix), and the forward's 65 products summed.
 *
 * Result (docs/webgpu.md §6, with the numbers): bit for bit equal to the lane kernel for every tile, and
 * slower than it on every matrix at T = 16, 64 and 128 except the LM head at T ≥ 64, where the gain is a
 * small share of a forward, so the backend keeps the lane kernel.
 *
 * Usage: `npx tsx bench/experiments/gpu-matmul.ts [--check-only]` (under SwiftShader, `--check-only`
 * checks small shapes and times nothing); on the lent GPU the bundle `dist/webgpu/gpu-matmul.mjs`
 * (`npm run build:gpu`).
 * Prints one JSON object; a summary goes to stderr. Numbers from one run compare only with each other.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { STEP, matmulSource, type MatmulShape } from "../../src/backend/webgpu/wgsl.ts";
import { DEFAULT_TILES } from "../../src/backend/webgpu/gpu-model.ts";
import { cardName } from "../gpu-probe.ts";
import { gpuKit, openGpu } from "./gpu-kit.ts";

/** A staged tile: BM x BN outputs a workgroup, TM x TN a thread, SH shares and JB quads of each a round. */
interface StagedTile {
  readonly BM: number;
  readonly BN: number;
  readonly TM: number;
  readonly TN: number;
  readonly SH: number;
  readonly JB: number;
}

/** Threads of a staged tile's workgroup. */
const threadsOf = (t: StagedTile) => (t.BM / t.TM) * (t.BN / t.TN);

/** Bytes of workgroup memory a round takes: SH JB quads of BM + BN rows, and a pad quad per (share, quad) of x and of w. */
const stagedBytes = (t: StagedTile) => 16 * t.SH * t.JB * (t.BM + t.BN + 2);

/** Why `tile` cannot run `shape`, or undefined. */
function stagedUnfit(shape: MatmulShape, t: StagedTile): string | undefined {
  const K4 = shape.K / 4;
  if (shape.K % 128 !== 0) return `K = ${shape.K} is not a multiple of 128 (32 shares of whole quads)`;
  if (32 % t.SH !== 0) return `SH = ${t.SH} does not divide 32`;
  if ((K4 / 32) % t.JB !== 0) return `a share's ${K4 / 32} quads are not a multiple of JB = ${t.JB}`;
  if (t.BM % t.TM !== 0 || t.BN % t.TN !== 0) return "BM must be a multiple of TM and BN of TN";
  if (threadsOf(t) > 256 || (t.SH * t.JB * (t.BM + t.BN)) % threadsOf(t) !== 0) return `${threadsOf(t)} threads cannot share a round's loads evenly`;
  return undefined;
}

/**
 * The staged kernel: `out[i, n] = (residual ? out[i, n] : 0) + (sum_k x[i, k] w[n, k] + bias[n])` for
 * i < T, in the lane kernel's order of additions (see the module header).
 * Grid: x = ceil(T / BM), y = ceil(N / BN).
 */
function stagedSource(shape: MatmulShape, tile: StagedTile): string {
  const unfit = stagedUnfit(shape, tile);
  if (unfit !== undefined) throw new Error(`stagedSource: ${unfit}`);
  const { K, N, bias, residual } = shape;
  const { BM, BN, TM, TN, SH, JB } = tile;
  const threads = threadsOf(tile);
  const K4 = K / 4;
  const Q = K4 / 32;                                   // quads a share
  const roundsPerGroup = Q / JB;
  const rounds = (32 / SH) * roundsPerGroup;
  const perRound = SH * JB * (BM + BN);                // vec4 staged a round
  const perThread = perRound / threads;
  const RS = BM / TM, CS = BN / TN;
  const as = [...Array(TM).keys()], bs = [...Array(TN).keys()], ss = [...Array(SH).keys()], js = [...Array(JB).keys()];
  const pairs = as.flatMap((a) => bs.map((b) => [a, b] as const));
  const vs = [...Array(perThread).keys()];
  // Staged element e of a round: s fastest (neighbouring shares are neighbouring quads), then j, then the row
  // (x rows 0..BM-1, then w rows). Stored as x: [s][j][BM], w: [s][j][BN].
  const load = (v: number) => `{
      let e = t + ${v * threads}u;
      let s = e % ${SH}u; let j = (e / ${SH}u) % ${JB}u; let r = e / ${SH * JB}u;
      let q = g * ${SH}u + s + 32u * (j0 + j);
      if (r < ${BM}u) {
        pre${v} = select(vec4<f32>(0.0), xs[min(row0 + r, M - 1u) * ${K4}u + q], row0 + r < M);
      } else {
        pre${v} = select(vec4<f32>(0.0), ws[min(col0 + r - ${BM}u, ${N - 1}u) * ${K4}u + q], col0 + r - ${BM}u < ${N}u);
      }
    }`;
  const store = (v: number) => `{
      let e = t + ${v * threads}u;
      let s = e % ${SH}u; let j = (e / ${SH}u) % ${JB}u; let r = e / ${SH * JB}u;
      if (r < ${BM}u) { xt[(s * ${JB}u + j) * ${BM + 1}u + r] = pre${v}; } else { wt[(s * ${JB}u + j) * ${BN + 1}u + r - ${BM}u] = pre${v}; }
    }`;
  // Each (s, j) step in its own block so x_a, w_b can be redeclared.
  const steps = ss.flatMap((s) => js.map((j) => `{
      ${as.map((a) => `let x${a} = xt[${(s * JB + j) * (BM + 1) + a * RS}u + ty];`).join(" ")}
      ${bs.map((b) => `let w${b} = wt[${(s * JB + j) * (BN + 1) + b * CS}u + tx];`).join(" ")}
      ${pairs.map(([a, b]) => `p${s}_${a}_${b} = p${s}_${a}_${b} + x${a}.x * w${b}.x; p${s}_${a}_${b} = p${s}_${a}_${b} + x${a}.y * w${b}.y; ` +
        `p${s}_${a}_${b} = p${s}_${a}_${b} + x${a}.z * w${b}.z; p${s}_${a}_${b} = p${s}_${a}_${b} + x${a}.w * w${b}.w;`).join("\n      ")}
    }`));
  return `${STEP}
@group(0) @binding(1) var<storage, read> xs: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ws: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${bias ? "@group(0) @binding(4) var<storage, read> bias: array<f32>;" : ""}
var<workgroup> xt: array<vec4<f32>, ${SH * JB * (BM + 1)}>;   // [s][j][BM rows + 1 pad]: the pad spreads a warp's stores over the banks
var<workgroup> wt: array<vec4<f32>, ${SH * JB * (BN + 1)}>;
@compute @workgroup_size(${threads}) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let M = step.T;
  if (wg.x * ${BM}u >= M) { return; }
  let tx = t % ${CS}u;
  let ty = t / ${CS}u;
  let row0 = wg.x * ${BM}u;
  let col0 = wg.y * ${BN}u;
  ${pairs.map(([a, b]) => `var o${a}_${b} = 0.0;`).join(" ")}
  ${ss.flatMap((s) => pairs.map(([a, b]) => `var p${s}_${a}_${b} = 0.0;`)).join(" ")}
  ${vs.map((v) => `var pre${v}: vec4<f32>;`).join(" ")}
  {
    let g = 0u; let j0 = 0u;
    ${vs.map(load).join("\n    ")}
  }
  for (var r = 0u; r < ${rounds}u; r++) {
    workgroupBarrier();
    ${vs.map(store).join("\n    ")}
    workgroupBarrier();
    if (r + 1u < ${rounds}u) {
      let g = (r + 1u) / ${roundsPerGroup}u; let j0 = ((r + 1u) % ${roundsPerGroup}u) * ${JB}u;
      ${vs.map(load).join("\n      ")}
    }
    ${steps.join("\n    ")}
    if (r % ${roundsPerGroup}u == ${roundsPerGroup - 1}u) {      // a group's last round: its share sums, in share order
      if (r == ${roundsPerGroup - 1}u) {
        ${pairs.map(([a, b]) => `o${a}_${b} = p0_${a}_${b};`).join(" ")}
      } else {
        ${pairs.map(([a, b]) => `o${a}_${b} = o${a}_${b} + p0_${a}_${b};`).join(" ")}
      }
      ${ss.slice(1).map((s) => pairs.map(([a, b]) => `o${a}_${b} = o${a}_${b} + p${s}_${a}_${b};`).join(" ")).join("\n      ")}
      ${ss.flatMap((s) => pairs.map(([a, b]) => `p${s}_${a}_${b} = 0.0;`)).join(" ")}
    }
  }
  ${pairs.map(([a, b]) => `{
    let row = row0 + ${a * RS}u + ty; let col = col0 + ${b * CS}u + tx;
    if (row < M && col < ${N}u) {
      let y = ${bias ? `o${a}_${b} + bias[col]` : `o${a}_${b}`};
      out[row * ${N}u + col] = ${residual ? `out[row * ${N}u + col] + y` : "y"};
    }
  }`).join("\n  ")}
}`;
}

/** The tiles tried. */
const TILES: Record<string, StagedTile> = Object.fromEntries(([
  [64, 64, 4, 4, 2, 4], [64, 64, 4, 4, 4, 4], [64, 64, 4, 4, 2, 2], [64, 128, 4, 8, 2, 4], [64, 64, 8, 4, 2, 4],
  [32, 64, 4, 4, 2, 4], [64, 32, 4, 2, 2, 4], [32, 32, 2, 2, 2, 4], [16, 64, 2, 4, 2, 4], [16, 128, 2, 8, 2, 4],
  [16, 64, 4, 4, 2, 4], [64, 64, 4, 4, 2, 8], [32, 64, 4, 4, 4, 4], [32, 64, 4, 4, 2, 8], [32, 32, 2, 2, 4, 4],
] as const).map(([BM, BN, TM, TN, SH, JB]) => [`${BM}x${BN} t${TM}x${TN} s${SH} j${JB}`, { BM, BN, TM, TN, SH, JB }]));

/** The realistic model's five matrices (`bench/gpu.ts`): N, K, and how many a forward has. */
const MATRICES = {
  qkv: { N: 2560, K: 2048, count: 16 },
  wo: { N: 2048, K: 2048, count: 16 },
  gu: { N: 11264, K: 2048, count: 16 },
  down: { N: 2048, K: 5632, count: 16 },
  lmHead: { N: 32000, K: 2048, count: 1 },
} as const;

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(line + "\n");
  const { device, adapterName } = await openGpu();
  const maxBytes = device.limits.maxComputeWorkgroupStorageSize;
  device.onuncapturederror = (e) => { throw new Error(`WebGPU error: ${(e as unknown as { error: { message: string } }).error.message}`); };
  log(`adapter: ${adapterName}; workgroup memory ${maxBytes} bytes`);
  const checkOnly = process.argv.includes("--check-only");
  const kit = gpuKit(device);
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed / 2 ** 32 - 0.5) * 2; };
  const lane = DEFAULT_TILES.large;
  /** The lane kernel's grid for T rows and N columns (`matmulSource`). */
  const laneGrid = (T: number, N: number): [number, number] => [Math.ceil(T / (lane.TM * lane.GM)), Math.ceil(N / (lane.TN * lane.GN))];
  const tiles = Object.entries(TILES).filter(([, t]) => stagedBytes(t) <= maxBytes);
  for (const [name, t] of Object.entries(TILES)) {
    if (stagedBytes(t) > maxBytes) log(`${name}: not run: needs ${stagedBytes(t)} bytes of workgroup memory, the device has ${maxBytes}`);
  }

  // bits: each tile against the lane kernel, the same inputs, with and without bias and residual
  const checks: Record<string, Record<string, boolean>> = {};
  const checkShapes: [number, MatmulShape][] = checkOnly
    ? [[37, { K: 512, N: 200, bias: true, residual: true }], [16, { K: 1536, N: 72, bias: false, residual: false }], [64, { K: 512, N: 130, bias: false, residual: true }]]
    : [[64, { K: 2048, N: 11264, bias: false, residual: false }], [37, { K: 5632, N: 2048, bias: true, residual: true }], [128, { K: 2048, N: 2560, bias: false, residual: true }]];
  for (const [T, shape] of checkShapes) {
    const x = kit.buffer(Float32Array.from({ length: T * shape.K }, rnd));
    const w = kit.buffer(Float32Array.from({ length: shape.N * shape.K }, rnd));
    const b = kit.buffer(Float32Array.from({ length: shape.N }, rnd));
    const start = Float32Array.from({ length: T * shape.N }, rnd);
    const out = kit.buffer(start);
    const run = async (code: string, grid: [number, number]) => {
      device.queue.writeBuffer(out, 0, start);
      return kit.runOnce(kit.pipeline(code), [kit.step(T), x, w, out, ...(shape.bias ? [b] : [])], grid, out, T * shape.N * 4);
    };
    const reference = await run(matmulSource(shape, lane), laneGrid(T, shape.N));
    const label = `T=${T} K=${shape.K} N=${shape.N}${shape.bias ? " bias" : ""}${shape.residual ? " residual" : ""}`;
    for (const [name, t] of tiles) {
      const unfit = stagedUnfit(shape, t);
      if (unfit !== undefined) { log(`${name}: not checked on ${label}: ${unfit}`); continue; }
      const got = await run(stagedSource(shape, t), [Math.ceil(T / t.BM), Math.ceil(shape.N / t.BN)]);
      (checks[name] ??= {})[label] = got.every((v, k) => Object.is(v, reference[k]));
    }
  }
  for (const [name, c] of Object.entries(checks)) log(`${name}: bits equal to the lane kernel: ${JSON.stringify(c)}`);
  if (checkOnly) {
    console.log(JSON.stringify({ adapter: adapterName, checks }, null, 1));
    process.exit(0);
  }

  // time: each matrix alone, its copies cycled; the forward's products summed
  const Ts = [16, 64, 128];
  const times: Record<string, Record<string, Record<string, number>>> = {};   // [tile][T][matrix] microseconds
  const laneName = `lane ${lane.TM}x${lane.TN} g${lane.GM}x${lane.GN} U${lane.U ?? 1}`;
  const inputs = Object.fromEntries(Object.entries(MATRICES).map(([matrix, m]) => {
    const data = Float32Array.from({ length: m.N * m.K }, rnd);
    const copies = Math.max(2, Math.ceil(256e6 / data.byteLength));          // over the L2 cache's 50-60 MB several times
    return [matrix, {
      weights: Array.from({ length: copies }, () => kit.buffer(data)),
      x: kit.buffer(Float32Array.from({ length: 128 * m.K }, rnd)),
      out: kit.zeros(128 * m.N * 4),
    }];
  }));
  // Every pipeline compiled before the warm-up, so no compile leaves the GPU idle between timings.
  type Candidate = [string, GPUComputePipeline, (T: number) => [number, number]];
  const pipelines: Record<string, Candidate[]> = Object.fromEntries(Object.entries(MATRICES).map(([matrix, m]) => {
    const shape: MatmulShape = { K: m.K, N: m.N, bias: false, residual: false };
    return [matrix, [
      [laneName, kit.pipeline(matmulSource(shape, lane)), (T: number) => laneGrid(T, m.N)],
      ...tiles.filter(([, t]) => stagedUnfit(shape, t) === undefined)
        .map(([name, t]) => [name, kit.pipeline(stagedSource(shape, t)), (T: number) => [Math.ceil(T / t.BM), Math.ceil(m.N / t.BN)]]),
    ] as Candidate[]];
  }));
  // An idle GPU lowers its clock (docs/webgpu.md §6): keep it busy for a second before timing.
  {
    const m = MATRICES.gu, { weights, x, out } = inputs.gu;
    const p = kit.pipeline(matmulSource({ K: m.K, N: m.N, bias: false, residual: false }, lane));
    const groups = weights.map((wb) => kit.group(p, [kit.step(64), x, wb, out]));
    for (const end = performance.now() + 1000; performance.now() < end;) await kit.timeDispatches(p, groups, laneGrid(64, m.N), 8);
  }
  for (const matrix of Object.keys(MATRICES)) {
    const { weights, x, out } = inputs[matrix];
    const copies = weights.length;
    const candidates = pipelines[matrix];
    for (const [name, p, grid] of candidates) {
      for (const T of Ts) {
        const step = kit.step(T);
        const us = 1e3 * await kit.timeDispatches(p, weights.map((wb) => kit.group(p, [step, x, wb, out])), grid(T), 4 * copies);
        ((times[name] ??= {})[`T=${T}`] ??= {})[matrix] = Math.round(us * 10) / 10;
      }
    }
    weights.forEach((b) => b.destroy());
    log(`${matrix}: ${candidates.map(([name]) => `${name} ${Ts.map((T) => times[name][`T=${T}`][matrix]).join("/")}`).join("; ")} us at T = ${Ts.join("/")}`);
  }
  const flopsPerRow = 2 * Object.values(MATRICES).reduce((s, m) => s + m.count * m.N * m.K, 0);
  const forward: Record<string, Record<string, { ms: number; tflops: number }>> = {};
  for (const [name, byT] of Object.entries(times)) {
    for (const [T, byMatrix] of Object.entries(byT)) {
      const ms = Object.entries(MATRICES).reduce((s, [matrix, m]) => s + m.count * (byMatrix[matrix] ?? NaN), 0) / 1e3;
      (forward[name] ??= {})[T] = { ms: Math.round(ms * 1e3) / 1e3, tflops: Math.round((flopsPerRow * Number(T.slice(2))) / ms / 1e8) / 10 };
    }
    log(`${name}: forward's products ${JSON.stringify(forward[name])}`);
  }
  console.log(JSON.stringify({ date: new Date().toISOString(), adapter: adapterName, card: cardName(), node: process.version, maxWorkgroupBytes: maxBytes, laneTile: lane, tiles: TILES, checks, microseconds: times, forward }, null, 1));
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
