/**
 * `jacobi-forcing demo` — what `npm start` runs: the whole project in one screen, on the shipped models.
 *
 * For a few held-out math problems and held-out TypeScript prefixes it decodes with AR greedy, Jacobi
 * and multi-block decoding (MR), on the AR teacher and on the Jacobi Forcing (JF) student, and prints
 * for each: tokens per forward (TPF), tokens per second, the speedup over AR greedy of the same model in
 * the same run, and a check mark when the output is identical to AR greedy's, token for token. Then it
 * shows one block of a trajectory converging, iteration by iteration.
 *
 * The models come from `SHIPPED_MODELS` (`../shipped-models.ts`), nowhere else. A JF folder that is not
 * there yet is skipped, and the demo says which rows it skipped. Plain text when stdout is not a
 * terminal (no colour codes), so the output can be pasted into docs and diffed. About 5 seconds on
 * 2 cores; `spec/demo.spec.ts` holds it under 30.
 *
 * What it is not: a benchmark. A handful of prompts, the fastest of a few timed passes each; use
 * `npm run bench` for timings you want to quote.
 *
 * @module
 */
import { basename, join, relative } from "node:path";
import { mathEvalSet, mathPrompt, extractAnswer, type MathProblem } from "../../data/math.ts";
import { codeDataset } from "../../data/text.ts";
import type { DecodeStats } from "../../decoding/acceptance.ts";
import { arGreedy } from "../../decoding/greedy.ts";
import { jacobi } from "../../decoding/jacobi.ts";
import { multiBlock } from "../../decoding/multiblock.ts";
import { loadCheckpoint } from "../../node/checkpoint-folder.ts";
import type { ModelConfig } from "../../model/config.ts";
import type { Params } from "../../model/params.ts";
import { SPECIAL_TOKENS, visibleText, type Tokenizer } from "../../model/tokenizer.ts";
import type { Command, Io } from "../args.ts";
import { SHIPPED_MODELS, packageRoot, shippedModelPresent, type ShippedTask } from "../shipped-models.ts";
import { formatTrace, tracedJacobi } from "../trace.ts";
import { interleavedMedianMs } from "../../util/timing.ts";

/** Text as one line: the trace's visible labels (⏎ newline, ⇥ tab, ␄ EOS), BOS left out, spaces as they are. */
function oneLine(ids: readonly number[], tokenizer: Tokenizer): string {
  return visibleText(ids.filter((id) => id !== SPECIAL_TOKENS.bos), tokenizer).replaceAll("␣", " ");
}

// ---------------------------------------------------------------- what the demo runs

/** n: tokens per Jacobi / MR block — the block size of the first Jacobi Forcing round (docs/ALGORITHM.md §3). */
const BLOCK_SIZE = 16;
/** Held-out math problems (`mathEvalSet(count, seed)`: questions the teacher never trained on). */
const MATH = { count: 3, seed: 2025, maxNewTokens: 64 };
/**
 * Held-out code prompts: the first `promptLength` characters of these 64-character windows of the
 * held-out `lib.*.d.ts` files (`codeDataset().heldoutSequences(64, ...)`), chosen to start inside code.
 */
const CODE = { windows: [74, 185, 222], promptLength: 40, maxNewTokens: 48 };

/** One decoding method of the table. */
interface DemoMethod {
  /** Its name in the table. */
  readonly name: string;
  /** Decodes `prompt` greedily with the default EOS and the given budget. */
  readonly run: (config: ModelConfig, params: Params, prompt: readonly number[], maxNewTokens: number) => { tokens: number[]; stats: DecodeStats };
}

const METHODS: readonly DemoMethod[] = [
  { name: "AR greedy", run: (c, p, x, max) => arGreedy(c, p, x, { maxNewTokens: max }) },
  { name: `Jacobi n=${BLOCK_SIZE}`, run: (c, p, x, max) => jacobi(c, p, x, { maxNewTokens: max, blockSize: BLOCK_SIZE }) },
  {
    name: `MR n=${BLOCK_SIZE} K=2 pool 4`,
    run: (c, p, x, max) => multiBlock(c, p, x, { maxNewTokens: max, blockSize: BLOCK_SIZE, maxBlocks: 2, spawnRatio: 0.85, poolSize: 4 }),
  },
];

/** A task's prompts, ready to decode. */
interface Prompts {
  /** [prompts][P] token ids, BOS first for math. */
  readonly ids: number[][];
  /** Math: the problems, to check the answers; code: null. */
  readonly problems: MathProblem[] | null;
  /** The generation budget. */
  readonly maxNewTokens: number;
}

