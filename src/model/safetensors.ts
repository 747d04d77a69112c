/**
 * A small, defensive reader and writer for the safetensors checkpoint format.
 *
 * A safetensors file is three parts laid end to end:
 *
 * ```text
 * ┌──────────────┬──────────────────────────────┬──────────────────────────┐
 * │ u64 LE  N    │ N bytes of UTF-8 JSON header │ raw little-endian data   │
 * └──────────────┴──────────────────────────────┴──────────────────────────┘
 * ```
 *
 * The header maps each tensor name to `{"dtype", "shape", "data_offsets"}`,
 * where `data_offsets` is a `[begin, end)` byte range relative to the first
 * byte after the header. An optional `"__metadata__"` entry holds free-form
 * string-to-string metadata.
 *
 * What this module is:
 * - a reader for the floating-point dtypes a tiny Llama-family checkpoint
 *   uses (`F64`, `F32`, `F16`, `BF16`), widening every value to float64
 *   exactly (every one of those formats is a subset of float64);
 * - a writer for `F32` (the default) and `F64`;
 * - a validator: a checkpoint is untrusted input, so every structural
 *   problem becomes a {@link CheckpointError} that names the file, the
 *   tensor and the problem, before anything large is allocated.
 *
 * What it is not: it does not read integer, boolean or 8-bit float dtypes,
 * it does not memory-map or stream (the whole file is one `Uint8Array`), it
 * does not write half-precision data, and it does not touch the file system
 * (pair {@link encodeSafetensors} with `writeFileAtomic` for that).
 *
 * @module
 */

// ---------------------------------------------------------------- types

/**
 * The element types this module understands.
 *
 * @category Checkpoints
 */
export type SafetensorsDType = "F64" | "F32" | "F16" | "BF16";

/**
 * A tensor as stored: name, shape, values widened to float64.
 *
 * Values are in row-major (C) order, so `data.length` is the product of
 * `shape` (1 for a scalar, whose shape is `[]`).
 *
 * @category Checkpoints
 */
export interface StoredTensor {
  /** The tensor's key in the header, e.g. `"model.layers.0.mlp.up_proj.weight"`. */
  readonly name: string;
  /** Dimensions, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** The values in row-major order, widened to float64. */
  readonly data: Float64Array;
}

/**
 * How a dtype's values lie in a file.
 *
 * @category Checkpoints
 */
export interface DTypeLayout {
  /** Bytes per value. */
  readonly bytes: number;
  /** Value `i` of `view` (little-endian), widened exactly to a number. */
  readonly read: (view: DataView, i: number) => number;
}

/**
 * The dtypes this reader knows, in order: bytes per element, and how element `i` of a tensor's bytes
 * reads as a number. The format is little-endian whatever the host, and a DataView reads (and writes)
 * in the byte order it is told, so no host byte order appears anywhere. Every value widens to float64
 * exactly: a float32 is a float64, and the 16-bit formats are decoded by `smallFloatToNumber`.
 *
 * @category Checkpoints
 */
export const DTYPES: Readonly<Record<SafetensorsDType, DTypeLayout>> = {
  F64: { bytes: 8, read: (view, i) => view.getFloat64(8 * i, true) },
  F32: { bytes: 4, read: (view, i) => view.getFloat32(4 * i, true) },
  F16: { bytes: 2, read: (view, i) => smallFloatToNumber(view.getUint16(2 * i, true), 5, 10) },
  BF16: { bytes: 2, read: (view, i) => smallFloatToNumber(view.getUint16(2 * i, true), 8, 7) },
};

/** Key under which the format keeps free-form metadata. */
const METADATA_KEY = "__metadata__";

/** Fields a tensor entry must have, and the only ones it may have. */
const ENTRY_FIELDS: readonly string[] = ["dtype", "shape", "data_offsets"];

/**
 * Largest header we are willing to decode. The reference Rust implementation
 * uses the same bound; it stops a corrupt length prefix from making us
 * decode (or allocate for) gigabytes of "JSON".
 */
const MAX_HEADER_BYTES = 100_000_000;

