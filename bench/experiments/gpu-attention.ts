/**
 * The experiment behind the attention kernel (docs/webgpu.md §6, which has its numbers). Before it,
 * attention was most of the forward's non-matmul time from T = 32 on, for little arithmetic.
 *
 * The variants, all on the realistic model's heads (32 query heads, 4 key/value heads, head size 64),
 * timed side by side in one run over 16 layers' caches, and each compared with the previous kernel
 * (bit for bit, and the largest difference), causal and masked, after P cached rows:
 *
 * - `previous`: the backend's kernel before (commit a757dca), scores for up to 2048 positions in
 *   workgroup memory; each of D threads summed the exps itself, then `(p_j / sum) v_j` over the keys,
 *   skipping invisible ones, a division a key.
 * - `previous-256`: the same text with room for 256 positions — does workgroup memory limit occupancy?
 * - `vec4-keys`: the query in registers, each key's row read as 16 vec4 loads, all issued before the
 *   first add (the same sequential dot over d). The previous kernel read a key's row one float at a
 *   time, each load of a warp touching 32 rows.
 * - `vec4-keys-normalized` (and `-256`): also, invisible keys' scores set to 0, the sum of the exps
 *   taken once by one thread, and each score divided by it once (in parallel), so the loop over the
 *   values is branch-free and has no division. The same operations on every visible key; an exact 0
 *   added to a sum leaves it unchanged, so the bits are those of `vec4-keys`.
 * - `vec4-keys-unnormalized`: `sum_j p_j v_j` by threads d < D while thread D sums the exps, then one
 *   division an output.
 * - `backend`: the backend's kernel now (`attentionSource`): the same, a product whose p_j is 0 replaced
 *   by 0, the exps summed by thread 127 (the same sum), and 0 for a row that sees no key.
 *
 * Every `vec4-keys` variant is the backend's first two parts (`attentionParts`: bindings, scores, max)
 * followed by its own third part.
 *
 * Prints one JSON object (the raw results); a summary goes to stderr. Usage:
 * `npx tsx bench/experiments/gpu-attention.ts` (under SwiftShader, with `--check-only`, it checks the bits
 * and times nothing); on the lent GPU the bundle `dist/webgpu/gpu-attention.mjs` (`npm run build:gpu`).
 * Numbers from one run compare only with each other.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { STEP, attentionParts, attentionSource } from "../../src/backend/webgpu/wgsl.ts";
import { cardName } from "../gpu-probe.ts";
import { gpuKit, openGpu } from "./gpu-kit.ts";

const H = 32, Hkv = 4, D = 64, R = 2048, LAYERS = 16;
const Q = (H + 2 * Hkv) * D, W = Hkv * D;
const NEG_INF = "-0x1.fffffep+127f";
const SCALE = String(Math.fround(1 / Math.sqrt(D)));

/**
 * The backend's kernel before this experiment (commit a757dca), verbatim: its bindings, scores and max
 * (this function), then its third part (`previousTail`) and the closing brace.
 */
function previousSource(maxPositions: number): string {
  return `${previousHead(maxPositions)}\n${previousTail(maxPositions)}\n}`;
}

/** The previous kernel up to its max, `m`. */
function previousHead(maxPositions: number): string {
  return `${STEP}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;       // [T, L] bits
@group(0) @binding(5) var<storage, read_write> out: array<f32>;  // [T, H*D]
var<workgroup> scores: array<f32, ${maxPositions}>;
var<workgroup> red: array<f32, 128>;
fn visible(i: u32, j: u32) -> bool {
  if (step.hasMask == 0u) { return j <= step.P + i; }
  let bit = i * step.L + j;
  return ((mask[bit / 32u] >> (bit % 32u)) & 1u) == 1u;
}
@compute @workgroup_size(128) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let h = wg.x;
  let i = wg.y;
  if (i >= step.T) { return; }
  let qo = i * ${Q}u + h * ${D}u;
  let ko = (h / ${H / Hkv}u) * ${D}u;
  let end = select(step.P + i + 1u, step.L, step.hasMask == 1u);
  // scores and their max
  var mx = ${NEG_INF};
  for (var j = t; j < end; j += 128u) {
    if (visible(i, j)) {
      var dot = 0.0;
      for (var d = 0u; d < ${D}u; d++) { dot = dot + qkv[qo + d] * keys[j * ${W}u + ko + d]; }
      let s = dot * ${SCALE};
      scores[j] = s;
      mx = max(mx, s);
    }
  }
  red[t] = mx;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();`;
}

