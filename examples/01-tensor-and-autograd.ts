/**
 * Example 1 — tensors and autograd: the two foundations everything else is built from.
 *
 * 1. A `Tensor` is a Float64Array and a shape, nothing more. `linear` multiplies by a weight stored
 *    `[out, in]`, as Hugging Face stores it; `argmax` keeps the FIRST maximum (lowest id wins ties).
 * 2. Autograd: mark a weight `requiresGrad`, compute a loss, call `backward`. The gradient of the
 *    cross-entropy of softmax is `(softmax(logits) - onehot(target)) / rows` at the logits, and
 *    `gᵀ x` at the weight: the printed gradient equals that formula, and a finite difference.
 * 3. One gradient step lowers the loss.
 *
 * Every operation's backward sits right under its forward in `src/tensor/ops.ts`; the whole of
 * autograd is a topological sort and a reverse loop (`src/tensor/autograd.ts`).
 *
 * Run: npx tsx examples/01-tensor-and-autograd.ts
 */
import { backward } from "../src/tensor/autograd.ts";
import { crossEntropy } from "../src/tensor/losses.ts";
import { argmax, linear, softmax } from "../src/tensor/ops.ts";
import { Tensor } from "../src/tensor/tensor.ts";

const fmt = (values: ArrayLike<number>) => `[${Array.from(values, (v) => v.toFixed(4)).join(", ")}]`;

// 1. tensors: data + shape; linear with an [out, in] weight
const x = Tensor.from([1, 0, 2, 0, 1, -1], [2, 3]);                    // [T, C] = [2, 3]: two tokens, width 3
const W = Tensor.from([0.5, -0.2, 0.1, 0.3, 0.8, -0.5, -0.4, 0.2, 0.6, 0.0, 0.1, 0.1], [4, 3]); // [V, C] = [4, 3]
W.requiresGrad = true;                                                 // a trainable leaf: backward fills W.grad
const logits = linear(x, W);                                           // [T, V] = [2, 4]: logits[t][v] = W[v] · x[t]
console.log(`x ${JSON.stringify(x.shape)} = ${JSON.stringify(x.toNested())}`);
console.log(`W ${JSON.stringify(W.shape)} ([out, in], as Hugging Face stores a Linear weight)`);
console.log(`logits = linear(x, W) ${JSON.stringify(logits.shape)}: row 0 ${fmt(logits.data.subarray(0, 4))}, row 1 ${fmt(logits.data.subarray(4, 8))}`);
console.log(`argmax of each row: [${Array.from(argmax(logits)).join(", ")}]; ` +
  `on a tie the lowest id wins: argmax([1, 3, 3, 0]) = ${argmax(Tensor.from([1, 3, 3, 0], [1, 4]))[0]}`);

// 2. autograd: the loss, its backward, and the formula it must match
const targets = [2, 0];                                                // the "next token" of each row
const loss = crossEntropy(logits, targets);                            // [] mean over the 2 rows
backward(loss);
const p = softmax(linear(x, W)).data;                                  // [2, 4], constants (no graph needed)
const expected = new Float64Array(12);                                 // dL/dW[v][c] = Σ_t (p[t][v] - 1[v = target t]) x[t][c] / 2
for (let t = 0; t < 2; t++) {
  for (let v = 0; v < 4; v++) {
    const g = (p[t * 4 + v] - (v === targets[t] ? 1 : 0)) / 2;
    for (let c = 0; c < 3; c++) expected[v * 3 + c] += g * x.data[t * 3 + c];
  }
}
const h = 1e-6;                                                        // central difference on W[1][2]
const at = (delta: number) => {
  const Wd = Tensor.from(W.data, W.shape);
  Wd.data[5] += delta;
  return crossEntropy(linear(x, Wd), targets).data[0];
};
const numeric = (at(h) - at(-h)) / (2 * h);
const worst = Math.max(...Array.from(W.grad!, (g, i) => Math.abs(g - expected[i])));
console.log(`\nloss = cross-entropy(logits, targets [${targets}]) = ${loss.data[0].toFixed(6)} nats`);
console.log(`backward(loss): dL/dW row 1 = ${fmt(W.grad!.subarray(3, 6))}`);
console.log(`  the formula (softmax - onehot)ᵀ x / rows gives the same to ${worst.toExponential(1)}`);
console.log(`  finite difference on W[1][2]: ${numeric.toFixed(6)} vs autograd ${W.grad![5].toFixed(6)}`);

// 3. one gradient step downhill
const lr = 0.5;
const stepped = Tensor.from(W.data.map((w, i) => w - lr * W.grad![i]), W.shape);
const after = crossEntropy(linear(x, stepped), targets).data[0];
console.log(`\none step W -= ${lr} · dL/dW: the loss goes ${loss.data[0].toFixed(4)} -> ${after.toFixed(4)}`);
if (worst > 1e-12 || Math.abs(numeric - W.grad![5]) > 1e-6 || !(after < loss.data[0])) throw new Error("example 1: autograd disagrees with the formula — a bug");