/** Bytes taken by the little-endian u64 header length at the start of the file. */
const PREFIX_BYTES = 8;

// ---------------------------------------------------------------- errors

/**
 * Error for any malformed checkpoint file: message names the file, the tensor
 * (if any) and the problem.
 *
 * @example
 * ```ts
 * try {
 *   decodeSafetensors(bytes, "model.safetensors");
 * } catch (e) {
 *   if (e instanceof CheckpointError) console.error(e.message, e.tensor);
 * }
 * ```
 *
 * @category Checkpoints
 */
export class CheckpointError extends Error {
  /** The class name, shown before the message. */
  override readonly name = "CheckpointError";

  /**
   * @param file - The file name passed to the reader, put at the start of the message (used only for messages).
   * @param problem - What is wrong, phrased as a sentence fragment.
   * @param tensor - The tensor the problem concerns, or `undefined` for file-level problems.
   */
  constructor(readonly file: string, problem: string, readonly tensor?: string) {
    super(`${file}: ${tensor === undefined ? "" : `tensor ${quote(tensor)}: `}${problem}`);
  }
}

// ---------------------------------------------------------------- writing

/**
 * Encodes tensors as a safetensors file.
 *
 * Tensors are laid out in the given order, contiguously, each with the same
 * dtype (default `F32`; `F64` is also allowed). The header is padded with
 * spaces so that the data section starts at a multiple of 8 bytes, as the
 * format allows and as the reference writer does. `F32` rounds each value to
 * the nearest float32 (like `Math.fround`); values beyond float32 range
 * become ±Infinity. `F64` copies the bits verbatim, NaN payloads included.
 *
 * @param tensors - The tensors to store; names must be unique and must not be `"__metadata__"`.
 * @param options - `dtype` for every tensor, and optional string-to-string `metadata`.
 * @returns The complete file contents.
 * @throws RangeError or TypeError when the input is inconsistent (duplicate
 *   names, a shape that does not match `data.length`, non-string metadata).
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors(
 *   [{ name: "w", shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) }],
 *   { metadata: { format: "pt" } },
 * );
 * ```
 *
 * @category Checkpoints
 */
export function encodeSafetensors(
  tensors: readonly StoredTensor[],
  options: { dtype?: "F32" | "F64"; metadata?: Record<string, string> } = {},
): Uint8Array {
  const dtype = options.dtype ?? "F32";
  if (dtype !== "F32" && dtype !== "F64") {
    throw new RangeError(`encodeSafetensors: can only write F32 or F64, not ${quote(String(dtype))}`);
  }
  const bytesPerElement = DTYPES[dtype].bytes;

  // Build the header by hand rather than with JSON.stringify on an object:
  // an object would silently reorder integer-like names ("0", "1", ...) and
  // would treat a tensor called "__proto__" as a prototype assignment.
  const headerParts: string[] = [];
  if (options.metadata !== undefined) headerParts.push(encodeMetadata(options.metadata));

  const seen = new Set<string>();
  let dataLength = 0;
  for (const tensor of tensors) {
    checkTensorForWriting(tensor, seen);
    const begin = dataLength;
    dataLength += tensor.data.length * bytesPerElement;
    const entry = `{"dtype":"${dtype}","shape":[${tensor.shape.join(",")}],"data_offsets":[${begin},${dataLength}]}`;
    headerParts.push(`${JSON.stringify(tensor.name)}:${entry}`);
  }

  const json = new TextEncoder().encode(`{${headerParts.join(",")}}`);
  // The prefix is 8 bytes, so padding the header to a multiple of 8 aligns
  // the data section to 8 bytes within the file.
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const dataStart = PREFIX_BYTES + headerLength;

  const out = new Uint8Array(dataStart + dataLength);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, PREFIX_BYTES);
  out.fill(0x20, PREFIX_BYTES + json.byteLength, dataStart); // ASCII space: JSON whitespace

  // setFloat32 rounds to nearest-even, exactly like Math.fround; setFloat64 stores the value's bits.
  let at = dataStart;
  for (const tensor of tensors) {
    for (const value of tensor.data) {
      if (dtype === "F64") view.setFloat64(at, value, true);
      else view.setFloat32(at, value, true);
      at += bytesPerElement;
    }
  }
  return out;
}

