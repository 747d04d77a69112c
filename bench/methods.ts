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
 * Timing: every method is timed side by side with AR of its model, decode by decode. On each prompt, in
 * each round, the method, AR and the prompt's prefill take turns (AR, method, prefill; method, prefill,
 * AR; ...) for a set time — a fast method many times, MR perhaps once — and the method's decode time is
 * its mean time minus the prefill's, as is AR's. The speedup of the round is AR's decode time over the
 * method's, each summed over the prompts. Run next to each other, they see the same load: on a machine
 * shared with other work, a ratio of two runs half a second apart moves far more from round to round
 * than one of runs side by side (docs/performance.md has the numbers). The methods take turns, every
 * other round in reverse order; AR's own time in a round is the mean of its times beside each method of
 * its model. Every rate is the median over the rounds, with its spread (min, median, max); a speedup is
 * taken round by round.
 *
 * The noise is measured, not assumed: a control row times the same decode as AR (AR greedy of the same
 * model) as a method of its own, beside AR like every other method. Without noise its speedup would be
 * 1; an effect smaller than its spread is noise. A method that would run the very decode of another row
 * (the `auto` row at n = 1 is AR, at n = 16 it is the fixed n = 16 row) is not timed twice: its row says
 * "same decode as" that row.
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
import { formatSpread, spreadOf, type Spread } from "./spread.ts";
import type { BenchModels } from "./models.ts";

/** One row of the method table. */
export interface MethodRow {
  /** `math: jacobi auto (n=4) jf`: dataset, method, model. */
  readonly name: string;
  /** Committed tokens per decode forward, over all prompts. */
  readonly tokensPerForward: number;
  /** Token positions processed per committed token (1 for AR). */
  readonly positionsPerToken: number;
  /** Decode tokens per second (prefill time subtracted), the median over the rounds. */
  readonly tokensPerSecond: number;
  /** tokensPerSecond / tokens per second of AR on the same model, the median over the rounds of each round's ratio. */
  readonly speedupVsAr: number;
  /** min, median and max over the rounds of `tokensPerSecond` and of `speedupVsAr`. */
  readonly spread: { readonly tokensPerSecond: Spread; readonly speedupVsAr: Spread };
  /** Whether the tokens equal AR greedy's on every prompt (must be true). */
  readonly identicalToAr: boolean;
  /** The row whose decode this row would run (same decoder, block size and model), timed once there and shown here; null when timed itself. */
  readonly sameDecodeAs: string | null;
  /** True for the control row: AR of the same model timed again as a method of its own. */
  readonly control: boolean;
}

/** What {@link compareMethods} runs. */
export interface MethodBenchOptions {
  /** Most new tokens per prompt (EOS ends a generation earlier). */
  readonly maxNewTokens: number;
  /** Rounds of timing: in each, every method decodes every prompt, beside AR. */
  readonly rounds: number;
  /** Least time a method and AR alternate on one prompt in one round, ms (at least one decode each). */
  readonly msPerPrompt: number;
  /** Block size of the fixed-n Jacobi rows and of the MR row. */
  readonly blockSize: number;
}

/** A decode of one prompt, and what it is: two methods with the same `decoder` on the same checkpoint run the same decode. */
interface Decoder {
  /** `ar`, `jacobi n=16`, `mr n=16 K=2 r=0.85 pool=4`. */
  readonly decoder: string;
  readonly decode: (prompt: readonly number[]) => { tokens: number[]; stats: DecodeStats };
}

/** A method's name, the model it runs on, and its decoder. */
interface Method extends Decoder {
  readonly name: string;
  readonly model: "teacher" | "jf";
}

/**
 * Runs every method on every evaluation prompt of one dataset, after choosing the `auto` block size on
 * the calibration prompts, and checks each output against AR of the same model; and the control: AR of
 * the JF model (of the teacher, when it stands in) timed again as a method of its own.
 *
 * @example
 * ```ts
 * const { rows, control, auto } = compareMethods(loadBenchModels("math", console.log), prompts, { maxNewTokens: 64, rounds: 5, msPerPrompt: 100, blockSize: 16 });
 * ```
 */
