/**
 * The GPU bench's forward latency: t(T) on a warm GPU, as a decoder's steady state sees it (the worker
 * encoded the forward ahead), medians; used by `bench/gpu.ts` and `bench/gpu-folder.ts`.
 *
 * @module
 */
import type { WebGpuRunner } from "../src/backend/webgpu/runner.ts";
import { Rng } from "../src/tensor/random.ts";

/** The middle value (the upper one of an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A line of the human summary on stderr, stamped with the wall-clock time (to line up with `nvidia-smi` samples). */
export function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 22)} ${line}\n`);
}

/** A forward's latency at T tokens, on the main thread and its split in the worker. */
export interface LatencyRow {
  /** New tokens in the forward. */
  readonly T: number;
  /** Median wall time of `runner.forward` on the main thread (what a decoder pays). */
  readonly ms: number;
  /** Of which, median, in the worker: encoding the dispatches, and waiting for the GPU and the read-back. */
  readonly encodeMs: number;
  readonly submitMs: number;
  /** Encoding the next forward ahead, after the submit (overlaps the GPU's work; inside queueMs when the GPU finished first). */
  readonly aheadMs: number;
  /** From the end of the submit: until the queue was done (the GPU's work), and until the ids were mapped. */
  readonly queueMs: number;
  readonly waitMs: number;
  readonly ratio: number;
}

/**
 * Keeps the GPU busy with forwards for `seconds`: an idle GPU drops its clock within a second and takes
 * a few hundred milliseconds of load to come back to full speed, so a measurement that starts cold times
 * the ramp (docs/webgpu.md §6).
 */
export function warmUp(runner: WebGpuRunner, seconds: number): void {
  const until = performance.now() + 1000 * seconds;
  while (performance.now() < until) runner.forward([1, 2, 3, 4, 5, 6, 7, 8]);
}

/**
 * Median ms of a forward over T tokens after a 32-token cache, rolled back after each (as Jacobi does),
 * for every T in `all` that fits the context, the sizes taking turns (so each sees the same GPU clock), after a warm-up.
 * Each turn forwards T tokens `runner.settleForwards` times, then times one more: a decoder's steady state, where
 * the worker encoded this forward ahead, for T rows (`prepared`, GpuModel.forward).
 */
export function forwardLatency(runner: WebGpuRunner, reps: number, all: readonly number[]): LatencyRow[] {
  const rng = new Rng("bench-gpu");
  const V = runner.config.vocabSize;
  const cache = runner.newCache();
  runner.forward(Array.from({ length: 32 }, () => rng.int(V)), { cache });
  const sizes = all.filter((T) => 32 + T <= runner.config.maxPositions);
  const inputs = sizes.map((T) => Array.from({ length: T }, () => rng.int(V)));
  const samples = sizes.map(() => ({ ms: [] as number[], encode: [] as number[], submit: [] as number[], ahead: [] as number[], queue: [] as number[], wait: [] as number[] }));
  warmUp(runner, 1);
  for (let r = 0; r < reps + 1; r++) {
    sizes.forEach((_, i) => {
      for (let k = 0; k < (runner.settleForwards ?? 0); k++) {
        runner.forward(inputs[i], { cache });
        cache.truncate(32);
      }
      const start = performance.now();
      runner.forward(inputs[i], { cache });
      const ms = performance.now() - start;
      cache.truncate(32);
      if (r === 0) return;                                                                // one round of warm-up
      const t = runner.lastTiming();
      if (!t.prepared) throw new Error(`bench: a forward of ${sizes[i]} tokens after one of the same size was not prepared ahead`);
      samples[i].ms.push(ms); samples[i].encode.push(t.encodeMs); samples[i].submit.push(t.submitMs); samples[i].ahead.push(t.aheadMs);
      samples[i].queue.push(t.queueMs); samples[i].wait.push(t.waitMs);
    });
  }
  const rows = sizes.map((T, i) => ({
    T, ms: median(samples[i].ms), encodeMs: median(samples[i].encode), submitMs: median(samples[i].submit), aheadMs: median(samples[i].ahead),
    queueMs: median(samples[i].queue), waitMs: median(samples[i].wait),
  }));
  cache.release?.();
  return rows.map((r) => ({ ...r, ratio: r.ms / rows[0].ms }));
}