/** The previous kernel's exps and weighted sums: each of the D threads sums the exps, then `(p_j / sum) v_j`, a division a key. */
function previousTail(maxPositions: number): string {
  return `  // exp, after subtracting the max so that nothing overflows
  for (var j = t; j < end; j += 128u) {
    if (visible(i, j)) { scores[j] = exp(scores[j] - m); }
  }
  workgroupBarrier();
  // the sum of the exps and the weighted sum of values, one thread per output element, visible keys in
  // ascending order: the order depends on which keys are visible, never on where they sit in the cache
  for (var d = t; d < ${D}u; d += 128u) {
    var total = 0.0;
    for (var j = 0u; j < end; j++) {
      if (visible(i, j)) { total = total + scores[j]; }
    }
    var acc = 0.0;
    // Four values loaded before any is added (their latencies overlap), then added in key order: the same
    // additions as one key at a time. One loop, no remainder loop, so every key goes through the same code.
    for (var j = 0u; j < end; j += 4u) {
      let v0 = values[j * ${W}u + ko + d];
      let v1 = values[min(j + 1u, ${maxPositions - 1}u) * ${W}u + ko + d];
      let v2 = values[min(j + 2u, ${maxPositions - 1}u) * ${W}u + ko + d];
      let v3 = values[min(j + 3u, ${maxPositions - 1}u) * ${W}u + ko + d];
      if (visible(i, j)) { acc = acc + (scores[j] / total) * v0; }
      if (j + 1u < end && visible(i, j + 1u)) { acc = acc + (scores[j + 1u] / total) * v1; }
      if (j + 2u < end && visible(i, j + 2u)) { acc = acc + (scores[j + 2u] / total) * v2; }
      if (j + 3u < end && visible(i, j + 3u)) { acc = acc + (scores[j + 3u] / total) * v3; }
    }
    out[i * ${H * D}u + h * ${D}u + d] = acc;
  }`;
}

/** The backend's first two parts (vec4 scores, their max) and `weighted`, the variant's third part. */
function variant(positions: number, weighted: string): string {
  const { prelude, scores } = attentionParts(H, Hkv, D, positions);
  return `${prelude}\n${scores}\n${weighted}\n}`;
}

/** p_j = exp(s_j - m), an exact 0 for invisible keys and the 4 slots past the end. */
const ZEROED_EXPS = `  for (var j = t; j < end + 4u; j += 128u) {
    var p = 0.0;
    if (j < end && visible(i, j)) { p = exp(scores[j] - m); }
    scores[j] = p;
  }
  workgroupBarrier();`;

/** `acc = acc + scores[j + k] v_k` over the keys in order, four values loaded before any is added, for output d. */
function valuesAhead(positions: number, d: string): string {
  return `    for (var j = 0u; j < end; j += 4u) {
${[0, 1, 2, 3].map((k) => `      let v${k} = values[${k === 0 ? "j" : `min(j + ${k}u, ${positions - 1}u)`} * ${W}u + ko + ${d}];`).join("\n")}
${[0, 1, 2, 3].map((k) => `      acc = acc + scores[j${k === 0 ? "" : ` + ${k}u`}] * v${k};`).join("\n")}
    }`;
}

/** Normalized: the exps summed once by one thread, each score divided by the sum once (in parallel). */
function normalizedTail(positions: number): string {
  return `${ZEROED_EXPS}
  if (t == 0u) {
    var total = 0.0;
    for (var j = 0u; j < end; j++) { total = total + scores[j]; }
    expSum = total;
  }
  workgroupBarrier();
  for (var j = t; j < end; j += 128u) { scores[j] = scores[j] / expSum; }
  workgroupBarrier();
  for (var d = t; d < ${D}u; d += 128u) {
    var acc = 0.0;
${valuesAhead(positions, "d")}
    out[i * ${H * D}u + h * ${D}u + d] = acc;
  }`;
}

/**
 * Unnormalized: `acc = sum_j p_j v_j` by threads 0 .. D-1 while thread D sums the exps, then
 * `out = acc / total` — one division an output, and the sum off the path. Different bits from the
 * previous kernel (the division comes last), the same for every T.
 */
function unnormalizedTail(positions: number): string {
  return `${ZEROED_EXPS}
  var acc = 0.0;
  if (t < ${D}u) {
${valuesAhead(positions, "t")}
  } else if (t == ${D}u) {
    var total = 0.0;
    for (var j = 0u; j < end; j++) { total = total + scores[j]; }
    expSum = total;
  }
  workgroupBarrier();
  if (t < ${D}u) { out[i * ${H * D}u + h * ${D}u + t] = acc / expSum; }`;
}

