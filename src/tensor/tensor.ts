/**
 * The `Tensor` value: a row-major Float64Array with a readonly shape.
 *
 * This is deliberately the smallest tensor that a Llama-family transformer needs. It is not a general
 * n-dimensional array library: there are no strides, views, broadcasting rules or dtypes. Every tensor
 * owns (or shares, for cache views) one contiguous `Float64Array`; its last dimension is contiguous.
 * Float64 everywhere so that the reference is as exact as plain JavaScript allows.
 *
 * Read next: `kernels.ts` (the batch-invariant loops) and `ops.ts` (the checked operations on tensors).
 *
 * @module
 */

// ---------------------------------------------------------------- errors

/**
 * Thrown when an operation receives tensors of incompatible shapes. The message starts with the
 * operation's name and shows the offending shapes, e.g. `matmul: expected a [M, K] and b [K, N], got [2, 3] and [4, 5]`.
 *
 * @example
 * ```ts
 * linear(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])); // throws ShapeError: linear: expected x [M, K] and weight [N, K], got [2, 3] and [4, 5]
 * ```
 * @category Tensor
 */
export class ShapeError extends Error {
  /** The class name, shown before the message: the message itself names the operation and the shapes. */
  override readonly name = "ShapeError";
}

// ---------------------------------------------------------------- shapes

/**
 * Number of elements of a shape: the product of its dimensions (1 for a scalar shape `[]`).
 *
 * @example
 * ```ts
 * sizeOf([2, 3]); // 6
 * ```
 * @category Tensor
 */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * Formats a shape for error messages: `[2, 3]`.
 *
 * @example
 * ```ts
 * formatShape([2, 3]); // "[2, 3]"
 * ```
 * @category Tensor
 */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function checkShape(shape: readonly number[], where: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new ShapeError(`${where}: shape ${formatShape(shape)} must hold non-negative integers`);
    }
  }
}

// ---------------------------------------------------------------- autograd hooks

/**
 * What reverse-mode autograd records for a tensor produced by an operation: the inputs it was
 * computed from, and a function that receives d(loss)/d(output) and accumulates d(loss)/d(input)
 * into each input's `grad`. See `autograd.ts` for `backward`.
 *
 * @category Autograd
 */
export interface GradNode {
  /** The tensors this one was computed from (only those that need a gradient matter). */
  readonly inputs: readonly Tensor[];
  /** Accumulates into `inputs[i].grad` given `grad` = d(loss)/d(this tensor), same shape. */
  readonly backward: (grad: Float64Array) => void;
}

// ---------------------------------------------------------------- the tensor

/**
 * A dense row-major tensor of float64 values.
 *
 * `requiresGrad` marks a leaf (a parameter) whose gradient should be accumulated into `grad`; a tensor
 * computed from such leaves by an operation carries a {@link GradNode}. Tensors computed from
 * constants only carry no node, so inference builds no graph at all.
 *
 * @example
 * ```ts
 * const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
 * x.shape;      // [2, 3]
 * x.get(1, 2);  // 6
 * ```
 * @category Tensor
 */
export class Tensor {
  /** The values, row-major; length = product of `shape`. */
  readonly data: Float64Array;
  /** The dimensions, outermost first. */
  readonly shape: readonly number[];
  /** True for a leaf whose gradient is wanted (a trainable parameter). */
  requiresGrad: boolean;
  /** d(loss)/d(this), accumulated by `backward`; null until a backward pass reaches it. */
  grad: Float64Array | null = null;
  /** How this tensor was computed, when some input needs a gradient; null otherwise. */
  node: GradNode | null = null;

  /**
   * @param data - values, row-major; the tensor takes ownership (no copy)
   * @param shape - dimensions; their product must equal `data.length`
   * @param requiresGrad - mark as a trainable leaf
   */
  constructor(data: Float64Array, shape: readonly number[], requiresGrad = false) {
    checkShape(shape, "Tensor");
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError(`Tensor: shape ${formatShape(shape)} needs ${sizeOf(shape)} values, got ${data.length}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  /** A tensor of zeros. */
  static zeros(shape: readonly number[]): Tensor {
    checkShape(shape, "Tensor.zeros");
    return new Tensor(new Float64Array(sizeOf(shape)), shape);
  }

  /** A tensor holding a copy of `values`. */
  static from(values: ArrayLike<number>, shape: readonly number[]): Tensor {
    return new Tensor(Float64Array.from(values), shape);
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** The element at the given indices (one per dimension). */
  get(...index: number[]): number {
    if (index.length !== this.shape.length) {
      throw new ShapeError(`Tensor.get: expected ${this.shape.length} indices for shape ${formatShape(this.shape)}, got ${index.length}`);
    }
    let offset = 0;
    for (let d = 0; d < index.length; d++) {
      const i = index[d];
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[d]) {
        throw new ShapeError(`Tensor.get: index ${formatShape(index)} out of range for shape ${formatShape(this.shape)}`);
      }
      offset = offset * this.shape[d] + i;
    }
    return this.data[offset];
  }

  /** Row `i` of a 2-D tensor as a Float64Array view (no copy). */
  row(i: number): Float64Array {
    if (this.shape.length !== 2 || !Number.isInteger(i) || i < 0 || i >= this.shape[0]) {
      throw new ShapeError(`Tensor.row: row ${i} of shape ${formatShape(this.shape)}`);
    }
    const n = this.shape[1];
    return this.data.subarray(i * n, (i + 1) * n);
  }

  /** The values as nested arrays (for printing and JSON). */
  toNested(): unknown {
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return this.data[offset];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }
}
