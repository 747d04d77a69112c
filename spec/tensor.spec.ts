/**
 * Tests for the tensor operations of `src/tensor/ops.ts`, each checked against mathjs.
 *
 * mathjs is the independent oracle: for every operation the expected result is built from mathjs
 * matrices and mathjs functions (`multiply`, `transpose`, `add`, `dotMultiply`, `exp`, `sqrt`, ...),
 * written from the formula rather than from our loops, on shapes and values drawn by fast-check
 * (dimensions 1..7, a reduction width up to 40, values in [-3, 3], never NaN or infinite).
 * On top of the oracle checks: the numerics that matter (softmax of 1000s, argmax ties, RoPE's
 * rotation and norm), shape errors that name the operation and show the shapes, and batch invariance
 * — a row computed alone is bit-identical to the same row computed in a batch, which is the property
 * the whole project rests on (see the header of `kernels.ts`).
 *
 * What this file does not test: autograd (backward passes) and the transformer built from these ops.
 *
 * **Tolerance.** Values are float64 (unit roundoff u = 1.1e-16). The oracle and the kernels evaluate
 * the same formulas with possibly different association (mathjs starts a dot product from its first
 * product, divides by sqrt(D) instead of multiplying by 1/sqrt(D), ...). With at most 40 terms of size
 * at most 9, a dot product's rounding error is typically ~sqrt(K)·u·Σ|terms| ≈ 2e-13 and the
 * elementwise functions (exp, sin, cos) are within an ulp or two, so `TOL = 1e-12` applied as
 * `|actual - expected| <= TOL · max(1, |expected|)` (absolute below 1, relative above) leaves a
 * comfortable margin while still catching any real mistake, which shows up at 1e-3 or worse.
 *
 * @module
 */

import fc from "fast-check";
import * as math from "mathjs";
import { describe, expect, it } from "vitest";

import {
  add, argmax, attention, embedding, linear, matmul, mul, rmsNorm, rope, silu, softmax,
  type AttentionShape,
} from "../src/tensor/ops.ts";
import type { Visibility } from "../src/tensor/kernels.ts";
import { ShapeError, Tensor, formatShape, sizeOf } from "../src/tensor/tensor.ts";

// ---------------------------------------------------------------- helpers: comparison

/** Mixed absolute/relative tolerance for float64 results (see the module header for why 1e-12). */
const TOL = 1e-12;

/** A result to compare against: flat row-major values and a shape. */
interface Expected {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

/** The multi-index of flat position `flat` in `shape`, formatted `[i, j]`. */
function indexOf(flat: number, shape: readonly number[]): string {
  const index: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return formatShape(index);
}

/**
 * Fails unless `actual` and `expected` have the same shape and every element satisfies
 * `|a - e| <= tol · max(1, |e|)`. The message names the label, the shapes, the largest (scaled)
 * difference, where it is, and both values there.
 */
function expectClose(label: string, actual: Expected, expected: Expected, tol = TOL): void {
  const same = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i]);
  if (!same || actual.data.length !== expected.data.length) {
    throw new Error(`${label}: shape ${formatShape(actual.shape)} (${actual.data.length} values), expected ${formatShape(expected.shape)} (${expected.data.length} values)`);
  }
  let worst = -1;
  let worstScaled = 0;
  let worstDiff = 0;
  for (let i = 0; i < actual.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    const diff = Number.isNaN(a) || Number.isNaN(e) ? (Number.isNaN(a) && Number.isNaN(e) ? 0 : Infinity) : Math.abs(a - e);
    const scaled = diff / Math.max(1, Math.abs(e));
    if (worst < 0 || scaled > worstScaled) {
      worst = i;
      worstScaled = scaled;
      worstDiff = diff;
    }
  }
  if (worstScaled > tol) {
    throw new Error(
      `${label}: shape ${formatShape(actual.shape)}, largest difference ${worstDiff.toExponential(3)} ` +
      `(scaled ${worstScaled.toExponential(3)} > tolerance ${tol}) at ${indexOf(worst, actual.shape)}: ` +
      `got ${actual.data[worst]}, expected ${expected.data[worst]}`,
    );
  }
}

/** The 64 bits of a float, in hex, to show two values that print alike but differ. */
function bitsHex(x: number): string {
  return new BigUint64Array(Float64Array.of(x).buffer)[0].toString(16).padStart(16, "0");
}

/**
 * Fails unless every element of `actual` is bit-identical to `expected` (`Object.is`, so -0 and 0
 * differ). The message names the label, the shapes, how many elements differ, the largest difference
 * with its index, and the first differing element with both bit patterns.
 */