const VARIANTS: Record<string, { code: string; positions: number }> = {
  previous: { code: previousSource(R), positions: R },
  "previous-256": { code: previousSource(256), positions: 256 },
  "vec4-keys": { code: variant(R, previousTail(R)), positions: R },
  "vec4-keys-normalized": { code: variant(R, normalizedTail(R)), positions: R },
  "vec4-keys-normalized-256": { code: variant(256, normalizedTail(256)), positions: 256 },
  "vec4-keys-unnormalized": { code: variant(R, unnormalizedTail(R)), positions: R },
  backend: { code: attentionSource(H, Hkv, D, R), positions: R },
};

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(line + "\n");
  const { device, adapterName } = await openGpu();
  log(`adapter: ${adapterName}`);
  const quick = process.argv.includes("--quick");

  let seed = 987654321;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed / 2 ** 32 - 0.5) * 2; };
  const kit = gpuKit(device);
  const Tmax = 256;
  const qkv = kit.buffer(Float32Array.from({ length: Tmax * Q }, rnd));
  const layers = quick ? 2 : LAYERS;
  const keys = Array.from({ length: layers }, () => kit.buffer(Float32Array.from({ length: R * W }, rnd)));
  const values = Array.from({ length: layers }, () => kit.buffer(Float32Array.from({ length: R * W }, rnd)));
  const out = kit.buffer(new Float32Array(Tmax * H * D));
  const pipelines = Object.fromEntries(Object.entries(VARIANTS).map(([name, { code }]) => [name, kit.pipeline(code)]));

  /** A random visibility mask over [T, L] that keeps at least key 0 for every row. */
  const maskFor = (T: number, L: number) => {
    const bits = new Uint32Array(Math.ceil((T * L) / 32) + 1);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < L; j++) {
        if (j === 0 || rnd() > 0) bits[(i * L + j) >> 5] |= 1 << ((i * L + j) & 31);
      }
    }
    return bits;
  };

  const runOnce = (name: string, T: number, P: number, masked: boolean): Promise<Float32Array> => {
    const mask = kit.buffer(masked ? maskFor(T, P + T) : new Uint32Array(4));
    device.queue.writeBuffer(out, 0, new Float32Array(Tmax * H * D));
    return kit.runOnce(pipelines[name], [kit.step(T, P, masked), qkv, keys[0], values[0], mask, out], [H, T], out, T * H * D * 4);
  };

  // bits against the previous kernel (the same random mask: reseed before each)
  const checks: Record<string, Record<string, boolean | number>> = {};
  const cases = [[37, 5, false], [37, 5, true], [64, 32, false], [256, 0, false]] as const;
  const reference: Float32Array[] = [];
  for (const [c, [T, P, masked]] of cases.entries()) {
    seed = 42 + c;
    reference.push(await runOnce("previous", T, P, masked));
  }
  for (const name of Object.keys(VARIANTS)) {
    checks[name] = {};
    for (const [c, [T, P, masked]] of cases.entries()) {
      if (P + T > VARIANTS[name].positions) continue;
      seed = 42 + c;
      const got = await runOnce(name, T, P, masked);
      const label = `T=${T} P=${P}${masked ? " masked" : ""}`;
      checks[name][label] = got.every((v, k) => Object.is(v, reference[c][k]));
      const largest = reference[c].reduce((mx, v) => Math.max(mx, Math.abs(v)), 0);
      checks[name][`${label}: max difference / largest output`] = got.reduce((mx, v, k) => Math.max(mx, Math.abs(v - reference[c][k])), 0) / largest;
    }
    log(`${name}: bits equal to the previous kernel: ${JSON.stringify(checks[name])}`);
  }

  if (process.argv.includes("--check-only")) {
    console.log(JSON.stringify({ adapter: adapterName, checks }, null, 1));
    process.exit(0);
  }

  // time: dispatches cycling the layers' caches in one pass (GpuKit.timeDispatches)
  const times: Record<string, Record<string, number>> = {};
  const sizes = [[1, 32], [16, 32], [64, 32], [128, 0], [256, 0]] as const;
  for (const name of Object.keys(VARIANTS)) {
    times[name] = {};
    const p = pipelines[name];
    for (const [T, P] of sizes) {
      if (P + T > VARIANTS[name].positions) continue;
      const step = kit.step(T, P);
      const mask = kit.buffer(new Uint32Array(4));
      const perLayer = await kit.timeDispatches(p, keys.map((k, l) => kit.group(p, [step, qkv, k, values[l], mask, out])), [H, T], quick ? 2 : 4 * LAYERS);
      times[name][`T=${T} P=${P}`] = Math.round(perLayer * LAYERS * 1e3) / 1e3;     // ms for 16 layers
    }
    log(`${name}: ms for ${LAYERS} layers: ${JSON.stringify(times[name])}`);
  }
  console.log(JSON.stringify({ date: new Date().toISOString(), adapter: adapterName, card: cardName(), node: process.version, heads: { H, Hkv, D, R, layers: LAYERS }, checks, msFor16Layers: times }, null, 1));
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