/** Throws if a tensor handed to the writer is inconsistent; records its name in `seen`. */
function checkTensorForWriting(tensor: StoredTensor, seen: Set<string>): void {
  const { name, shape, data } = tensor;
  if (typeof name !== "string") throw new TypeError(`encodeSafetensors: tensor names must be strings`);
  const where = `encodeSafetensors: tensor ${quote(name)}`;
  if (name === METADATA_KEY) throw new RangeError(`${where}: the name is reserved for metadata`);
  if (seen.has(name)) throw new RangeError(`${where}: duplicate name`);
  seen.add(name);
  if (!(data instanceof Float64Array)) throw new TypeError(`${where}: data must be a Float64Array`);
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    throw new RangeError(`${where}: shape must be an array of non-negative integers`);
  }
  if (elementCountWithin(shape, data.length) !== data.length) {
    throw new RangeError(`${where}: shape ${formatList(shape)} does not match ${data.length} values`);
  }
}

/** Serialises the metadata entry, checking that every value is a string. */
function encodeMetadata(metadata: Record<string, string>): string {
  const pairs = Object.entries(metadata);
  const bad = pairs.find(([, value]) => typeof value !== "string");
  if (bad !== undefined) throw new TypeError(`encodeSafetensors: metadata value for key ${quote(bad[0])} must be a string`);
  const parts = pairs.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  return `"${METADATA_KEY}":{${parts.join(",")}}`;
}

// ---------------------------------------------------------------- reading

/**
 * A decoded tensor: its stored dtype besides its name, shape and float64 values.
 *
 * @category Checkpoints
 */
export interface DecodedTensor extends StoredTensor {
  /** The element type the file stored the values in. */
  readonly dtype: SafetensorsDType;
}

/**
 * A header entry that passed validation, before its data is decoded: its byte range instead of the values.
 *
 * @category Checkpoints
 */
export interface ValidatedEntry extends Omit<DecodedTensor, "data"> {
  /** First byte of its data, relative to the data section. */
  readonly begin: number;
  /** One past its last byte. */
  readonly end: number;
}

/**
 * What {@link readSafetensorsHeader} returns.
 *
 * @category Checkpoints
 */
export interface SafetensorsHeader {
  /** The tensors' entries in file (byte offset) order. */
  readonly entries: readonly ValidatedEntry[];
  /** The `__metadata__` strings (empty when absent). */
  readonly metadata: Record<string, string>;
  /** Byte offset of the data section in the file. */
  readonly dataStart: number;
}

/**
 * What {@link decodeSafetensors} returns.
 *
 * @category Checkpoints
 */
export interface DecodedSafetensors {
  /** The tensors by name, in file (byte offset) order. */
  readonly tensors: Map<string, DecodedTensor>;
  /** The `__metadata__` strings (empty when absent). */
  readonly metadata: Record<string, string>;
}