function expectBitIdentical(label: string, actual: Expected, expected: Expected): void {
  const same = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i]);
  if (!same || actual.data.length !== expected.data.length) {
    throw new Error(`${label}: shape ${formatShape(actual.shape)}, expected ${formatShape(expected.shape)}`);
  }
  let first = -1;
  let count = 0;
  let largest = -1;
  let largestDiff = -1;
  for (let i = 0; i < actual.data.length; i++) {
    if (Object.is(actual.data[i], expected.data[i])) continue;
    count++;
    if (first < 0) first = i;
    const diff = Math.abs(actual.data[i] - expected.data[i]);
    if (!(diff <= largestDiff)) {
      largest = i;
      largestDiff = diff;
    }
  }
  if (count > 0) {
    const a = actual.data[first];
    const e = expected.data[first];
    throw new Error(
      `${label}: shape ${formatShape(actual.shape)}, ${count} of ${actual.data.length} elements differ; ` +
      `largest difference ${largestDiff} at ${indexOf(largest, actual.shape)}; ` +
      `first at ${indexOf(first, actual.shape)}: got ${a} (0x${bitsHex(a)}), expected ${e} (0x${bitsHex(e)})`,
    );
  }
}

// ---------------------------------------------------------------- helpers: mathjs bridge

/** A tensor as a mathjs dense matrix of the same shape. */
function toMath(t: Tensor): math.Matrix {
  return math.matrix(t.toNested() as math.MathArray);
}

/** A mathjs matrix as flat row-major values and its shape. */
function fromMath(m: math.Matrix): Expected {
  const nested = m.toArray() as unknown[];
  return { data: nested.flat(Infinity) as number[], shape: m.size() };
}

/** Columns `from .. from + width - 1` of a 2-D mathjs matrix (one head of a packed [rows, heads * D] matrix). */
function columns(m: math.Matrix, from: number, width: number): math.Matrix {
  const [rows] = m.size();
  return math.subset(m, math.index(math.range(0, rows), math.range(from, from + width))) as math.Matrix;
}

// ---------------------------------------------------------------- helpers: generators

/** Values in [-3, 3], never NaN or infinite. */
const VALUE = { min: -3, max: 3, noNaN: true, noDefaultInfinity: true } as const;

/** A dimension in 1..max. */
const dim = (max = 7): fc.Arbitrary<number> => fc.integer({ min: 1, max });

/** A tensor of the given shape with values in [-3, 3]. */
function tensorOf(shape: readonly number[]): fc.Arbitrary<Tensor> {
  const n = sizeOf(shape);
  return fc.float64Array({ ...VALUE, minLength: n, maxLength: n }).map((data) => new Tensor(data, shape));
}

/** Fast-check runs per property: enough to cover the small shapes, cheap enough for a 2-core machine. */
const RUNS = { numRuns: 100 };

// ---------------------------------------------------------------- linear and matmul

describe("linear", () => {
  it("equals x W^T against mathjs, K up to 40, N across the unrolled-by-4 and remainder columns", () => {
    const cases = fc.record({ M: dim(), K: dim(40), N: dim(9) }).chain(({ M, K, N }) =>
      fc.tuple(tensorOf([M, K]), tensorOf([N, K])));
    fc.assert(fc.property(cases, ([x, w]) => {
      const expected = math.multiply(toMath(x), math.transpose(toMath(w)));
      expectClose(`linear x ${formatShape(x.shape)} W ${formatShape(w.shape)}`, linear(x, w), fromMath(expected));
    }), RUNS);
  });

  it("adds the bias to every row, against mathjs", () => {
    const cases = fc.record({ M: dim(), K: dim(40), N: dim(9) }).chain(({ M, K, N }) =>
      fc.tuple(tensorOf([M, K]), tensorOf([N, K]), tensorOf([N])));
    fc.assert(fc.property(cases, ([x, w, b]) => {
      const expected = math.add(math.multiply(toMath(x), math.transpose(toMath(w))), toMath(b)) as math.Matrix;
      expectClose(`linear+bias x ${formatShape(x.shape)} W ${formatShape(w.shape)}`, linear(x, w, b), fromMath(expected));
    }), RUNS);
  });

  it("matches its documented example", () => {
    expect(Array.from(linear(Tensor.from([1, 2], [1, 2]), Tensor.from([1, 0, 1, 1], [2, 2])).data)).toEqual([1, 3]);
  });
});

describe("matmul", () => {
  it("equals a b against mathjs, K up to 40", () => {
    const cases = fc.record({ M: dim(), K: dim(40), N: dim() }).chain(({ M, K, N }) =>
      fc.tuple(tensorOf([M, K]), tensorOf([K, N])));
    fc.assert(fc.property(cases, ([a, b]) => {
      const expected = math.multiply(toMath(a), toMath(b));
      expectClose(`matmul a ${formatShape(a.shape)} b ${formatShape(b.shape)}`, matmul(a, b), fromMath(expected));
    }), RUNS);
  });

  it("agrees with linear on the transposed weight", () => {
    const cases = fc.record({ M: dim(), K: dim(), N: dim() }).chain(({ M, K, N }) =>
      fc.tuple(tensorOf([M, K]), tensorOf([N, K])));
    fc.assert(fc.property(cases, ([x, w]) => {
      const wT = fromMath(math.transpose(toMath(w)));
      const viaMatmul = matmul(x, new Tensor(Float64Array.from(wT.data), wT.shape));
      expectClose("matmul(x, W^T) vs linear(x, W)", viaMatmul, linear(x, w));
    }), RUNS);
  });
});