function promptsFor(task: ShippedTask["task"], tokenizer: Tokenizer): Prompts {
  if (task === "math") {
    const problems = mathEvalSet(MATH.count, MATH.seed);
    return { ids: problems.map((p) => tokenizer.encodePrompt(mathPrompt(p))), problems, maxNewTokens: MATH.maxNewTokens };
  }
  const windows = codeDataset().heldoutSequences(64, Math.max(...CODE.windows) + 1);
  return { ids: CODE.windows.map((w) => windows[w].tokens.slice(0, CODE.promptLength)), problems: null, maxNewTokens: CODE.maxNewTokens };
}

// ---------------------------------------------------------------- running one model

/** One row of the table: a model and a method over all prompts of a task. */
interface Row {
  readonly model: string;
  readonly method: string;
  /** [prompts][tokens] the outputs. */
  readonly outputs: number[][];
  readonly tokens: number;
  readonly forwards: number;
  readonly seconds: number;
  /** Identical to AR greedy of the same model on every prompt. */
  readonly sameAsAr: boolean;
}

/** Timed passes over the prompts per row; the median counts. */
const TIMED_PASSES = 3;

/**
 * Every method on one model. Each row decodes all prompts once for the outputs (which also lets the JIT
 * compile the hot loops), then times {@link TIMED_PASSES} more passes and keeps the median: the other
 * processes on a shared machine interrupt some passes.
 */
function runModel(label: string, config: ModelConfig, params: Params, prompts: Prompts): Row[] {
  const rows: Row[] = [];
  for (const method of METHODS) {
    const results = prompts.ids.map((p) => method.run(config, params, p, prompts.maxNewTokens));
    const [ms] = interleavedMedianMs([() => prompts.ids.map((p) => method.run(config, params, p, prompts.maxNewTokens))], TIMED_PASSES, 0);
    const outputs = results.map((r) => r.tokens);
    const ar = rows[0]?.outputs ?? outputs;                              // AR greedy runs first
    rows.push({
      model: label,
      method: method.name,
      outputs,
      tokens: results.reduce((s, r) => s + r.stats.committedTokens, 0),
      forwards: results.reduce((s, r) => s + r.stats.forwards, 0),
      seconds: ms / 1000,
      sameAsAr: outputs.every((o, i) => o.length === ar[i].length && o.every((t, j) => t === ar[i][j])),
    });
  }
  return rows;
}

// ---------------------------------------------------------------- printing

const GREEN = "\x1b[32m", RED = "\x1b[31m", BOLD = "\x1b[1m", DIM = "\x1b[2m", RESET = "\x1b[0m";

/** `text` in `colour` on a terminal; as it is otherwise. */
function paint(io: Io, colour: string, text: string): string {
  return io.isTTY ? `${colour}${text}${RESET}` : text;
}

function printTable(io: Io, rows: readonly Row[]): void {
  io.out(`  ${"model".padEnd(14)} ${"method".padEnd(22)} ${"TPF".padStart(5)} ${"tok/s".padStart(7)} ${"speedup".padStart(8)}   = AR\n`);
  for (const row of rows) {
    const ar = rows.find((r) => r.model === row.model)!;
    const tps = row.tokens / row.seconds;
    const speedup = tps / (ar.tokens / ar.seconds);
    const check = row.sameAsAr ? paint(io, GREEN, "✓") : paint(io, RED, "✗ DIFFERS");
    io.out(`  ${row.model.padEnd(14)} ${row.method.padEnd(22)} ${(row.tokens / row.forwards).toFixed(2).padStart(5)} ` +
      `${tps.toFixed(0).padStart(7)} ${`${speedup.toFixed(2)}x`.padStart(8)}   ${check}\n`);
  }
}

/** The prompts and every model's outputs; the models share one tokenizer (a student keeps its teacher's). */
function printOutputs(io: Io, rows: readonly Row[], prompts: Prompts, tokenizer: Tokenizer): void {
  const models = [...new Set(rows.map((r) => r.model))];
  prompts.ids.forEach((prompt, i) => {
    io.out(`  prompt  ${oneLine(prompt, tokenizer)}\n`);
    for (const model of models) {
      const output = rows.find((r) => r.model === model)!.outputs[i];
      let text = oneLine(output, tokenizer);
      if (text.length > 72) text = `${text.slice(0, 71)}…`;
      const problem = prompts.problems?.[i];                             // math only: the answer is checked
      const right = problem !== undefined && extractAnswer(tokenizer.decode(output)) === problem.answer;
      const verdict = problem === undefined ? "" : `  ${right ? paint(io, GREEN, "right") : paint(io, RED, `wrong (answer ${problem.answer})`)}`;
      io.out(`    ${model.padEnd(14)}${text}${verdict}\n`);
    }
  });
}

// ---------------------------------------------------------------- the command