/**
 * Decodes and validates a safetensors file.
 *
 * Validation happens in full before any tensor data is decoded, and every
 * size is checked against the bytes actually present, so a corrupt or hostile
 * file costs at most about twice its own size in memory. Tensors come back in
 * file order (by `data_offsets`, which is the order {@link encodeSafetensors}
 * wrote them in), with values widened exactly to float64. Gaps between
 * tensors and trailing bytes after the last one are tolerated; overlapping
 * ranges are not.
 *
 * @param bytes - The whole file. A Node `Buffer` (at any offset) works too.
 * @param file - Name used only in error messages, e.g. `"model.safetensors"`.
 * @returns The tensors by name, each with its stored dtype, and the metadata (`{}` if absent).
 * @throws CheckpointError for every kind of malformed input, and nothing else.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
 * const norm = tensors.get("model.norm.weight"); // { name, dtype, shape, data }
 * ```
 *
 * @category Checkpoints
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  file: string,
): DecodedSafetensors {
  const { entries, metadata, dataStart } = readSafetensorsHeader(bytes, file);
  const tensors = new Map<string, DecodedTensor>();
  for (const entry of entries) {
    const count = (entry.end - entry.begin) / DTYPES[entry.dtype].bytes;
    const data = decodeElements(bytes, dataStart + entry.begin, count, entry.dtype);
    tensors.set(entry.name, { name: entry.name, dtype: entry.dtype, shape: Object.freeze([...entry.shape]), data });
  }
  return { tensors, metadata };
}

/**
 * Validates a safetensors file's header, as {@link decodeSafetensors} does before it decodes anything:
 * the entries in file order, checked against the file's size, without reading their data — what a
 * reader that streams the data from the file needs (the WebGPU backend's folder loader).
 *
 * @param bytes - The file's first bytes: at least the length prefix and the header (or the whole file).
 * @param file - Name used only in error messages.
 * @param fileBytes - The file's size in bytes (default `bytes.byteLength`: `bytes` is the whole file).
 * @throws CheckpointError for every kind of malformed header; RangeError when `bytes` stops before the
 *   header's end (the caller's mistake, not the file's).
 * @example
 * ```ts
 * readSafetensorsHeader(firstBytes, "model.safetensors", statSync(path).size).entries[0]; // { name, dtype, shape, begin, end }
 * ```
 * @category Checkpoints
 */
export function readSafetensorsHeader(bytes: Uint8Array, file: string, fileBytes = bytes?.byteLength): SafetensorsHeader {
  if (!(bytes instanceof Uint8Array)) {
    throw new CheckpointError(file, `expected the file contents as a Uint8Array, got ${describe(bytes)}`);
  }
  const { header, dataStart } = readHeader(bytes, file, fileBytes);
  const dataLength = fileBytes - dataStart;

  let metadata: Record<string, string> = {};
  const entries: ValidatedEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = validateMetadata(value, file);
    else entries.push(validateEntry(name, value, dataLength, file));
  }

  // File order: by begin, then end (so an empty tensor sitting at a boundary
  // comes before the tensor that starts there), then header position (the
  // sort is stable, and entries are in header order).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkNoOverlap(entries, file);
  return { entries, metadata, dataStart };
}

/**
 * Reads the length prefix and parses the JSON header, bounding the length
 * before any decoding so that a corrupt prefix cannot trigger a huge decode.
 * `fileBytes` is the size of the file `bytes` begins.
 */