// ---------------------------------------------------------------- elementwise

/** A shape of rank 1..3 with dimensions 1..5. */
const anyShape = fc.array(dim(5), { minLength: 1, maxLength: 3 });

describe("add and mul", () => {
  it("add is the elementwise sum, against mathjs add", () => {
    const cases = anyShape.chain((shape) => fc.tuple(tensorOf(shape), tensorOf(shape)));
    fc.assert(fc.property(cases, ([a, b]) => {
      const expected = math.add(toMath(a), toMath(b)) as math.Matrix;
      expectClose(`add ${formatShape(a.shape)}`, add(a, b), fromMath(expected));
    }), RUNS);
  });

  it("mul is the elementwise product, against mathjs dotMultiply", () => {
    const cases = anyShape.chain((shape) => fc.tuple(tensorOf(shape), tensorOf(shape)));
    fc.assert(fc.property(cases, ([a, b]) => {
      const expected = math.dotMultiply(toMath(a), toMath(b)) as math.Matrix;
      expectClose(`mul ${formatShape(a.shape)}`, mul(a, b), fromMath(expected));
    }), RUNS);
  });
});

describe("silu", () => {
  it("is x / (1 + e^-x), against mathjs", () => {
    fc.assert(fc.property(anyShape.chain(tensorOf), (x) => {
      const X = toMath(x);
      const expected = math.dotDivide(X, math.add(1, math.map(math.unaryMinus(X), math.exp))) as math.Matrix;
      expectClose(`silu ${formatShape(x.shape)}`, silu(x), fromMath(expected));
    }), RUNS);
  });

  it("matches its documented example, and is 0 at 0", () => {
    expect(Array.from(silu(Tensor.from([0, 1], [2])).data)).toEqual([0, 0.7310585786300049]);
  });
});

// ---------------------------------------------------------------- row-wise

describe("rmsNorm", () => {
  it("is x / sqrt(mean(x^2) + eps) * weight, against mathjs", () => {
    const cases = fc.record({ M: dim(), C: dim(40), eps: fc.constantFrom(1e-6, 1e-5, 1e-2) }).chain(({ M, C, eps }) =>
      fc.tuple(tensorOf([M, C]), tensorOf([C]), fc.constant(eps)));
    fc.assert(fc.property(cases, ([x, w, eps]) => {
      const X = toMath(x);
      const meanSquare = math.mean(math.dotMultiply(X, X), 1) as unknown as math.Matrix; // [M]
      const inverse = math.map(math.add(meanSquare, eps) as math.Matrix, (v: number) => math.divide(1, math.sqrt(v)) as number); // [M]
      const scaled = math.dotMultiply(X, math.reshape(inverse, [x.shape[0], 1])); // [M, C]
      const expected = math.dotMultiply(scaled, toMath(w)) as math.Matrix; // [M, C]
      expectClose(`rmsNorm x ${formatShape(x.shape)} eps ${eps}`, rmsNorm(x, w, eps), fromMath(expected));
    }), RUNS);
  });

  it("matches its documented example", () => {
    expectClose("rmsNorm [3, 4]", rmsNorm(Tensor.from([3, 4], [1, 2]), Tensor.from([1, 1], [2]), 0),
      { data: [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)], shape: [1, 2] });
  });
});

