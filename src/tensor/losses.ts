/**
 * The two losses of Jacobi Forcing, as differentiable primitives on logits.
 *
 * - `crossEntropy`: next-token cross-entropy against hard targets, with an ignore index (prompt
 *   tokens, padding) — the AR loss `L_AR`, the loss of pretraining, and the replay loss that
 *   distillation can add (`src/training/distill-loss.ts`; not in the paper).
 * - `softCrossEntropy`: cross-entropy of student rows against the softmax of teacher rows that are
 *   treated as constants (stop-gradient) — the progressive consistency loss `L_pc` of docs/ALGORITHM.md §3
 *   (paper Eq. 8), where student = a noisy-block row and teacher = the clean-block row at the same position.
 *
 * Both work on log-softmax computed with the row max subtracted, so no `exp` overflows, and both are
 * fused: the gradient `softmax - target` is cheaper and more accurate than chaining softmax and log.
 *
 * Read next: `src/training/optimizer.ts` (what is done with the gradients).
 *
 * @module
 */
import { gradOf, track } from "./autograd.ts";
import { ShapeError, Tensor, formatShape } from "./tensor.ts";

// ---------------------------------------------------------------- helpers

/** log(sum_j exp(x[o + j])) over one row of length N, with the max subtracted first. */
function logSumExp(x: Float64Array, o: number, N: number): number {
  let max = -Infinity;
  for (let j = 0; j < N; j++) if (x[o + j] > max) max = x[o + j];
  let sum = 0;
  for (let j = 0; j < N; j++) sum += Math.exp(x[o + j] - max);
  return max + Math.log(sum);
}

/**
 * How a loss combines its rows: `mean` divides the sum by the rows kept, `sum` does not.
 *
 * @category Losses
 */
export type Reduction = "mean" | "sum";

// ---------------------------------------------------------------- cross-entropy

/**
 * Cross-entropy of each row's logits against a hard target, averaged (or summed) over the rows whose
 * target is not `ignoreIndex`:
 * `L = (1/count) sum_i [logsumexp(z_i) - z_i[t_i]]`, and `dL/dz_i = (softmax(z_i) - onehot(t_i)) / count`.
 * With no counted row the loss is 0 and so is its gradient.
 *
 * @param logits - [M, V]
 * @param targets - [M] token ids, or `ignoreIndex`
 * @param ignoreIndex - target value that excludes a row (default -1)
 * @param reduction - `mean` (default) or `sum` (for bits per character over many calls)
 * @returns a scalar tensor `[]`, in nats
 * @example
 * ```ts
 * crossEntropy(Tensor.from([0, 0], [1, 2]), [1]).data[0]; // 0.6931... = ln 2
 * ```
 * @category Losses
 */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>, ignoreIndex = -1, reduction: Reduction = "mean"): Tensor {
  if (logits.shape.length !== 2) throw new ShapeError(`crossEntropy: expected logits [M, V], got ${formatShape(logits.shape)}`);
  const [M, V] = logits.shape;
  if (targets.length !== M) throw new ShapeError(`crossEntropy: expected ${M} targets for logits ${formatShape(logits.shape)}, got ${targets.length}`);
  const z = logits.data;
  const lse = new Float64Array(M);
  let total = 0, count = 0;
  for (let i = 0; i < M; i++) {
    const t = targets[i];
    if (t === ignoreIndex) continue;
    if (!Number.isInteger(t) || t < 0 || t >= V) {
      throw new ShapeError(`crossEntropy: target ${t} at row ${i} is outside the vocabulary 0..${V - 1} (ignore index ${ignoreIndex})`);
    }
    count++;
    lse[i] = logSumExp(z, i * V, V);
    total += lse[i] - z[i * V + t];
  }
  const divisor = reduction === "mean" && count > 0 ? count : 1;
  return track(Tensor.from([total / divisor], []), [logits], (g) => {
    // dL/dz_ij = g (softmax_j - [j = t_i]) / divisor
    const dz = gradOf(logits);
    const k = g[0] / divisor;
    for (let i = 0; i < M; i++) {
      const t = targets[i];
      if (t === ignoreIndex) continue;
      const o = i * V;
      for (let j = 0; j < V; j++) dz[o + j] += k * Math.exp(z[o + j] - lse[i]);
      dz[o + t] -= k;
    }
  });
}

