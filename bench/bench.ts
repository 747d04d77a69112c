/**
 * `npm run bench` (`tsx bench/bench.ts`): the benchmark of the CPU path, measuring side by side in one
 * process and one run
 *
 * 1. the matrix-product kernels: GFLOP/s of the fast kernel and of its reference loop at
 *    M ∈ {1, 4, 16, 32, 64}, K = N ∈ {256, 512}, against the scalar peak;
 * 2. the forward cost curve t(T)/t(1) for T up to 64 on the random `small` model, AR tokens/s, and the
 *    forward on two kernel threads against one (logits checked bit for bit);
 * 3. the decoding methods on held-out math and code prompts: AR, Jacobi on the teacher, Jacobi on the
 *    Jacobi Forcing model at a fixed block size and at `auto`, multi-block on the JF model — TPF,
 *    positions per token, tokens/s, speedup vs AR, and a check that each output equals AR's — and a
 *    control row, AR timed again as a method of its own, whose spread is the table's noise.
 *
 * Every time and ratio is measured in rounds and printed as its median with the spread over the rounds,
 * `median (min–max)`; a ratio is taken round by round from times measured side by side.
 *
 * A table on stdout (or one JSON object with `--json`), and the same JSON in `bench/experiments/results/`
 * (or `--out`) with the machine, Node version and date. With `--backend webgpu` it runs the GPU bench
 * instead (`bench/gpu.ts`, also `npm run bench:gpu`). Never part of `npm test`. Which models it decodes
 * with: `bench/models.ts`. The kernels the tiled one replaced are timed by an experiment,
 * `bench/experiments/kxn-baseline.ts`.
 *
 * Usage: `npm run bench -- [--quick] [--json] [--out DIR] [--plot FILE] [--backend cpu|webgpu]
 * [--model DIR --data math|code]`; `npm run bench -- --help` lists the flags.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CliError, commandHelp, parseFlags, type CommandSpec, type Flags, type Io } from "../src/cli/args.ts";
import { BACKEND_FLAG } from "../src/cli/backend.ts";
import { formatBlockSizeChoice } from "../src/decoding/block-size.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { arTokensPerSecond, costCurveSvg, forwardCost, threadScaling, type ThreadRow } from "./forward.ts";
import { gpuBench } from "./gpu.ts";
import { kernelTable, scalarPeakGflops } from "./kernels.ts";
import { compareMethods, formatMethodRows, type MethodRow } from "./methods.ts";
import { BENCH_MODELS, benchPrompts, loadBenchModels, type BenchDataset } from "./models.ts";
import { formatSpread, pairedSpread, type Spread } from "./spread.ts";

/** The flags of `npm run bench`. */
export const BENCH_FLAGS: CommandSpec = {
  summary: "benchmark kernels, the forward cost curve, and every decoding method vs AR on the math and code models",
  flags: {
    quick: { type: "boolean", help: "fewer shapes and prompts, shorter rounds (a minute or two)" },
    json: { type: "boolean", help: "print one JSON object instead of the tables" },
    out: { type: "string", default: "bench/experiments/results", help: "folder for the JSON result (one file per run)" },
    plot: { type: "string", optional: true, help: "also write the cost curve as an SVG chart to this file (docs/cost-curve.svg)" },
    backend: BACKEND_FLAG,
    model: { type: "string", optional: true, help: "webgpu: a trained checkpoint decoded next to the realistic random model (default: the shipped JF models, math and code)" },
    data: { type: "string", default: "math", choices: ["math", "code"], help: "webgpu: the prompts of --model" },
  },
};

/**
 * Runs the benchmark with parsed flags ({@link BENCH_FLAGS}), writing its tables (or its JSON) to `io`.
 *
 * @throws Error when a method's output differs from AR greedy, or two kernel threads give other logits than one (a bug)
 */