describe("softmax", () => {
  it("is exp(x) / sum(exp(x)) per row, against mathjs", () => {
    const cases = fc.tuple(dim(), dim()).chain(([M, N]) => tensorOf([M, N]));
    fc.assert(fc.property(cases, (x) => {
      // The naive formula (no max subtraction) is safe for values in [-3, 3] and independent of the kernel's.
      const E = math.map(toMath(x), math.exp);
      const expected = math.dotDivide(E, math.reshape(math.sum(E, 1) as unknown as math.Matrix, [x.shape[0], 1])) as math.Matrix;
      expectClose(`softmax ${formatShape(x.shape)}`, softmax(x), fromMath(expected));
    }), RUNS);
  });

  it("rows sum to 1 and lie in [0, 1]", () => {
    const cases = fc.tuple(dim(), dim(40)).chain(([M, N]) => tensorOf([M, N]));
    fc.assert(fc.property(cases, (x) => {
      const p = softmax(x);
      const [M, N] = x.shape;
      const sums = Array.from({ length: M }, (_, i) => p.row(i).reduce((s, v) => s + v, 0));
      expectClose(`softmax row sums ${formatShape(x.shape)}`, { data: sums, shape: [M] }, { data: Array(M).fill(1), shape: [M] });
      for (let k = 0; k < M * N; k++) expect(p.data[k] >= 0 && p.data[k] <= 1).toBe(true);
    }), RUNS);
  });

  it("does not overflow on large values: shifting a row by ±1000 changes nothing", () => {
    const cases = fc.tuple(dim(), dim()).chain(([M, N]) => fc.tuple(tensorOf([M, N]), fc.constantFrom(1000, -1000, 700, 1e5)));
    fc.assert(fc.property(cases, ([x, shift]) => {
      const shifted = new Tensor(x.data.map((v) => v + shift), x.shape);
      const p = softmax(shifted);
      expect(p.data.every(Number.isFinite)).toBe(true);
      // Adding `shift` rounds each value (ulp(1e5) ≈ 1.5e-11), so compare at that scale.
      const tol = Math.max(TOL, 4 * Math.abs(shift) * Number.EPSILON * 3);
      expectClose(`softmax(x + ${shift}) vs softmax(x)`, p, softmax(x), tol);
    }), RUNS);
  });

  it("gives exact halves for [1000, 1000] and the documented [0.25, 0.75]", () => {
    expect(Array.from(softmax(Tensor.from([1000, 1000, -1000, -1000], [2, 2])).data)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expectClose("softmax [1000, 1000 + ln 3]", softmax(Tensor.from([1000, 1000 + Math.log(3)], [1, 2])),
      { data: [0.25, 0.75], shape: [1, 2] }, 1e-12);
    expectClose("softmax [0, ln 3]", softmax(Tensor.from([0, Math.log(3)], [1, 2])), { data: [0.25, 0.75], shape: [1, 2] });
  });
});

describe("argmax", () => {
  /** The simplest reference: the first index holding the row's maximum. */
  function firstMaxIndex(row: readonly number[]): number {
    return row.indexOf(Math.max(...row));
  }

  it("keeps the lowest index on ties", () => {
    const cases: Array<[number[], number]> = [
      [[1, 3, 3, 0], 1],
      [[5, 5, 5], 0],
      [[0, 2, 1, 2, 2], 1],
      [[-1, -1], 0],
      [[-0, 0], 0], // -0 and 0 compare equal: a tie
      [[0, -0], 0],
      [[-Infinity, -Infinity, -5], 2],
      [[7], 0],
    ];
    for (const [row, want] of cases) {
      expect(argmax(Tensor.from(row, [1, row.length]))[0], `argmax ${JSON.stringify(row)}`).toBe(want);
    }
  });

  it("matches the first-maximum reference on every row (small integers, so ties are frequent)", () => {
    const cases = fc.tuple(dim(), dim(9)).chain(([M, N]) =>
      fc.array(fc.oneof(fc.integer({ min: -2, max: 2 }), fc.double(VALUE)), { minLength: M * N, maxLength: M * N })
        .map((values) => Tensor.from(values, [M, N])));
    fc.assert(fc.property(cases, (x) => {
      const got = argmax(x);
      const [M, N] = x.shape;
      expect(got.length).toBe(M);
      for (let i = 0; i < M; i++) {
        const row = Array.from(x.row(i));
        expect(got[i], `argmax row ${i} of ${formatShape(x.shape)}: ${JSON.stringify(row)}`).toBe(firstMaxIndex(row));
        expect(got[i]).toBeLessThan(N);
      }
    }), { numRuns: 200 });
  });
});

// ---------------------------------------------------------------- embedding

describe("embedding", () => {
  it("gathers rows, against mathjs (one-hot ids times the table)", () => {
    const cases = fc.record({ V: dim(), C: dim() }).chain(({ V, C }) =>
      fc.tuple(tensorOf([V, C]), fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: 7 })));
    fc.assert(fc.property(cases, ([table, ids]) => {
      const [V] = table.shape;
      const oneHot = math.matrix(ids.map((id) => Array.from({ length: V }, (_, v) => (v === id ? 1 : 0)))); // [M, V]
      const expected = math.multiply(oneHot, toMath(table)); // [M, C]
      expectClose(`embedding ids ${JSON.stringify(ids)} table ${formatShape(table.shape)}`, embedding(table, ids), fromMath(expected));
    }), RUNS);
  });

  it("rejects an id outside the vocabulary, naming it, its index and the range", () => {
    const table = Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(() => embedding(table, [0, 3])).toThrow(ShapeError);
    expect(() => embedding(table, [0, 3])).toThrow(/embedding: token id 3 at index 1 is outside the vocabulary 0\.\.2/);
    expect(() => embedding(table, [-1])).toThrow(/embedding: token id -1 at index 0/);
    expect(() => embedding(table, [1.5])).toThrow(/embedding: token id 1.5 at index 0/);
  });
});

// ---------------------------------------------------------------- rope