/**
 * The demo on the given models: everything the `demo` command prints. The command passes the shipped
 * models; specs pass a folder of their own, to run it with and without a JF student.
 *
 * @param models - the tasks and their folders; default {@link SHIPPED_MODELS}
 * @param root - the folder the model folders are relative to; default the repository root
 * @throws Error when a parallel decoder's output differs from AR greedy's (after printing everything)
 * @example
 * ```ts
 * runDemo({ out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), isTTY: false });
 * ```
 * @category CLI
 */
export function runDemo(io: Io, models: readonly ShippedTask[] = SHIPPED_MODELS, root: string = packageRoot()): void {
  const started = performance.now();
  io.out(paint(io, BOLD, "Jacobi Forcing demo: exact parallel decoding on the shipped models") + "\n");
  io.out("Every method must produce exactly the text of AR greedy on the same model; ✓ marks an output identical\n" +
    "to it, token for token, on every prompt. TPF = tokens committed per forward pass (AR greedy: 1).\n");
  let allSame = true;
  /** The trajectory shown at the end: of the last math model, on the first math prompt. */
  let traced: { label: string; config: ModelConfig; params: Params; tokenizer: Tokenizer; prompt: number[] } | null = null;
  for (const shipped of models) {
    const jfPresent = shippedModelPresent(shipped.jf, root);
    const rows: Row[] = [];
    let shared: Tokenizer | null = null;                                 // the teacher's, which its student must keep
    let prompts: Prompts | null = null;
    for (const folder of jfPresent ? [shipped.teacher, shipped.jf] : [shipped.teacher]) {
      const label = basename(folder);
      const { config, params, tokenizer } = loadCheckpoint(join(root, folder));
      if (tokenizer === null) throw new Error(`demo: ${folder} has no tokenizer.json`);
      if (shared !== null && JSON.stringify(shared.files()) !== JSON.stringify(tokenizer.files())) {
        throw new Error(`demo: ${folder} has another vocabulary than ${shipped.teacher}; a student must keep its teacher's tokenizer`);
      }
      shared ??= tokenizer;
      prompts ??= promptsFor(shipped.task, tokenizer);
      rows.push(...runModel(label, config, params, prompts));
      if (shipped.task === "math") traced = { label, config, params, tokenizer, prompt: prompts.ids[0] };
    }
    const what = shipped.task === "math"
      ? `${MATH.count} held-out arithmetic problems, up to ${MATH.maxNewTokens} new tokens each`
      : `${CODE.windows.length} held-out TypeScript declaration prefixes, ${CODE.maxNewTokens} new tokens each`;
    io.out(`\n${paint(io, BOLD, `${shipped.task}: ${what}`)}\n`);
    printTable(io, rows);
    if (!jfPresent) {
      io.out(paint(io, DIM, `  skipped: the 3 rows of ${shipped.jf} (AR greedy, Jacobi, MR): that folder has no model yet;\n` +
        `  the Jacobi Forcing student is distilled from ${shipped.teacher} (docs/training.md)`) + "\n");
    }
    printOutputs(io, rows, prompts!, shared!);
    allSame &&= rows.every((r) => r.sameAsAr);
  }
  if (traced !== null) {
    const { label, config, params, tokenizer, prompt } = traced;
    const { rows } = tracedJacobi(config, params, prompt, { maxNewTokens: MATH.maxNewTokens, blockSize: BLOCK_SIZE });
    io.out(`\n${paint(io, BOLD, `One block converging: ${label}, Jacobi n=${BLOCK_SIZE}, block 0 after the prompt ${visibleText(prompt, tokenizer)}`)}\n`);
    io.out("Each line is one forward over the block; the accepted prefix only grows, and the block ends at the\n" +
      "fixed point: exactly the tokens AR greedy writes there.\n");
    io.out(formatTrace(rows.filter((r) => r.block === 0), tokenizer, io.isTTY));
  }
  io.out(`\nOn this CPU a forward over ${BLOCK_SIZE} tokens costs several single-token forwards, so tokens/s gains less\n` +
    "than TPF; on a GPU the extra positions are nearly free (paper App. D). TPF is the hardware-independent gain.\n" +
    `A picture of a trajectory: npx jacobi-forcing trace --model ${relative(process.cwd(), join(root, "models/math-teacher")) || "."} --prompt $'914+169\\n' --block 0 --svg block.svg\n` +
    "Read next: examples/ (numbered stories), docs/ARCHITECTURE.md, docs/PAPER-MAP.md (in the repository).\n");
  io.out(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.\n`);
  if (!allSame) throw new Error("demo: a parallel decoder's output differs from AR greedy — a bug");
}

/**
 * The `demo` command: `npm start`.
 *
 * @category CLI
 */
export const demoCommand: Command = {
  summary: "AR vs Jacobi vs multi-block on the shipped teacher and Jacobi Forcing models (what npm start runs)",
  flags: {},
  run: (_flags, io) => runDemo(io),
};
