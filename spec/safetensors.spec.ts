/**
 * Tests for the safetensors reader/writer and for atomic file writes.
 *
 * Covers exact round trips (F64 bit-for-bit, F32 for float32-representable
 * values), hand-built F16/BF16 files with known bit patterns, one test per
 * class of malformed file (each must be a CheckpointError with a helpful
 * message), fuzzing that checks the reader never throws anything else, and
 * the atomic writer. It does not test interoperability against files made
 * by the Python library beyond a golden byte layout.
 *
 * @module
 */

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsHeader,
  type StoredTensor,
} from "../src/model/safetensors.ts";
import { writeFileAtomic } from "../src/util/atomic-write.ts";

// ---------------------------------------------------------------- helpers

/** Builds a file from a header object (or raw header text) and raw data bytes, padding nothing. */
function buildFile(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

/** Little-endian bytes of 16-bit patterns. */
function u16Bytes(patterns: readonly number[]): Uint8Array {
  const out = new Uint8Array(patterns.length * 2);
  const view = new DataView(out.buffer);
  patterns.forEach((bits, i) => view.setUint16(2 * i, bits, true));
  return out;
}

/** Raw bit patterns of a Float64Array, for bit-exact comparison (NaN payloads included). */
function bitsOf(data: Float64Array): bigint[] {
  return Array.from(new BigUint64Array(data.buffer, data.byteOffset, data.length));
}

/** Runs `decode` and returns the CheckpointError it throws (failing if it throws anything else or nothing). */
function checkpointErrorOf(bytes: Uint8Array, file = "model.safetensors"): CheckpointError {
  try {
    decodeSafetensors(bytes, file);
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return error as CheckpointError;
  }
  throw new Error("expected decodeSafetensors to throw");
}

/** A valid single-tensor F32 header with 16 bytes of data, to be tweaked per test. */
function oneTensor(entry: Record<string, unknown>, dataBytes = 16): Uint8Array {
  return buildFile({ "model.norm.weight": entry }, new Uint8Array(dataBytes));
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });
const nameArb = fc.string({ unit: "binary", maxLength: 12 }).filter((name) => name !== "__metadata__");

/** Tensors with unique names, random shapes (scalars and 0-sized dims included) and the given values. */
function tensorsArb(value: fc.Arbitrary<number>): fc.Arbitrary<StoredTensor[]> {
  return fc
    .uniqueArray(nameArb, { maxLength: 5 })
    .chain((names) =>
      fc.tuple(
        ...names.map((name) =>
          shapeArb.chain((shape) => {
            const size = shape.reduce((a, b) => a * b, 1);
            return fc
              .array(value, { minLength: size, maxLength: size })
              .map((values): StoredTensor => ({ name, shape, data: Float64Array.from(values) }));
          }),
        ),
      ),
    );
}

// ---------------------------------------------------------------- round trips