function readHeader(bytes: Uint8Array, file: string, fileBytes: number): { header: Record<string, unknown>; dataStart: number } {
  if (fileBytes < PREFIX_BYTES) {
    throw new CheckpointError(
      file,
      `file is ${fileBytes} bytes, too short for the ${PREFIX_BYTES}-byte header length prefix`,
    );
  }
  const given = (end: number) => {
    if (bytes.byteLength < end) throw new RangeError(`safetensors: ${file}: given its first ${bytes.byteLength} bytes, but the header ends at byte ${end}; pass at least the length prefix and the header`);
  };
  given(PREFIX_BYTES);
  // The view must honour byteOffset: a Buffer from readFileSync often sits
  // inside a larger pooled ArrayBuffer.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true); // a u64 may exceed 2^53: compare as bigint first
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(file, `header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = Number(declared);
  const available = fileBytes - PREFIX_BYTES;
  if (headerLength > available) {
    throw new CheckpointError(
      file,
      `header length ${headerLength} runs past the end of the file (only ${available} bytes follow the length prefix)`,
    );
  }
  const dataStart = PREFIX_BYTES + headerLength;
  given(dataStart);

  let text: string;
  try {
    // fatal: reject invalid UTF-8 instead of quietly inserting U+FFFD.
    // ignoreBOM: keep a BOM so JSON.parse rejects it; the format has none.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(PREFIX_BYTES, dataStart));
  } catch {
    throw new CheckpointError(file, `header is not valid UTF-8`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Any failure here (SyntaxError, or a RangeError from absurd nesting) is
    // the file's fault, so it is reported as such.
    const reason = error instanceof Error ? error.message : String(error);
    throw new CheckpointError(file, `header is not valid JSON (${truncate(reason, 120)})`);
  }
  if (!isPlainObject(parsed)) {
    throw new CheckpointError(file, `header must be a JSON object, got ${describe(parsed)}`);
  }
  return { header: parsed, dataStart };
}

/** Checks the `"__metadata__"` entry: an object whose values are all strings. */
function validateMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new CheckpointError(file, `"${METADATA_KEY}" must be an object of strings, got ${describe(value)}`);
  }
  const pairs = Object.entries(value);
  const bad = pairs.find(([, item]) => typeof item !== "string");
  if (bad !== undefined) {
    throw new CheckpointError(file, `"${METADATA_KEY}" value for key ${quote(bad[0])} must be a string, got ${describe(bad[1])}`);
  }
  // fromEntries defines own properties, so even a key named "__proto__"
  // round-trips as data instead of changing the object's prototype.
  return Object.fromEntries(pairs) as Record<string, string>;
}

/** Checks one tensor entry's fields and that its byte range matches its shape. */
function validateEntry(name: string, value: unknown, dataLength: number, file: string): ValidatedEntry {
  const fail = (problem: string): CheckpointError => new CheckpointError(file, problem, name);

  if (!isPlainObject(value)) throw fail(`entry must be a JSON object, got ${describe(value)}`);
  const unexpected = Object.keys(value).find((field) => !ENTRY_FIELDS.includes(field));
  if (unexpected !== undefined) {
    throw fail(`unexpected field ${quote(unexpected)} (an entry has exactly ${ENTRY_FIELDS.join(", ")})`);
  }
  const missing = ENTRY_FIELDS.find((field) => !Object.hasOwn(value, field));
  if (missing !== undefined) throw fail(`missing field "${missing}"`);

  // dtype
  const dtype = value["dtype"];
  if (typeof dtype !== "string") throw fail(`"dtype" must be a string, got ${describe(dtype)}`);
  if (!isKnownDType(dtype)) {
    throw fail(`unsupported dtype ${quote(dtype)} (this reader knows ${Object.keys(DTYPES).join(", ")})`);
  }

  // shape
  const shape: unknown = value["shape"];
  if (!Array.isArray(shape)) throw fail(`"shape" must be an array of non-negative integers, got ${describe(shape)}`);
  const axis = shape.findIndex((dim) => !isNonNegativeSafeInteger(dim));
  if (axis >= 0) throw fail(`"shape" dimension ${axis} is ${describe(shape[axis])}; dimensions must be non-negative integers`);
  const dims = shape as number[];

  // data_offsets
  const offsets: unknown = value["data_offsets"];
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw fail(`"data_offsets" must be [begin, end], got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as readonly unknown[];
  if (!isNonNegativeSafeInteger(begin) || !isNonNegativeSafeInteger(end)) {
    throw fail(`"data_offsets" must be two non-negative integers, got [${describe(begin)}, ${describe(end)}]`);
  }
  if (begin > end) throw fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    throw fail(`data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes)`);
  }

  // The shape's byte count must equal the range. Count elements with an
  // upper bound so a shape like [2^40, 2^40] is rejected without ever
  // computing (or allocating for) its product.
  const bytesPerElement = DTYPES[dtype].bytes;
  const held = end - begin;
  const count = elementCountWithin(dims, Math.floor(held / bytesPerElement));
  if (count === undefined || count * bytesPerElement !== held) {
    const needed = elementCountWithin(dims, Number.MAX_SAFE_INTEGER / bytesPerElement);   // undefined beyond 2^53 bytes
    throw fail(
      `data_offsets [${begin}, ${end}] hold ${held} bytes but shape ${formatList(dims)} of ${dtype} needs ${needed === undefined ? "more than 2^53" : needed * bytesPerElement}`,
    );
  }

  return { name, dtype, shape: dims, begin, end };
}

/**
 * Rejects overlapping byte ranges. `entries` must be sorted by begin. Empty
 * ranges own no bytes, so they cannot overlap anything and are skipped.
 */
