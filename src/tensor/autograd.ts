/**
 * Reverse-mode automatic differentiation: the whole of it is `track` (record how a tensor was made)
 * and `backward` (a topological sort and a reverse loop), as in micrograd.
 *
 * How it works. An operation computes its output with the forward kernels, then calls
 * `track(out, inputs, backward)`. When no input needs a gradient (`requiresGrad` false and no node) the
 * output stays a constant — inference builds no graph and allocates no gradient buffers. Otherwise the
 * output gets a {@link GradNode}: its inputs and a closure that, given d(loss)/d(out), ADDS
 * d(loss)/d(input) into each input's `grad` (accumulation, so a tensor used twice — the tied embedding,
 * the residual stream — sums both contributions). `backward(loss)` seeds d(loss)/d(loss) = 1, visits the
 * graph in reverse topological order and calls each node's closure once all of its consumers are done.
 *
 * What it is not: there is no higher-order differentiation, no in-place mutation tracking (ops never
 * mutate their inputs) and no graph retention: a graph is used once and then dropped with the tensors.
 *
 * Read next: `ops.ts`, where every primitive's backward sits right under its forward, and `losses.ts`.
 *
 * @module
 */
import { ShapeError, Tensor, formatShape, type GradNode } from "./tensor.ts";

// ---------------------------------------------------------------- recording

/**
 * True when gradients must flow through `t`: a trainable leaf, or a tensor computed from one.
 *
 * @example
 * ```ts
 * needsGrad(new Tensor(Float64Array.from([1]), [1], true)); // true
 * needsGrad(Tensor.from([1], [1]));                          // false (a constant)
 * ```
 * @category Autograd
 */
export function needsGrad(t: Tensor): boolean {
  return t.requiresGrad || t.node !== null;
}

/**
 * Records how `out` was computed when any of `inputs` needs a gradient; otherwise leaves `out` a
 * constant. `backward` receives d(loss)/d(out) (same size as `out`) and must add into
 * {@link gradOf}(input) for every input that {@link needsGrad}. Returns `out`.
 *
 * @example
 * ```ts
 * // y = 2x, written as a primitive
 * const y = track(Tensor.from([2 * x.data[0]], [1]), [x], (g) => { if (needsGrad(x)) gradOf(x)[0] += 2 * g[0]; });
 * ```
 * @category Autograd
 */
export function track(out: Tensor, inputs: readonly Tensor[], backward: (grad: Float64Array) => void): Tensor {
  if (inputs.some(needsGrad)) out.node = { inputs, backward } satisfies GradNode;
  return out;
}

/**
 * The gradient buffer of `t`, allocated (zeros) on first use. Backward closures accumulate into it.
 *
 * @example
 * ```ts
 * gradOf(Tensor.from([1, 2], [2])); // Float64Array [0, 0], kept in `grad`
 * ```
 * @category Autograd
 */
export function gradOf(t: Tensor): Float64Array {
  if (t.grad === null) t.grad = new Float64Array(t.size);
  return t.grad;
}

// ---------------------------------------------------------------- the backward pass

/**
 * Accumulates d(loss)/d(leaf) into `grad` of every leaf with `requiresGrad` that `loss` depends on.
 *
 * A depth-first search orders the graph so that every tensor comes after all tensors it was computed
 * from; walking that order backwards calls each node only after all of its consumers have added their
 * share to its `grad`. Intermediate gradients are released afterwards (`grad = null` on non-leaves) and
 * the graph is cut (`node = null`), so memory goes back to the collector.
 *
 * @param loss - a scalar (one element) tensor
 * @throws ShapeError when `loss` has more than one element or does not depend on any trainable tensor
 * @example
 * ```ts
 * const w = new Tensor(Float64Array.from([3]), [1], true);
 * backward(mul(w, w)); // w.grad = [6]
 * ```
 * @category Autograd
 */
export function backward(loss: Tensor): void {
  if (loss.size !== 1) throw new ShapeError(`backward: expected a scalar loss, got shape ${formatShape(loss.shape)}`);
  if (loss.node === null) throw new ShapeError("backward: the loss does not depend on any tensor that requires a gradient");

  // topological order: iterative DFS (a deep model would overflow a recursive one)
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([loss]);
  const stack: [Tensor, number][] = [[loss, 0]];   // a tensor, and the index of its next input to visit
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top[0].node?.inputs ?? [];
    if (top[1] < inputs.length) {
      const child = inputs[top[1]++];
      if (!visited.has(child) && child.node !== null) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }

  // reverse loop: seed d(loss)/d(loss) = 1, then each node pushes its gradient to its inputs
  gradOf(loss)[0] += 1;
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (t.grad !== null) t.node!.backward(t.grad);
  }
  for (const t of order) {
    t.node = null;
    if (!t.requiresGrad) t.grad = null;
  }
}

/**
 * Clears the gradients of `tensors` (before the next minibatch).
 *
 * @example
 * ```ts
 * zeroGrad(trainable.tensors); // every grad buffer back to 0 before the next minibatch
 * ```
 * @category Autograd
 */
export function zeroGrad(tensors: readonly Tensor[]): void {
  for (const t of tensors) t.grad?.fill(0);
}
