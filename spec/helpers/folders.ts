/**
 * Spec helper: a model folder written as transformers writes one (`config.json`, `model.safetensors`),
 * with each weight in the dtype asked for — 16-bit ones included, which `saveCheckpoint` does not write —
 * and random values drawn as bit patterns, so that every value is exactly what its dtype holds.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toHfConfig, type ModelConfig } from "../../src/model/config.ts";
import { paramSpecs } from "../../src/model/params.ts";
import type { SafetensorsDType } from "../../src/model/safetensors.ts";
import { Rng } from "../../src/tensor/random.ts";

const BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

/**
 * Random bits of one value of `dtype`, of magnitude below 1: BF16 and F32 with exponents 2^-9 .. 2^-1;
 * F16 a quarter of them subnormal (below 2^-14: what a GPU may flush to zero), the rest 2^-7 .. 2^-1;
 * F64 any double in (-1, 1). Norm gains (`gain`) are 0.5 .. 1.5 in every dtype.
 */
function randomValue(view: DataView, at: number, dtype: SafetensorsDType, rng: Rng, gain: boolean): void {
  const sign = rng.uniform() < 0.5 ? -1 : 1;
  if (dtype === "F64") view.setFloat64(at, gain ? 0.5 + rng.uniform() : sign * rng.uniform(), true);
  else if (dtype === "F32") view.setFloat32(at, gain ? 0.5 + rng.uniform() : sign * rng.uniform() * 2 ** -rng.int(9), true);
  else if (dtype === "BF16") view.setUint16(at, gain ? 0x3f00 + rng.int(128) : (sign < 0 ? 0x8000 : 0) | ((118 + rng.int(8)) << 7) | rng.int(128), true);
  else {
    const exponent = gain ? 14 + rng.int(2) : rng.uniform() < 0.25 ? 0 : 8 + rng.int(7);
    view.setUint16(at, (!gain && sign < 0 ? 0x8000 : 0) | (exponent << 10) | (exponent === 0 ? 1 + rng.int(1023) : rng.int(1024)), true);
  }
}

/**
 * Writes `config.json` and `model.safetensors` for `config` into `dir`: every weight random (see
 * `randomValue`), in `dtypeOf(name)` (a Hugging Face name), else `dtype`.
 */
export function writeRandomFolder(dir: string, config: ModelConfig, seed: number, dtype: SafetensorsDType, dtypeOf: (name: string) => SafetensorsDType | undefined = () => undefined): void {
  const rng = new Rng(seed);
  const specs = paramSpecs(config).map((s) => ({ ...s, dtype: dtypeOf(s.name) ?? dtype, count: s.shape.reduce((a, b) => a * b, 1) }));
  let offset = 0;
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  for (const s of specs) {
    header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [offset, offset + s.count * BYTES[s.dtype]] };
    offset += s.count * BYTES[s.dtype];
  }
  const json = Buffer.from(JSON.stringify(header).padEnd(8 * Math.ceil(JSON.stringify(header).length / 8)));
  const bytes = new Uint8Array(8 + json.length + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  let at = 8 + json.length;
  for (const s of specs) {
    for (let i = 0; i < s.count; i++, at += BYTES[s.dtype]) randomValue(view, at, s.dtype, rng, s.name.endsWith("norm.weight") || s.name.endsWith("layernorm.weight"));
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "model.safetensors"), bytes);
  writeFileSync(join(dir, "config.json"), JSON.stringify(toHfConfig(config), null, 2));
}