export function compareMethods(
  models: BenchModels, prompts: { readonly evaluation: readonly number[][]; readonly calibration: readonly number[][] }, options: MethodBenchOptions,
): { rows: MethodRow[]; control: MethodRow; auto: BlockSizeChoice } {
  const stop: StopOptions = { maxNewTokens: options.maxNewTokens };
  const { teacher, jf } = models;
  const curve = { points: measureCostCurve(jf.config, jf.params, AUTO_BLOCK_SIZES, { reps: 5 }), source: "measured by this bench run" };
  const auto = autoBlockSize(jf.config, jf.params, prompts.calibration, { stop, curve });
  const n = options.blockSize;
  const on = (model: "teacher" | "jf"): Checkpoint => (model === "jf" ? jf : teacher);
  const ar = (c: Checkpoint): Decoder => ({ decoder: "ar", decode: (p) => arGreedy(c.config, c.params, p, stop) });
  // n = 1 is AR: one token a forward, decoded by the AR loop, which skips Jacobi's bookkeeping.
  const jacobiAt = (c: Checkpoint, blockSize: number): Decoder => (blockSize === 1 ? ar(c)
    : { decoder: `jacobi n=${blockSize}`, decode: (p) => jacobi(c.config, c.params, p, { ...stop, blockSize }) });
  const methods: Method[] = [
    { name: "ar", model: "teacher", ...ar(teacher) },
    { name: `jacobi n=${n}`, model: "teacher", ...jacobiAt(teacher, n) },
    ...(models.jfIsTeacher ? [] : [{ name: "ar", model: "jf" as const, ...ar(jf) }]),
    { name: `jacobi n=${n}`, model: "jf", ...jacobiAt(jf, n) },
    { name: `jacobi auto (n=${auto.blockSize})`, model: "jf", ...jacobiAt(jf, auto.blockSize) },
    { name: `mr n=${n} K=2 pool=4`, model: "jf", decoder: `mr n=${n} K=2 r=0.85 pool=4`,
      decode: (p) => multiBlock(jf.config, jf.params, p, { ...stop, blockSize: n, maxBlocks: 2, spawnRatio: 0.85, poolSize: 4 }) },
  ];
  const arModel = models.jfIsTeacher ? "teacher" : "jf";
  const control: Method = { name: "ar", model: arModel, ...ar(on(arModel)) };

  // Each decode is timed once: a method that runs another's decode shows that one's row.
  const firstOf = methods.map((m) => methods.findIndex((o) => o.decoder === m.decoder && on(o.model) === on(m.model)));
  const timed = [...methods.filter((_, i) => firstOf[i] === i), control];

  // Outputs and counts, untimed (also the warm-up). Every decode but AR is timed beside AR of its model
  // (of the teacher, when it stands in for the JF model).
  const outputs = timed.map((m) => prompts.evaluation.map((p) => m.decode(p)));
  const arOf = (t: number) => timed.findIndex((m) => m.decoder === "ar" && on(m.model) === on(timed[t].model));
  const paired = timed.map((_, t) => t).filter((t) => arOf(t) !== t);

  // The timed rounds: on each prompt, each method, AR and the prompt's prefill take turns, run by run,
  // for msPerPrompt (every other round the methods in reverse order; each burst starts one further
  // along). Decode time is the mean time of a decode minus that of the prefill beside it, summed over
  // the prompts.
  const methodMs = timed.map(() => Array.from({ length: options.rounds }, () => 0));   // [timed][round]
  const arMs = timed.map(() => Array.from({ length: options.rounds }, () => 0));       // AR's, beside that method
  let bursts = 0;
  for (let r = 0; r < options.rounds; r++) {
    for (const p of prompts.evaluation) {
      for (const t of r % 2 === 0 ? paired : [...paired].reverse()) {
        const c = on(timed[t].model);
        const [a, m, prefill] = alternatingMeanMs([() => timed[arOf(t)].decode(p), () => timed[t].decode(p),
          () => forward(c.config, c.params, p, { cache: new KVCache(c.config) })], options.msPerPrompt, bursts++);
        arMs[t][r] += a - prefill;
        methodMs[t][r] += m - prefill;
      }
    }
  }

  // Tokens/s of each round, of the method and of the AR it was timed beside. AR's own time in a round is
  // the mean of its times beside the methods of its model.
  const perRound = timed.map((_, t) => {
    const tokens = (u: number) => outputs[u].reduce((sum, o) => sum + o.tokens.length, 0);
    const perSecond = (u: number, ms: number) => tokens(u) / (Math.max(1e-3, ms) / 1000);
    const beside = paired.filter((u) => arOf(u) === t);
    return arMs[t].map((_r, r) => {
      const ar = perSecond(arOf(t), arOf(t) === t ? beside.reduce((sum, u) => sum + arMs[u][r], 0) / beside.length : arMs[t][r]);
      return { tokensPerSecond: arOf(t) === t ? ar : perSecond(t, methodMs[t][r]), arTokensPerSecond: ar };
    });
  });
  const row = (name: string, t: number, extra: Pick<MethodRow, "sameDecodeAs" | "control">): MethodRow => {
    const ar = arOf(t);
    const sum = (key: keyof DecodeStats) => outputs[t].reduce((s, o) => s + (o.stats[key] as number), 0);
    const spread = {
      tokensPerSecond: spreadOf(perRound[t].map((x) => x.tokensPerSecond)),
      speedupVsAr: spreadOf(perRound[t].map((x) => x.tokensPerSecond / x.arTokensPerSecond)),
    };
    return {
      name,
      tokensPerForward: sum("committedTokens") / sum("forwards"),
      positionsPerToken: sum("tokenPositions") / sum("committedTokens"),
      tokensPerSecond: spread.tokensPerSecond.median,
      speedupVsAr: spread.speedupVsAr.median,
      spread,
      identicalToAr: outputs[t].every((o, j) => o.tokens.length === outputs[ar][j].tokens.length && o.tokens.every((x, k) => x === outputs[ar][j].tokens[k])),
      ...extra,
    };
  };
  const rowName = (m: Method) => `${models.dataset}: ${m.name} ${m.model}`;
  const rows = methods.map((m, i) => row(rowName(m), timed.indexOf(methods[firstOf[i]]), {
    sameDecodeAs: firstOf[i] === i ? null : rowName(methods[firstOf[i]]), control: false,
  }));
  return { rows, control: row(`${rowName(control)} again (control)`, timed.length - 1, { sameDecodeAs: null, control: true }), auto };
}