/** Head layout and positions for RoPE cases: 1..3 heads of an even size 2..8, positions 0..512. */
const ropeCases = fc.record({ M: dim(5), heads: dim(3), half: dim(4) }).chain(({ M, heads, half }) =>
  fc.tuple(
    tensorOf([M, heads * 2 * half]),
    fc.array(fc.integer({ min: 0, max: 512 }), { minLength: M, maxLength: M }),
    fc.constant(heads),
  ));

describe("rope", () => {
  it("rotates each pair (j, j + D/2) by pos / 10000^(2j/D), against explicit mathjs 2x2 rotations", () => {
    fc.assert(fc.property(ropeCases, ([x, positions, heads]) => {
      const [M, width] = x.shape;
      const D = width / heads;
      const half = D / 2;
      const expected = new Float64Array(M * width);
      for (let i = 0; i < M; i++) {
        for (let h = 0; h < heads; h++) {
          for (let j = 0; j < half; j++) {
            const angle = math.divide(positions[i], math.pow(10000, (2 * j) / D) as number) as number;
            const rotation = math.matrix([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]);
            const o = i * width + h * D;
            const pair = math.matrix([x.data[o + j], x.data[o + j + half]]);
            const [a, b] = (math.multiply(rotation, pair) as math.Matrix).toArray() as number[];
            expected[o + j] = a;
            expected[o + j + half] = b;
          }
        }
      }
      expectClose(`rope x ${formatShape(x.shape)} heads ${heads} positions ${JSON.stringify(positions)}`,
        rope(x, positions, heads, 10000), { data: expected, shape: x.shape });
    }), RUNS);
  });

  it("is the identity at position 0", () => {
    fc.assert(fc.property(ropeCases, ([x, positions, heads]) => {
      const zeros = positions.map(() => 0);
      expectClose(`rope at position 0, x ${formatShape(x.shape)}`, rope(x, zeros, heads, 10000), x, 0);
    }), RUNS);
  });

  it("preserves the norm of every head", () => {
    fc.assert(fc.property(ropeCases, ([x, positions, heads]) => {
      const y = rope(x, positions, heads, 10000);
      const [M, width] = x.shape;
      const D = width / heads;
      const norms = (t: Tensor): number[] => Array.from({ length: M * heads }, (_, r) =>
        math.norm(Array.from(t.data.subarray(r * D, (r + 1) * D))) as number);
      expectClose(`rope head norms, x ${formatShape(x.shape)} heads ${heads}`,
        { data: norms(y), shape: [M, heads] }, { data: norms(x), shape: [M, heads] });
    }), RUNS);
  });

  it("makes q · k depend only on the distance between positions", () => {
    const cases = fc.tuple(dim(4), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 200 }))
      .chain(([half, m, n, s]) => fc.tuple(tensorOf([1, 2 * half]), tensorOf([1, 2 * half]), fc.constant([m, n, s] as const)));
    fc.assert(fc.property(cases, ([q, k, [m, n, s]]) => {
      const dot = (a: Tensor, b: Tensor): number => math.dot(Array.from(a.data), Array.from(b.data));
      const near = dot(rope(q, [m], 1, 10000), rope(k, [n], 1, 10000));
      const far = dot(rope(q, [m + s], 1, 10000), rope(k, [n + s], 1, 10000));
      expectClose(`rope relative, positions (${m}, ${n}) vs (${m + s}, ${n + s})`, { data: [near], shape: [1] }, { data: [far], shape: [1] }, 1e-11);
    }), RUNS);
  });
});

// ---------------------------------------------------------------- attention

/**
 * The oracle: per query head h, with key/value head g = floor(h / (H / Hkv)),
 * `softmax((Q_h K_g^T) / sqrt(D) restricted to visible keys) V_g`, built from mathjs matrices.
 * `visible[i][j]` is 1 when query i may see key j.
 */
function attentionOracle(q: Tensor, keys: Tensor, values: Tensor, shape: AttentionShape, visible: number[][]): Expected {
  const { numHeads: H, numKeyValueHeads: Hkv, headDim: D } = shape;
  const [M] = q.shape;
  const Q = toMath(q); // [M, H * D]
  const K = toMath(keys); // [L, Hkv * D]
  const V = toMath(values); // [L, Hkv * D]
  const heads: math.Matrix[] = [];
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / Hkv));
    const scores = math.divide(math.multiply(columns(Q, h * D, D), math.transpose(columns(K, g * D, D))), math.sqrt(D)) as math.Matrix; // [M, L]
    const rows = scores.toArray() as number[][];
    const rowMax = rows.map((row, i) => Math.max(...row.filter((_, j) => visible[i][j] === 1)));
    const weights = math.map(scores, (s: number, index: number[]) =>
      visible[index[0]][index[1]] === 1 ? math.exp(s - rowMax[index[0]]) : 0); // [M, L]
    const probs = math.dotDivide(weights, math.reshape(math.sum(weights, 1) as unknown as math.Matrix, [M, 1])) as math.Matrix; // [M, L]
    heads.push(math.multiply(probs, columns(V, g * D, D))); // [M, D]
  }
  return fromMath(heads.length === 1 ? heads[0] : (math.concat(...heads, 1) as math.Matrix)); // [M, H * D]
}