describe("encodeSafetensors / decodeSafetensors round trip", () => {
  it("is bit-exact for F64, for any 64-bit pattern (NaN payloads included)", () => {
    // Build the data from raw 64-bit words so the input carries every kind of
    // pattern: NaNs with payloads, -0, subnormals, infinities.
    const tensors = tensorsArb(fc.constant(0)).chain((ts) =>
      fc.tuple(
        ...ts.map((t) =>
          fc
            .array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: t.data.length, maxLength: t.data.length })
            .map((words): StoredTensor => ({ ...t, data: new Float64Array(BigUint64Array.from(words).buffer) })),
        ),
      ),
    );
    fc.assert(
      fc.property(tensors, (input) => {
        const { tensors: out, metadata } = decodeSafetensors(encodeSafetensors(input, { dtype: "F64" }), "t.safetensors");
        expect(metadata).toEqual({});
        expect([...out.keys()]).toEqual(input.map((t) => t.name));
        for (const t of input) {
          const got = out.get(t.name)!;
          expect(got.dtype).toBe("F64");
          expect(got.shape).toEqual(t.shape);
          expect(bitsOf(got.data)).toEqual(bitsOf(t.data));
        }
      }),
      { numRuns: 150 },
    );
  });

  it("is exact for F32 when values are float32-representable (±0, ±Infinity, NaN, subnormals)", () => {
    fc.assert(
      fc.property(tensorsArb(fc.float()), (input) => {
        const { tensors: out } = decodeSafetensors(encodeSafetensors(input), "t.safetensors");
        expect([...out.keys()]).toEqual(input.map((t) => t.name));
        for (const t of input) {
          const got = out.get(t.name)!;
          expect(got.dtype).toBe("F32");
          expect(got.shape).toEqual(t.shape);
          expect(got.data.length).toBe(t.data.length);
          // Object.is: distinguishes -0 from 0 and treats NaN as equal to NaN.
          t.data.forEach((v, i) => expect(Object.is(got.data[i], v)).toBe(true));
        }
      }),
      { numRuns: 150 },
    );
  });

  it("rounds F64 values to the nearest float32 when writing F32", () => {
    const data = Float64Array.from([0.1, 1 / 3, 1e-50, 1e50]);
    const { tensors } = decodeSafetensors(encodeSafetensors([{ name: "x", shape: [4], data }]), "t");
    expect(Array.from(tensors.get("x")!.data)).toEqual([Math.fround(0.1), Math.fround(1 / 3), 0, Infinity]);
  });

  it("round-trips metadata, including awkward keys", () => {
    const metadataArb = fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), fc.string({ unit: "binary", maxLength: 8 }), {
      noNullPrototype: true,
    });
    fc.assert(
      fc.property(metadataArb, (metadata) => {
        const t: StoredTensor = { name: "w", shape: [1], data: Float64Array.of(2) };
        const out = decodeSafetensors(encodeSafetensors([t], { metadata }), "t").metadata;
        expect(Object.entries(out).sort()).toEqual(Object.entries(metadata).sort());
      }),
      { numRuns: 100 },
    );
    const tricky = JSON.parse('{"__proto__": "p", "0": "zero", "format": "pt"}') as Record<string, string>;
    const out = decodeSafetensors(encodeSafetensors([], { metadata: tricky }), "t").metadata;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, "__proto__")?.value).toBe("p");
    expect(out["format"]).toBe("pt");
  });

  it("keeps file order for integer-like names and a tensor named __proto__", () => {
    const names = ["b", "10", "2", "__proto__", "a"];
    const input = names.map((name, i): StoredTensor => ({ name, shape: [], data: Float64Array.of(i) }));
    const { tensors } = decodeSafetensors(encodeSafetensors(input), "t");
    expect([...tensors.keys()]).toEqual(names);
    expect(tensors.get("__proto__")!.data[0]).toBe(3);
  });

  it("writes the golden layout: space-padded header, 8-byte aligned data", () => {
    const bytes = encodeSafetensors([{ name: "a", shape: [2], data: Float64Array.of(1, -2) }]);
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = header.padEnd(Math.ceil(header.length / 8) * 8, " ");
    const view = new DataView(bytes.buffer);
    expect(view.getBigUint64(0, true)).toBe(BigInt(padded.length));
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + padded.length))).toBe(padded);
    expect((8 + padded.length) % 8).toBe(0);
    expect(Array.from(bytes.subarray(8 + padded.length))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  });

  it("reads from a Buffer that sits at an odd offset in a larger ArrayBuffer", () => {
    const file = encodeSafetensors([{ name: "w", shape: [3], data: Float64Array.of(1.5, -2, 3) }], { dtype: "F64" });
    const backing = new ArrayBuffer(file.byteLength + 3);
    const shifted = Buffer.from(backing, 3, file.byteLength);
    shifted.set(file);
    expect(Array.from(decodeSafetensors(shifted, "t").tensors.get("w")!.data)).toEqual([1.5, -2, 3]);
  });

  it("rejects inconsistent input when writing", () => {
    const w = (name: string, shape: number[], n: number): StoredTensor => ({ name, shape, data: new Float64Array(n) });
    expect(() => encodeSafetensors([w("a", [2], 3)])).toThrow(/shape \[2\] does not match 3 values/);
    expect(() => encodeSafetensors([w("a", [1], 1), w("a", [1], 1)])).toThrow(/duplicate/);
    expect(() => encodeSafetensors([w("__metadata__", [1], 1)])).toThrow(/reserved/);
    expect(() => encodeSafetensors([w("a", [-1], 0)])).toThrow(/non-negative/);
  });
});