// ---------------------------------------------------------------- soft cross-entropy

/**
 * Soft cross-entropy of student rows against stop-gradient teacher rows, averaged over the pairs:
 * `L = (1/n) sum_r sum_j -softmax(T_{t_r})_j log_softmax(S_{s_r})_j`, and
 * `dL/dS_{s_r} = (softmax(S_{s_r}) - softmax(T_{t_r})) / n`. The teacher receives NO gradient from this
 * loss even when it is the same tensor as the student (Jacobi Forcing reads both rows from one forward
 * over a packed sequence: noisy rows are students, the clean rows at the same positions are teachers).
 *
 * @param student - [M, V] logits
 * @param studentRows - [n] rows of `student`
 * @param teacher - [M', V] logits (may be `student` itself)
 * @param teacherRows - [n] rows of `teacher`, paired with `studentRows`
 * @returns a scalar tensor `[]`, in nats (0 with zero gradient when n = 0)
 * @example
 * ```ts
 * const z = Tensor.from([0, 0, 0, 0], [2, 2]);
 * softCrossEntropy(z, [0], z, [1]).data[0]; // 0.6931... = ln 2 (uniform against uniform)
 * ```
 * @category Losses
 */
export function softCrossEntropy(student: Tensor, studentRows: readonly number[], teacher: Tensor, teacherRows: readonly number[]): Tensor {
  if (student.shape.length !== 2 || teacher.shape.length !== 2 || student.shape[1] !== teacher.shape[1]) {
    throw new ShapeError(`softCrossEntropy: expected student [M, V] and teacher [M', V], got ${formatShape(student.shape)} and ${formatShape(teacher.shape)}`);
  }
  if (studentRows.length !== teacherRows.length) {
    throw new ShapeError(`softCrossEntropy: expected as many teacher rows as student rows, got ${teacherRows.length} and ${studentRows.length}`);
  }
  const V = student.shape[1];
  const checkRows = (rows: readonly number[], M: number, name: string): void => {
    rows.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r >= M) throw new ShapeError(`softCrossEntropy: ${name} row ${r} (entry ${i}) is outside 0..${M - 1}`);
    });
  };
  checkRows(studentRows, student.shape[0], "student");
  checkRows(teacherRows, teacher.shape[0], "teacher");
  const n = studentRows.length;
  // the teacher distributions are read now: constants from here on (stop-gradient)
  const target = new Float64Array(n * V);
  const studentLse = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) {
    const to = teacherRows[r] * V;
    const tl = logSumExp(teacher.data, to, V);
    for (let j = 0; j < V; j++) target[r * V + j] = Math.exp(teacher.data[to + j] - tl);
    const so = studentRows[r] * V;
    studentLse[r] = logSumExp(student.data, so, V);
    for (let j = 0; j < V; j++) {
      const pj = target[r * V + j];
      if (pj !== 0) total -= pj * (student.data[so + j] - studentLse[r]);
    }
  }
  const divisor = n > 0 ? n : 1;
  return track(Tensor.from([total / divisor], []), [student], (g) => {
    // dL/dS_j = g (softmax(S)_j - p_j) / n, for student rows only
    const ds = gradOf(student);
    const k = g[0] / divisor;
    for (let r = 0; r < n; r++) {
      const so = studentRows[r] * V;
      for (let j = 0; j < V; j++) ds[so + j] += k * (Math.exp(student.data[so + j] - studentLse[r]) - target[r * V + j]);
    }
  });
}
