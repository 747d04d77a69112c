/**
 * Decoding-method benchmark: AR greedy, Jacobi on the teacher, Jacobi on the Jacobi Forcing (JF) model
 * at a fixed block size and at the block size `auto` chooses, and multi-block (MR) decoding on the JF
 * model — side by side, in one process and one run, on held-out prompts.
 *
 * For each method: tokens per forward (TPF), token positions processed per committed token (the compute
 * the parallelism costs), decode tokens per second, the speedup over AR of the same model measured in
 * this run, and whether the output equals AR's on every prompt (it must; `false` is a bug and fails the
 * bench).
 *
 * Timing: each method decodes every evaluation prompt; the methods take turns, round after round (every
 * other round in reverse order), and each keeps the median of its rounds — so a change in the machine's load (2 cores shared here) hits
 * all of them alike. Decode time is the wall time minus the prompts' prefill, measured the same way.
 *
 * A benchmark, not a test: compare numbers measured in the same run only.
 *
 * @module
 */
import { KVCache } from "../src/model/cache.ts";
import type { Checkpoint } from "../src/model/checkpoint.ts";
import { forward } from "../src/model/transformer.ts";
import type { DecodeStats, StopOptions } from "../src/decoding/acceptance.ts";
import { AUTO_BLOCK_SIZES, autoBlockSize, measureCostCurve, type BlockSizeChoice } from "../src/decoding/block-size.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import type { BenchModels } from "./models.ts";

/** One row of the method table. */
export interface MethodRow {
  /** `math: jacobi auto (n=4) jf`: dataset, method, model. */
  readonly name: string;
  /** Committed tokens per decode forward, over all prompts. */
  readonly tokensPerForward: number;
  /** Token positions processed per committed token (1 for AR). */
  readonly positionsPerToken: number;
  /** Decode tokens per second (prefill time subtracted). */
  readonly tokensPerSecond: number;
  /** tokensPerSecond / tokens per second of AR on the same model, in this run. */
  readonly speedupVsAr: number;
  /** Whether the tokens equal AR greedy's on every prompt (must be true). */
  readonly identicalToAr: boolean;
}

/** What {@link compareMethods} runs. */
export interface MethodBenchOptions {
  /** Most new tokens per prompt (EOS ends a generation earlier). */
  readonly maxNewTokens: number;
  /** Rounds of timing (the median is kept). */
  readonly rounds: number;
  /** Block size of the fixed-n Jacobi rows and of the MR row. */
  readonly blockSize: number;
}

/** A method's name, the model it runs on, and its decode of one prompt. */
interface Method {
  readonly name: string;
  readonly model: "teacher" | "jf";
  readonly decode: (prompt: readonly number[]) => { tokens: number[]; stats: DecodeStats };
}

/**
 * Runs every method on every evaluation prompt of one dataset, after choosing the `auto` block size on
 * the calibration prompts, and checks each output against AR of the same model.
 *
 * @example
 * ```ts
 * const { rows, auto } = compareMethods(loadBenchModels("math", console.log), prompts, { maxNewTokens: 64, rounds: 3, blockSize: 16 });
 * ```
 */
