/**
 * The exact KV cache: the keys and values of every token forwarded so far, per layer.
 *
 * Jacobi decoding forwards draft tokens and then throws away the KV rows of the ones it rejects. Here
 * that rollback is one visible call, `cache.truncate(committedLength)`: rows past the length are dead
 * and will be overwritten by the next forward. Because the kernels are batch-invariant, a cache that was
 * truncated holds bit-for-bit what a cache that never saw the dropped tokens would hold.
 *
 * Storage is allocated once for the whole context (`maxPositions` rows), so appending never copies, and
 * attention reads keys and values in place.
 *
 * Shape legend: P rows in the cache, Hkv key/value heads, D head size.
 *
 * @module
 */
import { ShapeError } from "../tensor/tensor.ts";
import { headDim, type ModelConfig } from "./config.ts";

/**
 * The valid rows of one layer of a cache, copied out.
 *
 * @category Model
 */
export interface LayerRows {
  /** [P, Hkv*D] keys. */
  readonly keys: Float64Array;
  /** [P, Hkv*D] values. */
  readonly values: Float64Array;
}

/**
 * Keys and values of the first `length` positions of a sequence, for every layer.
 *
 * @example
 * ```ts
 * const cache = new KVCache(PRESETS.tiny);
 * forward(PRESETS.tiny, params, [1, 5, 9], { cache });   // cache.length === 3
 * cache.truncate(1);                                     // as if only [1] had been forwarded
 * ```
 * @category Model
 */
export class KVCache {
  /** Hkv * D: the width of one key (or value) row. */
  readonly width: number;
  /** Rows the cache can hold: the model's context length. */
  readonly capacity: number;
  /** Per layer, [capacity, Hkv*D]; rows 0 .. length-1 are valid. */
  readonly keys: Float64Array[];
  /** Per layer, [capacity, Hkv*D]; rows 0 .. length-1 are valid. */
  readonly values: Float64Array[];
  private rows = 0;

  /** @param config - the model this cache serves (layers, heads, context length) */
  constructor(config: ModelConfig) {
    this.width = config.numKeyValueHeads * headDim(config);
    this.capacity = config.maxPositions;
    this.keys = Array.from({ length: config.numLayers }, () => new Float64Array(this.capacity * this.width));
    this.values = Array.from({ length: config.numLayers }, () => new Float64Array(this.capacity * this.width));
  }

  /** P: the number of positions whose keys and values are held. */
  get length(): number {
    return this.rows;
  }

  /**
   * Forgets every position from `length` on — Jacobi's rollback of rejected draft tokens.
   * @param length - the new length, `0 <= length <= this.length`
   */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.rows) {
      throw new ShapeError(`KVCache.truncate: length must be an integer in 0..${this.rows}, got ${length}`);
    }
    this.rows = length;
  }

  /**
   * Keeps the first `length` rows and moves the `count` rows starting at `from` right after them; the
   * length becomes `length + count`. Verifying several candidate drafts in one forward appends all of
   * their rows; this keeps only the winner's, as if it alone had been forwarded. Exact: a row's keys and
   * values depend only on its own token, position and the rows it attended to, never on where it sits.
   *
   * @param length - rows to keep in place, `0 <= length <= from`
   * @param from - first row to move, `from + count <= this.length`
   * @param count - rows to move
   * @example
   * ```ts
   * // cache: 3 committed rows, then candidate A (2 rows), then candidate B (2 rows)
   * cache.keepRows(3, 5, 2);   // committed rows, then B's rows; cache.length === 5
   * ```
   */
  keepRows(length: number, from: number, count: number): void {
    if (![length, from, count].every(Number.isInteger) || length < 0 || count < 0 || from < length || from + count > this.rows) {
      throw new ShapeError(`KVCache.keepRows: expected 0 <= length <= from and from + count <= ${this.rows}, got length ${length}, from ${from}, count ${count}`);
    }
    const w = this.width;
    for (let layer = 0; layer < this.keys.length; layer++) {
      this.keys[layer].copyWithin(length * w, from * w, (from + count) * w);
      this.values[layer].copyWithin(length * w, from * w, (from + count) * w);
    }
    this.rows = length + count;
  }

  /**
   * Copies of the valid keys and values of `layer`, each [P, Hkv*D].
   * @param layer - 0 .. numLayers-1
   */
  read(layer: number): LayerRows {
    const end = this.rows * this.width;
    return { keys: this.keys[layer].slice(0, end), values: this.values[layer].slice(0, end) };
  }

  /** An independent copy (same contents and length). */
  clone(): KVCache {
    const copy = Object.create(KVCache.prototype) as KVCache;
    return Object.assign(copy, { ...this, keys: this.keys.map((k) => k.slice()), values: this.values.map((v) => v.slice()) });
  }

  /**
   * Writes `T` new rows of keys and values for `layer` at rows `length .. length+T-1`. The length does
   * not change until {@link KVCache.extend} — every layer writes first, then the rows become valid.
   * @param k - [T, Hkv*D]
   * @param v - [T, Hkv*D]
   */
  write(layer: number, k: Float64Array, v: Float64Array): void {
    const start = this.rows * this.width;
    if (k.length !== v.length || k.length % this.width !== 0 || start + k.length > this.capacity * this.width) {
      throw new ShapeError(`KVCache.write: ${k.length / this.width} rows after ${this.rows} exceed the capacity ${this.capacity}`);
    }
    this.keys[layer].set(k, start);
    this.values[layer].set(v, start);
  }

  /** Marks `T` more rows valid, after every layer has written them. */
  extend(T: number): void {
    if (this.rows + T > this.capacity) {
      throw new ShapeError(`KVCache.extend: ${this.rows} + ${T} rows exceed the capacity ${this.capacity}`);
    }
    this.rows += T;
  }
}