export async function bench(flags: Flags, io: Io): Promise<void> {
  if (flags.backend === "webgpu") {
    // the GPU bench (bench/gpu.ts, also npm run bench:gpu): its table goes to stderr as it runs
    const models = typeof flags.model === "string"
      ? [{ dir: flags.model, dataset: flags.data as BenchDataset }]
      : (["math", "code"] as const).map((dataset) => ({ dir: BENCH_MODELS[dataset].jf, dataset }));
    const result = await gpuBench({ models, quick: flags.quick === true, smoke: false });
    if (flags.json) io.out(JSON.stringify(result) + "\n");
    return;
  }
  const quick = flags.quick === true;
  const say = (text: string) => { if (!flags.json) io.out(text); };
  const note = (line: string) => io.err(`bench: ${line}\n`);
  const ms = (s: Spread) => formatSpread(s, 3);
  const times = (s: Spread) => formatSpread(s, 2, "x");
  say("every number is the median over rounds, with (min–max) over the rounds; a ratio is taken round by round\n\n");

  // 1. kernels
  const peak = scalarPeakGflops(quick ? 100 : 300, quick ? 5 : 9);
  const kernels = kernelTable({ rows: quick ? [1, 16, 64] : [1, 4, 16, 32, 64], widths: quick ? [256] : [256, 512], msPerPoint: quick ? 60 : 250, rounds: quick ? 5 : 9 });
  const kernelRatios = kernels.filter((k) => k.kernel === "tiled").map((tiled) => {
    const reference = kernels.find((k) => k.kernel === "reference" && k.M === tiled.M && k.K === tiled.K)!;
    const spread = { tiledOverReference: pairedSpread(tiled.perRound, reference.perRound, (a, b) => a / b) };
    return { M: tiled.M, K: tiled.K, N: tiled.N, tiled, reference, tiledOverReference: spread.tiledOverReference.median, spread };
  });
  say(`matrix product out[M, N] = x[M, K] w^T, GFLOP/s, one thread (scalar float64 peak of this core: ${formatSpread(peak, 2)})\n`);
  say(`   M     K     N   ${"tiled".padStart(18)}   ${"reference".padStart(18)}   ${"tiled/reference".padStart(18)}\n`);
  for (const r of kernelRatios) {
    say(`${String(r.M).padStart(4)}  ${String(r.K).padStart(4)}  ${String(r.N).padStart(4)}   ${formatSpread(r.tiled.spread.gflops, 2).padStart(18)}   ` +
      `${formatSpread(r.reference.spread.gflops, 2).padStart(18)}   ${times(r.spread.tiledOverReference).padStart(18)}\n`);
  }

  // 2. forward cost curve and AR speed on the random small model
  const small = PRESETS.small;
  const smallParams = initParams(small, { seed: 0 });
  const curve = forwardCost(small, smallParams, quick ? [1, 4, 16, 64] : [1, 2, 4, 8, 16, 24, 32, 48, 64], quick ? 7 : 15);
  const arTps = arTokensPerSecond(small, smallParams, quick ? 32 : 128, quick ? 5 : 9);
  say(`\nforward after a 64-token cache, small (random, seed 0)\n     T   ${"ms/forward".padStart(24)}   ${"t(T)/t(1)".padStart(20)}\n`);
  for (const p of curve) say(`${String(p.T).padStart(6)}   ${ms(p.spread.ms).padStart(24)}   ${times(p.spread.ratio).padStart(20)}\n`);
  say(`AR greedy on small: ${formatSpread(arTps, 0)} tokens/s\n`);
  const threads = await threadScaling(small, smallParams, 2, quick ? [1, 16] : [1, 4, 16, 64], quick ? 9 : 31);
  say("\nforward on small, products, attention and SiLU split over 2 kernel threads vs 1 (the other core may be busy: compare in one run)\n");
  const threadHeader = `${"1 thread ms".padStart(24)}   ${"2 threads ms".padStart(24)}   ${"speedup".padStart(20)}   logits identical\n`;
  const threadLine = (r: ThreadRow) => `${ms(r.spread.oneThreadMs).padStart(24)}   ${ms(r.spread.threadedMs).padStart(24)}   ` +
    `${times(r.spread.speedup).padStart(20)}   ${r.identical ? "yes" : "NO (a bug)"}\n`;
  say(`     T   ${threadHeader}`);
  for (const r of threads) say(`${String(r.T).padStart(6)}   ${threadLine(r)}`);
  // A single token gains only where a forward is long enough to hide the handoffs: the same model family, wider.
  const wider = [];
  for (const hiddenSize of quick ? [256] : [256, 512]) {
    const config = { ...small, hiddenSize, intermediateSize: 3 * hiddenSize, numHeads: hiddenSize / 32, numKeyValueHeads: hiddenSize / 64, vocabSize: 1000 };
    for (const r of await threadScaling(config, initParams(config, { seed: 0 }), 2, [1, 16], quick ? 5 : 15)) wider.push({ hiddenSize, ...r });
  }
  say("\nthe same on wider models (small's shape at hidden 256 and 512, MLP 3x, 32-wide heads, vocabulary 1000)\n");
  say(`hidden     T   ${threadHeader}`);
  for (const r of wider) say(`${String(r.hiddenSize).padStart(6)}${String(r.T).padStart(6)}   ${threadLine(r)}`);

  // 3. decoding methods on the shipped models, each dataset's control row after its methods
  const methods: MethodRow[] = [];
  const autoChoices: Record<string, unknown> = {};
  const models: Record<string, string> = {};
  for (const dataset of ["math", "code"] as BenchDataset[]) {
    const loaded = loadBenchModels(dataset, note);
    models[`${dataset}-jf`] = loaded.jfPath;
    const prompts = benchPrompts(dataset, loaded.teacher, quick ? 4 : 12, quick ? 2 : 4);
    const { rows, control, auto } = compareMethods(loaded, prompts, { maxNewTokens: dataset === "math" ? 96 : 64, rounds: quick ? 15 : 9, msPerPrompt: quick ? 150 : 200, blockSize: 16 });
    methods.push(...rows, control);
    autoChoices[dataset] = auto;
    say(`\n${dataset}: ${prompts.evaluation.length} held-out prompts, ${loaded.jfIsTeacher ? "NO JF MODEL YET: the jf rows run on the teacher" : `JF model ${loaded.jfPath}`}; ` +
      `auto chose on ${prompts.calibration.length} other prompts:\n`);
    say(formatBlockSizeChoice(auto));
  }
  say("\ndecoding methods (speedup vs AR of the same model, measured in this run):\n");
  say(formatMethodRows(methods));

  const result = {
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    node: process.version,
    date: new Date().toISOString(),
    quick,
    scalarPeakGflops: peak.median,
    models,
    methods,
    kernels,
    kernelRatios: kernelRatios.map(({ M, K, N, tiledOverReference, spread }) => ({ M, K, N, tiledOverReference, spread })),
    forwardCost: curve,
    arTokensPerSecondSmall: arTps.median,
    threads,
    threadsWider: wider,
    autoBlockSize: autoChoices,
    spread: { scalarPeakGflops: peak, arTokensPerSecondSmall: arTps },
  };
  if (flags.plot !== undefined) writeFileSync(flags.plot as string, costCurveSvg(curve, `forward cost on small (random), ${result.machine.cpu}, Node ${result.node}`));
  const dir = flags.out as string;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.date.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  if (flags.json) io.out(JSON.stringify(result) + "\n");
  else io.out(`\nresults written to ${file}\n`);
  if (methods.some((m) => !m.identicalToAr)) throw new Error("bench: a method's output differs from AR greedy — a bug");
  if ([...threads, ...wider].some((t) => !t.identical)) throw new Error("bench: two kernel threads gave other logits than one — a bug");
}

// ---------------------------------------------------------------- the script

/** `npm run bench -- --help`. */
function help(): string {
  return [`npm run bench -- [flags]: ${BENCH_FLAGS.summary}`, ...commandHelp("bench", BENCH_FLAGS).split("\n").slice(1)].join("\n") + "\n";
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), isTTY: process.stdout.isTTY === true };
  const argv = process.argv.slice(2);
  try {
    if (argv.includes("--help")) io.out(help());
    else await bench(parseFlags("bench", BENCH_FLAGS, argv), io);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    io.err(`${message.startsWith("bench:") ? message : `bench: ${message}`}\n`);
    process.exitCode = e instanceof CliError ? 2 : 1;
  }
}