/** Head layouts with grouped-query heads: Hkv in 1..3, H = Hkv * (1..3), D in 1..6. */
const attentionShapes = fc.record({ Hkv: dim(3), group: dim(3), D: dim(6) })
  .map(({ Hkv, group, D }): AttentionShape => ({ numHeads: Hkv * group, numKeyValueHeads: Hkv, headDim: D }));

/** A causal case: M new rows after P cached rows, so L = P + M keys. */
const causalCases = fc.record({ shape: attentionShapes, M: dim(5), P: fc.integer({ min: 0, max: 5 }) }).chain(({ shape, M, P }) =>
  fc.tuple(
    fc.constant(shape),
    fc.constant(P),
    tensorOf([M, shape.numHeads * shape.headDim]),
    tensorOf([P + M, shape.numKeyValueHeads * shape.headDim]),
    tensorOf([P + M, shape.numKeyValueHeads * shape.headDim]),
  ));

/** Rows `from .. to - 1` of a 2-D tensor as a view sharing its buffer (as a KV-cache view does). */
function rowsOf(t: Tensor, from: number, to: number): Tensor {
  const width = t.shape[1];
  return new Tensor(t.data.subarray(from * width, to * width), [to - from, width]);
}

describe("attention", () => {
  it("matches the per-head mathjs oracle, causal with cached rows and GQA", () => {
    fc.assert(fc.property(causalCases, ([shape, P, q, k, v]) => {
      const [M] = q.shape;
      const L = P + M;
      const visible = Array.from({ length: M }, (_, i) => Array.from({ length: L }, (_, j) => (j <= P + i ? 1 : 0)));
      expectClose(`attention causal offset ${P}, q ${formatShape(q.shape)} keys ${formatShape(k.shape)} ${JSON.stringify(shape)}`,
        attention(q, k, v, shape, { kind: "causal", offset: P }), attentionOracle(q, k, v, shape, visible));
    }), RUNS);
  });

  it("matches the per-head mathjs oracle with an explicit random mask (each row sees at least one key)", () => {
    const cases = fc.record({ shape: attentionShapes, M: dim(5), L: dim(8) }).chain(({ shape, M, L }) =>
      fc.tuple(
        fc.constant(shape),
        tensorOf([M, shape.numHeads * shape.headDim]),
        tensorOf([L, shape.numKeyValueHeads * shape.headDim]),
        tensorOf([L, shape.numKeyValueHeads * shape.headDim]),
        fc.array(fc.boolean(), { minLength: M * L, maxLength: M * L }),
        fc.array(fc.integer({ min: 0, max: L - 1 }), { minLength: M, maxLength: M }),
      ));
    fc.assert(fc.property(cases, ([shape, q, k, v, bits, forced]) => {
      const [M] = q.shape;
      const [L] = k.shape;
      const visible = Array.from({ length: M }, (_, i) =>
        Array.from({ length: L }, (_, j) => (bits[i * L + j] || forced[i] === j ? 1 : 0)));
      const mask = Uint8Array.from(visible.flat());
      expectClose(`attention explicit mask ${JSON.stringify(visible)}, q ${formatShape(q.shape)} keys ${formatShape(k.shape)} ${JSON.stringify(shape)}`,
        attention(q, k, v, shape, { kind: "explicit", visible: mask }), attentionOracle(q, k, v, shape, visible));
    }), RUNS);
  });

  it("an explicit lower-triangular mask gives the causal result bit for bit", () => {
    fc.assert(fc.property(causalCases, ([shape, P, q, k, v]) => {
      const [M] = q.shape;
      const L = P + M;
      const mask = Uint8Array.from({ length: M * L }, (_, r) => (r % L <= P + Math.floor(r / L) ? 1 : 0));
      expectBitIdentical(`attention explicit-causal vs causal, offset ${P}`,
        attention(q, k, v, shape, { kind: "explicit", visible: mask }), attention(q, k, v, shape, { kind: "causal", offset: P }));
    }), RUNS);
  });

  it("matches its documented example: one key gives that key's value", () => {
    const out = attention(Tensor.from([1, 0], [1, 2]), Tensor.from([0, 1], [1, 2]), Tensor.from([5, 7], [1, 2]),
      { numHeads: 1, numKeyValueHeads: 1, headDim: 2 }, { kind: "causal", offset: 0 });
    expect(Array.from(out.data)).toEqual([5, 7]);
  });
});

// ---------------------------------------------------------------- batch invariance