// ---------------------------------------------------------------- half precision

describe("F16 and BF16 decoding", () => {
  it("decodes known F16 bit patterns exactly", () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x7bff, 65504],
      [0x0001, 2 ** -24], // smallest subnormal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0400, 2 ** -14], // smallest normal
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
      [0x7e00, NaN],
      [0x7c01, NaN], // signalling-style NaN is still NaN
      [0x3800, 0.5],
      [0x3555, 0.333251953125],
      [0x0000, 0],
      [0x8000, -0],
    ];
    const file = buildFile(
      { h: { dtype: "F16", shape: [cases.length], data_offsets: [0, 2 * cases.length] } },
      u16Bytes(cases.map(([bits]) => bits)),
    );
    const t = decodeSafetensors(file, "half.safetensors").tensors.get("h")!;
    expect(t.dtype).toBe("F16");
    cases.forEach(([bits, want], i) => expect(Object.is(t.data[i], want), `0x${bits.toString(16)}`).toBe(true));
  });

  it("decodes every F16 pattern monotonically and symmetrically", () => {
    const all = Array.from({ length: 0x10000 }, (_, i) => i);
    const file = buildFile({ h: { dtype: "F16", shape: [0x10000], data_offsets: [0, 0x20000] } }, u16Bytes(all));
    const data = decodeSafetensors(file, "t").tensors.get("h")!.data;
    // Collect failures and assert once: 65536 separate expects would be slow.
    const wrong: string[] = [];
    for (let bits = 1; bits <= 0x7c00; bits++) if (!(data[bits]! > data[bits - 1]!)) wrong.push(`order 0x${bits.toString(16)}`);
    for (let bits = 0; bits < 0x8000; bits++) {
      if (!Object.is(data[bits | 0x8000], -data[bits]!)) wrong.push(`sign 0x${bits.toString(16)}`);
      if (bits > 0x7c00 && !Number.isNaN(data[bits])) wrong.push(`NaN 0x${bits.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("decodes known BF16 bit patterns exactly", () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc000, -2],
      [0x3f00, 0.5],
      [0x477f, 65280],
      [0x7f7f, (2 - 2 ** -7) * 2 ** 127], // largest finite
      [0x0001, 2 ** -133], // smallest subnormal
      [0x0080, 2 ** -126], // smallest normal
      [0x7f80, Infinity],
      [0xff80, -Infinity],
      [0x7fc0, NaN],
      [0x8000, -0],
    ];
    const file = buildFile(
      { b: { dtype: "BF16", shape: [cases.length], data_offsets: [0, 2 * cases.length] } },
      u16Bytes(cases.map(([bits]) => bits)),
    );
    const t = decodeSafetensors(file, "t").tensors.get("b")!;
    expect(t.dtype).toBe("BF16");
    cases.forEach(([bits, want], i) => expect(Object.is(t.data[i], want), `0x${bits.toString(16)}`).toBe(true));
  });

  it("agrees with float32 reinterpretation for every BF16 pattern", () => {
    const all = Array.from({ length: 0x10000 }, (_, i) => i);
    const file = buildFile({ b: { dtype: "BF16", shape: [256, 256], data_offsets: [0, 0x20000] } }, u16Bytes(all));
    const data = decodeSafetensors(file, "t").tensors.get("b")!.data;
    const scratch = new DataView(new ArrayBuffer(4));
    const wrong = all.filter((bits) => {
      scratch.setUint32(0, bits << 16);
      return !Object.is(data[bits], scratch.getFloat32(0));
    });
    expect(wrong).toEqual([]);
  });
});

// ---------------------------------------------------------------- malformed files

describe("malformed files are CheckpointErrors with helpful messages", () => {
  it("rejects a file shorter than the length prefix", () => {
    const e = checkpointErrorOf(new Uint8Array(5));
    expect(e.message).toBe("model.safetensors: file is 5 bytes, too short for the 8-byte header length prefix");
    expect(e.file).toBe("model.safetensors");
    expect(e.tensor).toBeUndefined();
  });

  it("rejects a header length past the end of the file", () => {
    const bytes = buildFile({});
    new DataView(bytes.buffer).setBigUint64(0, 100n, true);
    expect(checkpointErrorOf(bytes).message).toContain("header length 100 runs past the end of the file");
  });

  it("rejects an absurd header length without allocating for it", () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expect(checkpointErrorOf(bytes).message).toContain("exceeds the 100000000-byte limit");
  });

  it("rejects a truncated file", () => {
    const good = encodeSafetensors([{ name: "w", shape: [4], data: new Float64Array(4) }]);
    expect(checkpointErrorOf(good.subarray(0, 20)).message).toContain("runs past the end of the file");
    expect(checkpointErrorOf(good.subarray(0, good.byteLength - 1)).message).toContain(
      "run past the end of the data section",
    );
  });

  it("readSafetensorsHeader reads a header from the file's first bytes, and says so when they stop before its end", () => {
    const good = encodeSafetensors([{ name: "w", shape: [4], data: new Float64Array(4) }]);
    const { dataStart, entries } = readSafetensorsHeader(good, "m.safetensors");
    expect(readSafetensorsHeader(good.subarray(0, dataStart), "m.safetensors", good.byteLength).entries).toEqual(entries);
    for (const given of [5, dataStart - 1]) {
      expect(() => readSafetensorsHeader(good.subarray(0, given), "m.safetensors", good.byteLength))
        .toThrow(new RangeError(`safetensors: m.safetensors: given its first ${given} bytes, but the header ends at byte ${given === 5 ? 8 : dataStart}; pass at least the length prefix and the header`));
    }
  });

  it("rejects a header that is not JSON, not UTF-8, or not an object", () => {
    expect(checkpointErrorOf(buildFile("{not json")).message).toContain("header is not valid JSON");
    const badUtf8 = buildFile("{}  ");
    badUtf8[9] = 0xff;
    expect(checkpointErrorOf(badUtf8).message).toContain("header is not valid UTF-8");
    expect(checkpointErrorOf(buildFile([])).message).toContain("header must be a JSON object, got an array");
    expect(checkpointErrorOf(buildFile("null")).message).toContain("header must be a JSON object, got null");
  });

  it("rejects byte ranges out of bounds or reversed", () => {
    const past = checkpointErrorOf(oneTensor({ dtype: "F32", shape: [8], data_offsets: [0, 32] }));
    expect(past.message).toBe(
      'model.safetensors: tensor "model.norm.weight": data_offsets [0, 32] run past the end of the data section (16 bytes)',
    );
    expect(past.tensor).toBe("model.norm.weight");
    expect(checkpointErrorOf(oneTensor({ dtype: "F32", shape: [0], data_offsets: [8, 4] })).message).toContain(
      "data_offsets [8, 4] end before they begin",
    );
    expect(checkpointErrorOf(oneTensor({ dtype: "F32", shape: [1], data_offsets: [-4, 0] })).message).toContain(
      '"data_offsets" must be two non-negative integers, got [-4, 0]',
    );
    expect(checkpointErrorOf(oneTensor({ dtype: "F32", shape: [1], data_offsets: [0] })).message).toContain(
      '"data_offsets" must be [begin, end]',
    );
    // Beyond 2^53 offsets are no longer exact integers, so they are refused outright.
    expect(checkpointErrorOf(oneTensor({ dtype: "F32", shape: [1], data_offsets: [0, 1e300] })).message).toContain(
      "must be two non-negative integers, got [0, 1e+300]",
    );
  });

  it("rejects overlapping byte ranges", () => {
    const bytes = buildFile(
      {
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      },
      new Uint8Array(12),
    );
    const e = checkpointErrorOf(bytes);
    expect(e.message).toBe('model.safetensors: tensor "b": data_offsets [4, 12] overlap tensor "a" at [0, 8]');
    expect(e.tensor).toBe("b");
  });

  it("allows empty tensors at shared boundaries, which occupy no bytes", () => {
    const bytes = buildFile(
      {
        b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
        e: { dtype: "F32", shape: [0, 3], data_offsets: [4, 4] },
        a: { dtype: "F32", shape: [], data_offsets: [0, 4] },
      },
      new Uint8Array(8),
    );
    expect([...decodeSafetensors(bytes, "t").tensors.keys()]).toEqual(["a", "e", "b"]);
  });

  it("rejects an unknown dtype, naming it", () => {
    const e = checkpointErrorOf(oneTensor({ dtype: "I32", shape: [4], data_offsets: [0, 16] }));
    expect(e.message).toContain('tensor "model.norm.weight": unsupported dtype "I32"');
    expect(checkpointErrorOf(oneTensor({ dtype: 4, shape: [4], data_offsets: [0, 16] })).message).toContain(
      '"dtype" must be a string, got 4',
    );
  });

  it("rejects a shape whose byte count does not match the range", () => {
    const e = checkpointErrorOf(oneTensor({ dtype: "F32", shape: [4], data_offsets: [0, 12] }));
    expect(e.message).toBe(
      'model.safetensors: tensor "model.norm.weight": data_offsets [0, 12] hold 12 bytes but shape [4] of F32 needs 16',
    );
    // Scalars need one element.
    expect(checkpointErrorOf(oneTensor({ dtype: "F16", shape: [], data_offsets: [0, 0] })).message).toContain(
      "hold 0 bytes but shape [] of F16 needs 2",
    );
    // A gigantic shape is refused without computing or allocating its product.
    const huge = checkpointErrorOf(
      oneTensor({ dtype: "F64", shape: [2 ** 52, 2 ** 52, 2 ** 52], data_offsets: [0, 16] }),
    );
    expect(huge.message).toContain("needs more than 2^53");
  });

  it("rejects malformed shapes, entries and metadata", () => {
    const bad = (entry: unknown): string =>
      checkpointErrorOf(buildFile({ w: entry }, new Uint8Array(16))).message;
    expect(bad([1, 2])).toContain('tensor "w": entry must be a JSON object, got an array of length 2');
    expect(bad({ dtype: "F32", shape: [4] })).toContain('missing field "data_offsets"');
    expect(bad({ dtype: "F32", shape: [4], data_offsets: [0, 16], extra: 1 })).toContain('unexpected field "extra"');
    expect(bad({ dtype: "F32", shape: "4", data_offsets: [0, 16] })).toContain('"shape" must be an array');
    expect(bad({ dtype: "F32", shape: [2, -2], data_offsets: [0, 16] })).toContain('"shape" dimension 1 is -2');
    expect(bad({ dtype: "F32", shape: [1.5], data_offsets: [0, 16] })).toContain('"shape" dimension 0 is 1.5');
    expect(bad({ dtype: "F32", shape: [2 ** 60], data_offsets: [0, 16] })).toContain("dimensions must be non-negative integers");

    const meta = (value: unknown): string => checkpointErrorOf(buildFile({ __metadata__: value })).message;
    expect(meta({ format: 1 })).toContain('"__metadata__" value for key "format" must be a string, got 1');
    expect(meta(["pt"])).toContain('"__metadata__" must be an object of strings');
  });

  it("starts every message with the file name, even for odd file names", () => {
    expect(checkpointErrorOf(new Uint8Array(0), "dir/ckpt 1.safetensors").message).toMatch(/^dir\/ckpt 1\.safetensors: /);
  });
});

// ---------------------------------------------------------------- fuzzing

describe("fuzzing: the reader returns a valid result or throws CheckpointError, nothing else", () => {
  const seed = encodeSafetensors(
    [
      { name: "embed", shape: [2, 3], data: Float64Array.of(1, 2, 3, 4, 5, 6) },
      { name: "norm", shape: [], data: Float64Array.of(0.5) },
      { name: "empty", shape: [0, 4], data: new Float64Array(0) },
    ],
    { metadata: { format: "pt" } },
  );

  /** Decodes, and for a successful decode checks the result is internally consistent. */
  function decodeOrCheckpointError(bytes: Uint8Array): void {
    try {
      const { tensors, metadata } = decodeSafetensors(bytes, "fuzz.safetensors");
      for (const value of Object.values(metadata)) expect(typeof value).toBe("string");
      for (const [name, t] of tensors) {
        expect(t.name).toBe(name);
        expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
      }
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      expect(error.message.startsWith("fuzz.safetensors: ")).toBe(true);
    }
  }

  it("survives random byte edits and truncations", () => {
    const edit = fc.record({ at: fc.nat({ max: seed.byteLength - 1 }), byte: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), fc.option(fc.nat({ max: seed.byteLength })), (edits, cut) => {
        const bytes = seed.slice();
        for (const { at, byte } of edits) bytes[at] = byte;
        decodeOrCheckpointError(cut === null ? bytes : bytes.subarray(0, cut));
      }),
      { numRuns: 300 },
    );
  });

  it("survives arbitrary JSON in every header field", () => {
    const field = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom("F32", "F16", "BF16", "F64", "I8"),
      fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 3 }),
      fc.tuple(fc.integer({ min: -4, max: 40 }), fc.integer({ min: -4, max: 40 })),
    );
    const entry = fc.oneof(
      fc.record({ dtype: field, shape: field, data_offsets: field }),
      fc.record({ dtype: field, shape: field, data_offsets: field }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const header = fc.dictionary(fc.constantFrom("a", "b", "c", "__metadata__"), entry, { noNullPrototype: true });
    fc.assert(
      fc.property(header, fc.nat({ max: 40 }), (h, dataBytes) => {
        decodeOrCheckpointError(buildFile(h, new Uint8Array(dataBytes)));
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------- atomic writes

describe("writeFileAtomic", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "jacobi-atomic-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes, overwrites, and leaves no temporary files behind", () => {
    const path = join(dir, "model.safetensors");
    writeFileAtomic(path, "first version ✓");
    expect(readFileSync(path, "utf8")).toBe("first version ✓");

    const bytes = encodeSafetensors([{ name: "w", shape: [2], data: Float64Array.of(1, 2) }]);
    writeFileAtomic(path, bytes);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    expect(readdirSync(dir)).toEqual(["model.safetensors"]);

    writeFileAtomic(path, new Uint8Array(0));
    expect(readFileSync(path).byteLength).toBe(0);
    expect(readdirSync(dir)).toEqual(["model.safetensors"]);
  });

  it("on failure, rethrows, removes its temporary file and leaves the target untouched", () => {
    // Renaming a file over a non-empty directory fails after the temp file was written.
    const target = join(dir, "occupied");
    mkdirSync(target);
    writeFileSync(join(target, "keep.txt"), "keep");
    expect(() => writeFileAtomic(target, "data")).toThrow();
    expect(readdirSync(dir)).toEqual(["occupied"]);
    expect(readFileSync(join(target, "keep.txt"), "utf8")).toBe("keep");

    expect(() => writeFileAtomic(join(dir, "missing", "x.bin"), "data")).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(["occupied"]);
  });
});
