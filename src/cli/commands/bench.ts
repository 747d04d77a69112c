/**
 * `jacobi-forcing bench` (also `npm run bench`): measures the forward cost curve, AR speed, and Jacobi
 * and multi-block decoding next to AR (TPF, positions per token, tokens/s, speedup, identical output) on the random
 * `small` model. Never part of `npm test`.
 *
 * @module
 */
import { arTokensPerSecond, forwardCost } from "../../../bench/forward.ts";
import { DEFAULT_JACOBI_RUNS, DEFAULT_MR_RUNS, compareMethods, formatMethodRows } from "../../../bench/methods.ts";
import { PRESETS } from "../../model/config.ts";
import { initParams } from "../../model/params.ts";
import type { Command } from "../command.ts";

/**
 * The `bench` command.
 *
 * @example
 * ```ts
 * // npm run bench   (= jacobi-forcing bench)
 * ```
 * @category CLI
 */
export const benchCommand: Command = {
  summary: "benchmark forward cost t(T)/t(1), AR tokens/s, and Jacobi and multi-block vs AR on the random small model",
  flags: {
    quick: { type: "boolean", help: "fewer repetitions (well under a minute)" },
    json: { type: "boolean", help: "print one JSON object instead of a table" },
  },
  run(flags, io) {
    const config = PRESETS.small;
    const params = initParams(config, { seed: 0 });
    const reps = flags.quick ? 5 : 21;
    const forwardRows = forwardCost(config, params, [1, 4, 16, 32, 64], reps);
    const arTps = arTokensPerSecond(config, params, flags.quick ? 32 : 128);
    const methods = compareMethods(config, params, { newTokens: flags.quick ? 32 : 128, reps: flags.quick ? 1 : 5, jacobi: DEFAULT_JACOBI_RUNS, multiBlock: DEFAULT_MR_RUNS });
    const result = {
      model: "small (random, seed 0)",
      node: process.version,
      date: new Date().toISOString(),
      forwardCost: forwardRows.map((r) => ({ T: r.T, ms: r.ms, ratio: r.ratio })),
      arTokensPerSecond: arTps,
      methods,
    };
    if (flags.json) {
      io.out(JSON.stringify(result) + "\n");
      return;
    }
    io.out(`forward after a 64-token cache, ${result.model}, Node ${result.node}\n`);
    io.out("   T   ms/forward   t(T)/t(1)\n");
    for (const r of forwardRows) io.out(`${String(r.T).padStart(4)}   ${r.ms.toFixed(3).padStart(10)}   ${r.ratio.toFixed(2).padStart(9)}\n`);
    io.out(`AR greedy: ${arTps.toFixed(0)} tokens/s\n`);
    io.out(`\ndecoding methods, ${flags.quick ? 32 : 128} new tokens (EOS ignored), speedup measured in this run:\n`);
    io.out(formatMethodRows(methods));
    if (methods.some((m) => !m.identicalToAr)) throw new Error("bench: a method's output differs from AR greedy — a bug");
  },
};