describe("batch invariance (a row computed alone is bit-identical to the same row in a batch)", () => {
  it("linear: rows one at a time equal all rows at once, bit for bit", () => {
    const cases = fc.record({ M: dim(), K: dim(40), N: dim(9), bias: fc.boolean() }).chain(({ M, K, N, bias }) =>
      fc.tuple(tensorOf([M, K]), tensorOf([N, K]), bias ? tensorOf([N]) : fc.constant(undefined)));
    fc.assert(fc.property(cases, ([x, w, b]) => {
      const [M] = x.shape;
      const [N] = w.shape;
      const all = linear(x, w, b);
      const oneByOne = new Float64Array(M * N);
      for (let i = 0; i < M; i++) oneByOne.set(linear(rowsOf(x, i, i + 1), w, b).data, i * N);
      expectBitIdentical(`linear rows one at a time vs batch, x ${formatShape(x.shape)} W ${formatShape(w.shape)}`,
        { data: oneByOne, shape: [M, N] }, all);
    }), RUNS);
  });

  it("linear: an output column does not depend on how many columns are computed with it", () => {
    const cases = fc.record({ M: dim(), K: dim(40), N: dim(9) }).chain(({ M, K, N }) =>
      fc.tuple(tensorOf([M, K]), tensorOf([N, K])));
    fc.assert(fc.property(cases, ([x, w]) => {
      const [M] = x.shape;
      const [N] = w.shape;
      const all = linear(x, w);
      const columnByColumn = new Float64Array(M * N);
      for (let n = 0; n < N; n++) {
        const single = linear(x, rowsOf(w, n, n + 1)); // [M, 1]
        for (let i = 0; i < M; i++) columnByColumn[i * N + n] = single.data[i];
      }
      expectBitIdentical(`linear columns one at a time vs batch, W ${formatShape(w.shape)}`, { data: columnByColumn, shape: [M, N] }, all);
    }), RUNS);
  });

  it("attention (causal, after cached rows): rows one at a time equal all rows at once, bit for bit", () => {
    fc.assert(fc.property(causalCases, ([shape, P, q, k, v]) => {
      const [M, width] = q.shape;
      const all = attention(q, k, v, shape, { kind: "causal", offset: P });
      const oneByOne = new Float64Array(M * width);
      for (let i = 0; i < M; i++) {
        // Row i alone: its keys are the cache plus the rows before it, i.e. the first P + i + 1 keys.
        const row = attention(rowsOf(q, i, i + 1), rowsOf(k, 0, P + i + 1), rowsOf(v, 0, P + i + 1), shape, { kind: "causal", offset: P + i });
        oneByOne.set(row.data, i * width);
      }
      expectBitIdentical(`attention rows one at a time vs batch, offset ${P}, q ${formatShape(q.shape)} ${JSON.stringify(shape)}`,
        { data: oneByOne, shape: [M, width] }, all);
    }), RUNS);
  });

  it("attention (causal): any split of the rows into consecutive chunks gives the same bits", () => {
    const cases = causalCases.chain((c) =>
      fc.tuple(fc.constant(c), fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, c[2].shape[0] - 1) }), { maxLength: 4 })));
    fc.assert(fc.property(cases, ([[shape, P, q, k, v], cuts]) => {
      const [M, width] = q.shape;
      const bounds = [0, ...cuts.filter((c) => c < M).sort((a, b) => a - b), M];
      const all = attention(q, k, v, shape, { kind: "causal", offset: P });
      const chunked = new Float64Array(M * width);
      for (let c = 0; c + 1 < bounds.length; c++) {
        const [from, to] = [bounds[c], bounds[c + 1]];
        const part = attention(rowsOf(q, from, to), rowsOf(k, 0, P + to), rowsOf(v, 0, P + to), shape, { kind: "causal", offset: P + from });
        chunked.set(part.data, from * width);
      }
      expectBitIdentical(`attention chunks ${JSON.stringify(bounds)} vs batch, offset ${P}`, { data: chunked, shape: [M, width] }, all);
    }), RUNS);
  });
});

// ---------------------------------------------------------------- shape errors