function checkNoOverlap(entries: readonly ValidatedEntry[], file: string): void {
  let previous: ValidatedEntry | undefined;
  for (const entry of entries) {
    if (entry.begin === entry.end) continue;
    // Sorted by begin and (so far) disjoint, so the previous non-empty range
    // is the one that reaches furthest; comparing with it alone suffices.
    if (previous !== undefined && entry.begin < previous.end) {
      throw new CheckpointError(
        file,
        `data_offsets [${entry.begin}, ${entry.end}] overlap tensor ${quote(previous.name)} at [${previous.begin}, ${previous.end}]`,
        entry.name,
      );
    }
    previous = entry;
  }
}

// ---------------------------------------------------------------- element decoding

/** Decodes `count` elements of `dtype` starting at byte `start` of `bytes`, widened to float64. */
function decodeElements(bytes: Uint8Array, start: number, count: number, dtype: SafetensorsDType): Float64Array {
  const { bytes: width, read } = DTYPES[dtype];
  // The view must honour byteOffset: a Buffer from readFileSync often sits inside a larger pooled ArrayBuffer.
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * width);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = read(view, i);
  return out;
}

/**
 * Converts a 16-bit IEEE-style float (sign, `exponentBits`, `fractionBits`)
 * to a number, exactly.
 *
 * F16 is 1/5/10 (bias 15); BF16 is 1/8/7 (bias 127, i.e. the top half of a
 * float32). Both fit in float64 with room to spare, so each case below is an
 * exact product of an integer and a power of two:
 * - exponent all zeros: zero or subnormal, `fraction × 2^(1 − bias − fractionBits)`;
 * - exponent all ones: infinity (fraction 0) or NaN;
 * - otherwise normal: `(2^fractionBits + fraction) × 2^(exponent − bias − fractionBits)`.
 */
function smallFloatToNumber(bits: number, exponentBits: number, fractionBits: number): number {
  const bias = (1 << (exponentBits - 1)) - 1;
  const maxExponent = (1 << exponentBits) - 1;
  const sign = bits >>> (exponentBits + fractionBits) === 1 ? -1 : 1;
  const exponent = (bits >>> fractionBits) & maxExponent;
  const fraction = bits & ((1 << fractionBits) - 1);

  if (exponent === 0) return sign * fraction * 2 ** (1 - bias - fractionBits); // sign * 0 keeps -0
  if (exponent === maxExponent) return fraction === 0 ? sign * Infinity : NaN;
  return sign * ((1 << fractionBits) + fraction) * 2 ** (exponent - bias - fractionBits);
}

// ---------------------------------------------------------------- helpers

/**
 * Product of `shape` if it is at most `limit`, else `undefined`. Stops as
 * soon as the running product passes the limit, so huge shapes cost nothing;
 * while the product stays at or below `limit` (≤ 2^53) it is exact.
 */
function elementCountWithin(shape: readonly number[], limit: number): number | undefined {
  if (shape.includes(0)) return 0;
  let product = 1;
  for (const dim of shape) {
    product *= dim;
    if (product > limit) return undefined;
  }
  return product;
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isKnownDType(dtype: string): dtype is SafetensorsDType {
  return Object.hasOwn(DTYPES, dtype);
}

/** A JSON object, as opposed to an array or null (which are also `typeof "object"`). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short description of an untrusted value; never echoes an unbounded amount of it. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === "string") return `the string ${quote(value)}`;
  if (typeof value === "object") return "an object";
  return ["number", "boolean", "bigint"].includes(typeof value) ? String(value) : `a ${typeof value}`;
}

/** JSON-style quoting (escapes control characters), truncated for messages. */
function quote(text: string): string {
  return JSON.stringify(truncate(text, 200));
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** `[4, 2]`-style list for messages, eliding long shapes. */
function formatList(values: readonly number[]): string {
  const shown = values.slice(0, 8).join(", ");
  return values.length <= 8 ? `[${shown}]` : `[${shown}, … (${values.length} dims)]`;
}