/**
 * Mean wall time, ms, of one run of each of `fns`: they take turns, run by run, each turn starting one
 * further along (a, b, c; b, c, a; c, a, b; ... from `fns[first]`), until `ms` have passed (at least one
 * turn). So each runs in each position, and a ratio of two of them is timed side by side, the least
 * noisy a shared machine allows.
 */
function alternatingMeanMs(fns: readonly (() => unknown)[], ms: number, first: number): number[] {
  const total = fns.map(() => 0);
  let turns = 0;
  const start = performance.now();
  do {
    for (let k = 0; k < fns.length; k++) {
      const i = (first + turns + k) % fns.length;
      const t0 = performance.now();
      fns[i]();
      total[i] += performance.now() - t0;
    }
    turns++;
  } while (performance.now() - start < ms);
  return total.map((t) => t / turns);
}

/**
 * The method table as aligned text: each rate as `median (min–max)` over the rounds, and after the rows,
 * how to read the control's.
 */
export function formatMethodRows(rows: readonly MethodRow[]): string {
  const lines = [`${"method".padEnd(34)}   TPF   positions/token   ${"tokens/s (min–max)".padStart(18)}   ${"speedup vs AR (min–max)".padStart(23)}   identical to AR`];
  for (const r of rows) {
    const timing = r.sameDecodeAs !== null ? `same decode as ${r.sameDecodeAs}`.padEnd(44)
      : `${formatSpread(r.spread.tokensPerSecond, 0).padStart(18)}   ${formatSpread(r.spread.speedupVsAr, 2, "x").padStart(23)}`;
    lines.push(`${r.name.padEnd(34)} ${r.tokensPerForward.toFixed(2).padStart(5)}   ${r.positionsPerToken.toFixed(2).padStart(15)}   ${timing}   ` +
      `${r.identicalToAr ? "yes" : "NO (a bug)"}`);
  }
  if (rows.some((r) => r.control)) {
    lines.push("control: AR timed again as a method of its own would read 1.00x without noise; a speedup, or a difference between rows, within its spread is noise");
  }
  return lines.join("\n") + "\n";
}