describe("shape errors name the operation and show the shapes", () => {
  const t = (shape: number[]): Tensor => Tensor.zeros(shape);
  const heads: AttentionShape = { numHeads: 2, numKeyValueHeads: 1, headDim: 2 };
  const causal = (offset: number): Visibility => ({ kind: "causal", offset });

  it.each<[string, () => unknown, RegExp]>([
    ["linear K mismatch", () => linear(t([2, 3]), t([4, 5])), /linear: .*\[2, 3\] and \[4, 5\]/],
    ["linear rank", () => linear(t([6]), t([4, 6])), /linear: expected x of rank 2, got \[6\]/],
    ["linear bias", () => linear(t([2, 3]), t([4, 3]), t([3])), /linear: expected bias \[4\], got \[3\]/],
    ["matmul K mismatch", () => matmul(t([2, 3]), t([2, 3])), /matmul: .*\[2, 3\] and \[2, 3\]/],
    ["matmul rank", () => matmul(t([2, 3, 1]), t([3, 2])), /matmul: expected a of rank 2, got \[2, 3, 1\]/],
    ["add", () => add(t([2, 3]), t([3, 2])), /add: .*\[2, 3\] and \[3, 2\]/],
    ["mul", () => mul(t([4]), t([1, 4])), /mul: .*\[4\] and \[1, 4\]/],
    ["rmsNorm weight", () => rmsNorm(t([2, 3]), t([4]), 1e-5), /rmsNorm: .*\[2, 3\] and \[4\]/],
    ["softmax rank", () => softmax(t([5])), /softmax: .*\[5\]/],
    ["argmax rank", () => argmax(t([2, 2, 2])), /argmax: .*\[2, 2, 2\]/],
    ["argmax empty rows", () => argmax(t([3, 0])), /argmax: .*\[3, 0\]/],
    ["embedding rank", () => embedding(t([6]), [0]), /embedding: .*\[6\]/],
    ["rope odd head", () => rope(t([1, 6]), [0], 2, 10000), /rope: row width 6 is not 2 heads of an even head size/],
    ["rope positions", () => rope(t([2, 4]), [0], 1, 10000), /rope: expected 2 positions for x \[2, 4\], got 1/],
    ["attention q width", () => attention(t([3, 5]), t([3, 2]), t([3, 2]), heads, causal(0)), /attention: .*\[3, 4\], got \[3, 5\]/],
    ["attention keys width", () => attention(t([3, 4]), t([3, 4]), t([3, 4]), heads, causal(0)), /attention: .*\[3, 2\], got \[3, 4\]/],
    ["attention keys vs values", () => attention(t([3, 4]), t([3, 2]), t([4, 2]), heads, causal(0)), /attention: .*\[3, 2\] and \[4, 2\]/],
    ["attention GQA", () => attention(t([1, 6]), t([1, 4]), t([1, 4]), { numHeads: 3, numKeyValueHeads: 2, headDim: 2 }, causal(0)),
      /attention: 3 query heads are not a multiple of 2 key\/value heads/],
    ["attention causal offset", () => attention(t([2, 4]), t([5, 2]), t([5, 2]), heads, causal(1)), /attention: causal offset 1 \+ 2 query rows must equal 5 keys/],
    ["attention mask size", () => attention(t([2, 4]), t([3, 2]), t([3, 2]), heads, { kind: "explicit", visible: new Uint8Array(5) }),
      /attention: expected an explicit mask \[M, L\] = \[2, 3\], got 5 entries/],
    ["attention blind row", () => attention(t([2, 4]), t([3, 2]), t([3, 2]), heads, { kind: "explicit", visible: Uint8Array.of(1, 0, 0, 0, 0, 0) }),
      /attention: query row 1 may attend to no key/],
    ["Tensor size", () => Tensor.from([1, 2, 3], [2, 2]), /Tensor: shape \[2, 2\] needs 4 values, got 3/],
  ])("%s", (_, call, message) => {
    expect(call).toThrow(ShapeError);
    expect(call).toThrow(message);
  });
});

// ---------------------------------------------------------------- the helpers themselves

describe("test helpers report label, shape, largest difference and where", () => {
  it("expectClose names the worst element", () => {
    const a = { data: [0, 1, 2, 3.5], shape: [2, 2] };
    const e = { data: [0, 1, 2, 3], shape: [2, 2] };
    expect(() => expectClose("demo", a, e)).toThrow(/demo: shape \[2, 2\], largest difference 5\.000e-1 .* at \[1, 1\]: got 3\.5, expected 3/);
    expect(() => expectClose("demo", a, { data: [0, 1, 2], shape: [3] })).toThrow(/demo: shape \[2, 2\] .*expected \[3\]/);
    expect(() => expectClose("demo", e, e)).not.toThrow();
  });

  it("expectBitIdentical tells -0 from 0 and shows the bits", () => {
    expect(() => expectBitIdentical("bits", { data: [1, -0], shape: [2] }, { data: [1, 0], shape: [2] }))
      .toThrow(/bits: shape \[2\], 1 of 2 elements differ.*first at \[1\]: got 0 \(0x8000000000000000\), expected 0 \(0x0000000000000000\)/);
  });
});

describe("attention rejects a bad causal offset", () => {
  it("a negative or fractional offset is a ShapeError, not silent zeros", () => {
    const q = Tensor.from([1, 0, 0, 1], [2, 2]);
    const kv = Tensor.from([5, 7], [1, 2]);
    const shape = { numHeads: 1, numKeyValueHeads: 1, headDim: 2 };
    expect(() => attention(q, kv, kv, shape, { kind: "causal", offset: -1 })).toThrow(/causal offset must be a non-negative integer, got -1/);
  });
});