export function compareMethods(
  models: BenchModels, prompts: { readonly evaluation: readonly number[][]; readonly calibration: readonly number[][] }, options: MethodBenchOptions,
): { rows: MethodRow[]; auto: BlockSizeChoice } {
  const stop: StopOptions = { maxNewTokens: options.maxNewTokens };
  const { teacher, jf } = models;
  const curve = { points: measureCostCurve(jf.config, jf.params, AUTO_BLOCK_SIZES, { reps: 5 }), source: "measured by this bench run" };
  const auto = autoBlockSize(jf.config, jf.params, prompts.calibration, { stop, curve });
  const n = options.blockSize;
  const methods: Method[] = [
    { name: "ar", model: "teacher", decode: (p) => arGreedy(teacher.config, teacher.params, p, stop) },
    { name: `jacobi n=${n}`, model: "teacher", decode: (p) => jacobi(teacher.config, teacher.params, p, { ...stop, blockSize: n }) },
    ...(models.jfIsTeacher ? [] : [{ name: "ar", model: "jf" as const, decode: (p: readonly number[]) => arGreedy(jf.config, jf.params, p, stop) }]),
    { name: `jacobi n=${n}`, model: "jf", decode: (p) => jacobi(jf.config, jf.params, p, { ...stop, blockSize: n }) },
    // n = 1 is AR: one token a forward, decoded by the AR loop, which skips Jacobi's bookkeeping.
    { name: `jacobi auto (n=${auto.blockSize})`, model: "jf", decode: (p) => (auto.blockSize === 1
      ? arGreedy(jf.config, jf.params, p, stop) : jacobi(jf.config, jf.params, p, { ...stop, blockSize: auto.blockSize })) },
    { name: `mr n=${n} K=2 pool=4`, model: "jf", decode: (p) => multiBlock(jf.config, jf.params, p, { ...stop, blockSize: n, maxBlocks: 2, spawnRatio: 0.85, poolSize: 4 }) },
  ];

  // Outputs and counts (untimed), then the timed rounds.
  const outputs = methods.map((m) => prompts.evaluation.map((p) => m.decode(p)));
  const prefill = (c: Checkpoint) => () => { for (const p of prompts.evaluation) forward(c.config, c.params, p, { cache: new KVCache(c.config) }); };
  const timed = [...methods.map((m) => () => { for (const p of prompts.evaluation) m.decode(p); }), prefill(teacher), prefill(jf)];
  const times: number[][] = timed.map(() => []);
  for (let r = 0; r < options.rounds; r++) {
    // Every other round in reverse order, so that no method always runs right after the same one.
    const order = timed.map((_, i) => (r % 2 === 0 ? i : timed.length - 1 - i));
    for (const i of order) {
      const t0 = performance.now();
      timed[i]();
      times[i].push(performance.now() - t0);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const prefillMs = { teacher: median(times[methods.length]), jf: median(times[methods.length + 1]) };

  // Each method is compared with AR on its own model (the teacher's AR when the teacher stands in for JF).
  const arIndex = (model: "teacher" | "jf") => methods.findIndex((m) => m.name === "ar" && m.model === (models.jfIsTeacher ? "teacher" : model));
  const tokensPerSecond = methods.map((m, i) => {
    const tokens = outputs[i].reduce((s, o) => s + o.tokens.length, 0);
    return tokens / (Math.max(1e-3, median(times[i]) - prefillMs[m.model]) / 1000);
  });
  const rows = methods.map((m, i): MethodRow => {
    const ar = arIndex(m.model);
    const sum = (key: keyof DecodeStats) => outputs[i].reduce((s, o) => s + (o.stats[key] as number), 0);
    return {
      name: `${models.dataset}: ${m.name} ${m.model}`,
      tokensPerForward: sum("committedTokens") / sum("forwards"),
      positionsPerToken: sum("tokenPositions") / sum("committedTokens"),
      tokensPerSecond: tokensPerSecond[i],
      speedupVsAr: tokensPerSecond[i] / tokensPerSecond[ar],
      identicalToAr: outputs[i].every((o, j) => o.tokens.length === outputs[ar][j].tokens.length && o.tokens.every((t, k) => t === outputs[ar][j].tokens[k])),
    };
  });
  return { rows, auto };
}

/** The method table as aligned text. */
export function formatMethodRows(rows: readonly MethodRow[]): string {
  const lines = ["method                                  TPF   positions/token   tokens/s   speedup vs AR   identical to AR"];
  for (const r of rows) {
    lines.push(`${r.name.padEnd(36)} ${r.tokensPerForward.toFixed(2).padStart(5)}   ${r.positionsPerToken.toFixed(2).padStart(15)}   ` +
      `${r.tokensPerSecond.toFixed(0).padStart(8)}   ${r.speedupVsAr.toFixed(2).padStart(12)}x   ${r.identicalToAr ? "yes" : "NO (a bug)"}`);
  }
  return lines.join("\n") + "\n";
}
