/**
 * The optimizer: AdamW (Adam with decoupled weight decay, Loshchilov & Hutter 2019), a cosine
 * learning-rate schedule with linear warm-up, and clipping by the global gradient norm — the recipe of
 * the paper (docs/ALGORITHM.md §3: AdamW, betas (0.9, 0.95), cosine schedule, warm-up).
 *
 * The optimizer state (the two moment buffers and the step count) is plain data, so the training
 * checkpoint can save it and a resumed run continues bit for bit.
 *
 * Read next: `trainer.ts`, which calls `clipGradNorm`, `learningRate` and `adamwStep` once per step.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";

// ---------------------------------------------------------------- hyper-parameters

/**
 * AdamW hyper-parameters.
 *
 * @category Training
 */
export interface AdamWOptions {
  /** beta1: decay of the first-moment (mean) estimate. */
  readonly beta1: number;
  /** beta2: decay of the second-moment (uncentred variance) estimate. */
  readonly beta2: number;
  /** epsilon added to sqrt(v-hat) so the update stays finite. */
  readonly eps: number;
  /** lambda: decoupled weight decay, applied as `w -= lr * lambda * w` (not through the gradient). */
  readonly weightDecay: number;
}

/**
 * The paper's betas (0.9, 0.95), eps 1e-8, weight decay 0.1.
 *
 * @category Training
 */
export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

// ---------------------------------------------------------------- state

/**
 * AdamW's state for a list of parameters (same order).
 *
 * @category Training
 */
export interface AdamWState {
  /** Number of updates taken so far (t in the bias corrections). */
  step: number;
  /** First moments m, one buffer per parameter. */
  readonly m: Float64Array[];
  /** Second moments v, one buffer per parameter. */
  readonly v: Float64Array[];
}

/**
 * Zeroed state for `params`.
 *
 * @example
 * ```ts
 * adamwInit([Tensor.zeros([2, 3])]).m[0].length; // 6
 * ```
 * @category Training
 */
export function adamwInit(params: readonly Tensor[]): AdamWState {
  return { step: 0, m: params.map((p) => new Float64Array(p.size)), v: params.map((p) => new Float64Array(p.size)) };
}

// ---------------------------------------------------------------- the update

/**
 * One AdamW update of every parameter from its `grad`, with `t = state.step + 1`:
 * ```
 * m = b1 m + (1 - b1) g          v = b2 v + (1 - b2) g^2
 * m^ = m / (1 - b1^t)            v^ = v / (1 - b2^t)
 * w = w - lr * (m^ / (sqrt(v^) + eps) + lambda * w)      (lambda only where decay[i])
 * ```
 * Weight decay is decoupled from the adaptive step: it shrinks the weight itself, not the gradient.
 *
 * @param params - the parameters; those with a null `grad` are skipped (no gradient reached them)
 * @param decay - per parameter, whether weight decay applies (matrices yes; norm gains and biases no)
 * @example
 * ```ts
 * // first step, g = 0.5, lr = 0.1, no decay: m^ = g, v^ = g^2, so w moves by lr * g / |g| = 0.1
 * ```
 * @category Training
 */
export function adamwStep(params: readonly Tensor[], decay: readonly boolean[], state: AdamWState, lr: number, options: AdamWOptions = DEFAULT_ADAMW): void {
  const { beta1, beta2, eps, weightDecay } = options;
  state.step++;
  const c1 = 1 - Math.pow(beta1, state.step);
  const c2 = 1 - Math.pow(beta2, state.step);
  params.forEach((p, i) => {
    const g = p.grad;
    if (g === null) return;
    const w = p.data;
    const m = state.m[i];
    const v = state.v[i];
    const lambda = decay[i] ? weightDecay : 0;
    for (let k = 0; k < w.length; k++) {
      m[k] = beta1 * m[k] + (1 - beta1) * g[k];
      v[k] = beta2 * v[k] + (1 - beta2) * g[k] * g[k];
      const update = m[k] / c1 / (Math.sqrt(v[k] / c2) + eps);
      w[k] -= lr * (update + lambda * w[k]);
    }
  });
}

// ---------------------------------------------------------------- schedule and clipping

/**
 * The learning-rate schedule ({@link learningRate}).
 *
 * @category Training
 */
export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  readonly maxLr: number;
  /** Final learning rate, reached at the last step. */
  readonly minLr: number;
  /** Steps of linear warm-up from 0. */
  readonly warmupSteps: number;
  /** Total number of steps. */
  readonly totalSteps: number;
}

/**
 * Learning rate at (0-based) `step`: linear warm-up `maxLr (step + 1) / warmup`, then a cosine from
 * `maxLr` down to `minLr` at the last step: `minLr + (maxLr - minLr) (1 + cos(pi r)) / 2`,
 * `r = (step - warmup) / (total - 1 - warmup)`.
 *
 * @example
 * ```ts
 * learningRate(0, { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 100 }); // 1e-4 (1/10 of the peak)
 * learningRate(99, { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 100 }); // 1e-4
 * ```
 * @category Training
 */
export function learningRate(step: number, s: ScheduleOptions): number {
  if (step < s.warmupSteps) return (s.maxLr * (step + 1)) / s.warmupSteps;
  const span = s.totalSteps - 1 - s.warmupSteps;
  const r = span > 0 ? Math.min(1, (step - s.warmupSteps) / span) : 1;
  return s.minLr + ((s.maxLr - s.minLr) * (1 + Math.cos(Math.PI * r))) / 2;
}

/**
 * Scales all gradients by `min(1, maxNorm / ||g||)`, where `||g||` is the L2 norm of all gradients
 * together. Returns the norm before clipping (worth logging: spikes show instability).
 *
 * @example
 * ```ts
 * // grads [3] and [4]: norm 5; with maxNorm 1 they become [0.6] and [0.8]
 * ```
 * @category Training
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  let ss = 0;
  for (const p of params) if (p.grad !== null) for (const g of p.grad) ss += g * g;
  const norm = Math.sqrt(ss);
  if (norm > maxNorm) {
    const k = maxNorm / norm;
    for (const p of params) if (p.grad !== null) for (let i = 0; i < p.grad.length; i++) p.grad[i] *= k;
  }
  return norm;
}
