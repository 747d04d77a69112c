/**
 * The results table of Jacobi Forcing for our models (the paper's Table 1–2 shape), measured side by
 * side in one process and written into `docs/results.md` between the `results` markers:
 *
 * - rows: AR on the teacher, Jacobi on the teacher, the CLLM-style baseline (clean-context mask, same
 *   training budget), JF round 1, JF round 2, and multi-block decoding on the round-2 model;
 * - columns: tokens per forward (TPF), decode forwards per token (iterations per token), tokens per
 *   second on this CPU, speedup = tokens/s ÷ the teacher's AR tokens/s, and quality — exact-match
 *   accuracy on held-out math problems, held-out bits per character on code;
 * - a check on every row that the method's output equals the same model's AR greedy output exactly
 *   (a difference is a bug and stops the script);
 * - the schedule ablation (the paper's Table 4) when its models are present, and a plot of Jacobi TPF
 *   against training step from the runs' `loss.csv` (`docs/jacobi-forcing-tpf.svg`).
 *
 * ```
 * npm run results [-- --examples 500 --prefixes 20 --dry-run]
 * ```
 * Quality is a property of the model, not of the decoder: Jacobi and multi-block return the AR tokens,
 * so a JF row's accuracy is its own AR accuracy. Tokens/s are CPU numbers and depend on the machine
 * (docs/performance.md explains why Jacobi gains little wall-clock time in plain JavaScript); TPF does not.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlags, type CommandSpec } from "../src/cli/args.ts";
import { datasetFor } from "../src/cli/commands/train.ts";
import { loadModelFor } from "../src/cli/commands/eval.ts";
import { mathEvalSet, mathPrompt, extractAnswer, type MathProblem } from "../src/data/math.ts";
import type { Dataset } from "../src/data/dataset.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import type { ModelConfig } from "../src/model/config.ts";
import type { Params } from "../src/model/params.ts";
import type { Tokenizer } from "../src/model/tokenizer.ts";
import { CODE_SPEED, codeSpeedPrompts } from "../src/evaluation/tasks.ts";
import { heldoutLoss } from "../src/training/trainer.ts";
import { MULTI_BLOCK as MR } from "./models.ts";

// ---------------------------------------------------------------- what is measured

/** One row of the table: a model folder and how it is decoded. */
interface RowSpec {
  readonly label: string;
  readonly model: string;
  readonly method: "ar" | "jacobi" | "mr";
  /** Block size n of a Jacobi or multi-block row: 16 is round 1's, 32 round 2's. */
  readonly n?: number;
}

/** Block size of the ablation rows (the n they were distilled at). */
const BLOCK_SIZE = 16;
/** The rows of one task: the models at the block size of each round. */
function rowsFor(task: "math" | "code"): RowSpec[] {
  const m = (name: string): string => `models/${task}-${name}`;
  return [
    { label: "AR (teacher)", model: m("teacher"), method: "ar" },
    { label: "Jacobi (teacher)", model: m("teacher"), method: "jacobi", n: 16 },
    { label: "Jacobi (teacher)", model: m("teacher"), method: "jacobi", n: 32 },
    { label: "CLLM-style baseline (clean-context mask)", model: m("cllm"), method: "jacobi", n: 16 },
    { label: "JF round 1", model: m("jf-r1"), method: "jacobi", n: 16 },
    { label: "JF round 1", model: m("jf-r1"), method: "jacobi", n: 32 },
    ...(task === "code" ? [{ label: "JF round 1 without the replay loss", model: "models/ablations/code-no-replay", method: "jacobi" as const, n: 16 }] : []),
    { label: "JF round 2", model: m("jf"), method: "jacobi", n: 16 },
    { label: "JF round 2", model: m("jf"), method: "jacobi", n: 32 },
    { label: "JF round 2, multi-block", model: m("jf"), method: "mr", n: MR[task].blockSize },
  ];
}

/** The rows, per task. A row whose model folder is missing is reported as missing, not skipped silently. */
export const ROWS: Readonly<Record<"math" | "code", readonly RowSpec[]>> = { math: rowsFor("math"), code: rowsFor("code") };

/** The schedule ablation's models (same budget each; docs/jacobi-forcing.md gives the command). */
export const ABLATION: readonly { readonly label: string; readonly model: string }[] = [
  { label: "progressive, random phase", model: "models/ablations/progressive" },
  { label: "progressive, zero phase (paper's W[b mod w])", model: "models/ablations/zero-phase" },
  { label: "random", model: "models/ablations/random" },
  { label: "reverse, random phase", model: "models/ablations/reverse" },
];

/** What one row measured. */
interface RowResult {
  readonly label: string;
  readonly n: number;
  readonly model: string;
  readonly method: string;
  readonly tokens: number;
  readonly forwards: number;
  readonly seconds: number;
  readonly quality: number;
}

type Decoder = (prompt: readonly number[], maxNewTokens: number) => { tokens: number[]; forwards: number };

function decoderFor(method: RowSpec["method"], n: number, config: ModelConfig, params: Params, eos: boolean, task: "math" | "code" = "math"): Decoder {
  const stop = eos ? {} : { eosTokenId: null };
  if (method === "ar") return (p, m) => { const g = arGreedy(config, params, [...p], { maxNewTokens: m, ...stop }); return { tokens: g.tokens, forwards: g.stats.forwards }; };
  if (method === "jacobi") return (p, m) => { const g = jacobi(config, params, [...p], { maxNewTokens: m, blockSize: n, ...stop }); return { tokens: g.tokens, forwards: g.stats.forwards }; };
  const { maxBlocks, spawnRatio, poolSize } = MR[task];
  return (p, m) => { const g = multiBlock(config, params, [...p], { maxNewTokens: m, blockSize: n, maxBlocks, spawnRatio, poolSize, ...stop }); return { tokens: g.tokens, forwards: g.stats.forwards }; };
}

/** AR greedy outputs by model, length and prompt: the exactness check decodes each once, whatever the rows. */
const arOutputs = new Map<string, number[]>();

/**
 * Decodes every prompt with the row's method (timed) and with the same model's AR greedy (untimed, the
 * exactness check), and returns the totals.
 *
 * @throws Error when the method's tokens differ from AR's on any prompt
 */
function decodeAll(row: RowSpec, config: ModelConfig, params: Params, prompts: readonly number[][], maxNewTokens: number, eos: boolean, task: "math" | "code"): { outputs: number[][]; tokens: number; forwards: number; seconds: number } {
  const decode = decoderFor(row.method, row.n ?? BLOCK_SIZE, config, params, eos, task);
  const reference = decoderFor("ar", 1, config, params, eos);
  const outputs: number[][] = [];
  let tokens = 0, forwards = 0, seconds = 0;
  for (const prompt of prompts) {
    const started = performance.now();
    const g = decode(prompt, maxNewTokens);
    seconds += (performance.now() - started) / 1000;
    tokens += g.tokens.length;
    forwards += g.forwards;
    const key = `${row.model}\u0000${maxNewTokens}\u0000${prompt.join(",")}`;
    if (row.method === "ar") arOutputs.set(key, g.tokens);
    else {
      let expected = arOutputs.get(key);
      if (expected === undefined) arOutputs.set(key, expected = reference(prompt, maxNewTokens).tokens);
      if (JSON.stringify(expected) !== JSON.stringify(g.tokens)) {
        throw new Error(`results: ${row.label} (${row.model}) differs from its own AR greedy output on prompt ${JSON.stringify(prompt)} — a bug`);
      }
    }
    outputs.push(g.tokens);
  }
  return { outputs, tokens, forwards, seconds };
}

function mathRow(row: RowSpec, dataset: Dataset, problems: readonly MathProblem[]): RowResult {
  const { config, params, tokenizer } = loadModelFor("results", row.model, dataset);
  const prompts = problems.map((p) => [1, ...tokenizer.encode(mathPrompt(p))]);
  const r = decodeAll(row, config, params, prompts, 64, true, "math");
  const correct = r.outputs.filter((out, i) => extractAnswer(decodeText(tokenizer, out)) === problems[i].answer).length;
  return { label: row.label, n: row.n ?? BLOCK_SIZE, model: row.model, method: row.method, tokens: r.tokens, forwards: r.forwards, seconds: r.seconds, quality: correct / problems.length };
}

function decodeText(tokenizer: Tokenizer, ids: readonly number[]): string {
  return tokenizer.decode(ids.filter((t) => t > 2));
}

function codeRow(row: RowSpec, dataset: Dataset, prefixes: number, newTokens: number): RowResult {
  const { config, params } = loadModelFor("results", row.model, dataset);
  const windows = dataset.heldoutSequences(config.maxPositions, Number.MAX_SAFE_INTEGER);
  const bits = heldoutLoss(config, params, windows) / Math.LN2;
  const prompts = codeSpeedPrompts(windows, prefixes);                    // the prompts of `eval --data code`
  const r = decodeAll(row, config, params, prompts, newTokens, false, "code");
  return { label: row.label, n: row.n ?? BLOCK_SIZE, model: row.model, method: row.method, tokens: r.tokens, forwards: r.forwards, seconds: r.seconds, quality: bits };
}

// ---------------------------------------------------------------- tables

function methodName(row: RowResult, task: "math" | "code"): string {
  const mr = MR[task];
  return row.method === "ar" ? "AR" : row.method === "jacobi" ? `Jacobi n=${row.n}` : `multi-block n=${row.n} K=${mr.maxBlocks} r=${mr.spawnRatio} pool=${mr.poolSize}`;
}

function table(task: "math" | "code", rows: readonly RowResult[], missing: readonly RowSpec[]): string {
  const arSpeed = rows.length > 0 && rows[0].method === "ar" ? rows[0].tokens / rows[0].seconds : NaN;
  const quality = task === "math" ? "accuracy" : "bits/char";
  const lines = [
    `| ${task} | model | decoding | TPF | iterations/token | tokens/s | speedup | ${quality} | = own AR |`,
    "|---|---|---|---:|---:|---:|---:|---:|:---:|",
  ];
  for (const r of rows) {
    const tpf = r.tokens / r.forwards;
    const speed = r.tokens / r.seconds;
    const q = task === "math" ? `${(100 * r.quality).toFixed(1)}%` : r.quality.toFixed(3);
    lines.push(`| ${r.label} | \`${r.model}\` | ${methodName(r, task)} | ${tpf.toFixed(2)} | ${(1 / tpf).toFixed(3)} | ${speed.toFixed(0)} | ${(speed / arSpeed).toFixed(2)}x | ${q} | ✓ |`);
  }
  for (const m of missing) lines.push(`| ${m.label} | \`${m.model}\` (missing) | | | | | | | |`);
  return lines.join("\n");
}

// ---------------------------------------------------------------- TPF against training step

/** The `step` and `jacobiTPF` columns of a run's loss.csv (rows where an evaluation ran). */
function tpfCurve(csvPath: string): [number, number][] {
  const [header, ...lines] = readFileSync(csvPath, "utf8").trim().split("\n");
  const cols = header.split(",");
  const s = cols.indexOf("step"), t = cols.indexOf("jacobiTPF");
  if (t < 0) return [];
  return lines.map((l) => l.split(",")).filter((c) => c[t] !== "").map((c) => [Number(c[s]), Number(c[t])]);
}

/** A hand-written SVG line plot of TPF against step for several runs. */
function tpfSvg(curves: readonly { label: string; points: [number, number][] }[]): string {
  const W = 640, H = 360, L = 56, R = 200, T = 20, B = 44;
  const all = curves.flatMap((c) => c.points);
  const maxStep = Math.max(...all.map(([s]) => s), 1);
  const maxTpf = Math.ceil(Math.max(...all.map(([, v]) => v), 1));
  const x = (s: number): number => L + ((W - L - R) * s) / maxStep;
  const y = (v: number): number => H - B - ((H - T - B) * v) / maxTpf;
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`];
  for (let v = 0; v <= maxTpf; v++) parts.push(`<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text><line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#eee"/>`);
  for (let k = 0; k <= 4; k++) { const s = Math.round((maxStep * k) / 4); parts.push(`<text x="${x(s)}" y="${H - B + 16}" text-anchor="middle">${s}</text>`); }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">training step</text>`);
  parts.push(`<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">Jacobi tokens per forward (held-out)</text>`);
  curves.forEach((c, i) => {
    const color = colors[i % colors.length];
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${c.points.map(([s, v]) => `${x(s).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`);
    parts.push(`<line x1="${W - R + 12}" y1="${T + 10 + 18 * i}" x2="${W - R + 32}" y2="${T + 10 + 18 * i}" stroke="${color}" stroke-width="2"/><text x="${W - R + 38}" y="${T + 14 + 18 * i}">${c.label}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

// ---------------------------------------------------------------- main

const spec: CommandSpec = {
  summary: "the Jacobi Forcing results table into docs/results.md",
  flags: {
  examples: { type: "int", default: 500, help: "held-out math problems" },
  prefixes: { type: "int", default: CODE_SPEED.prefixes, help: `held-out code prefixes (${CODE_SPEED.prefixLength} characters each) to continue (the defaults are eval's)` },
  "new-tokens": { type: "int", default: CODE_SPEED.newTokens, help: "code: tokens generated per prefix" },
  "dry-run": { type: "boolean", help: "print the tables, do not write docs/" },
  },
};

function main(): void {
  const flags = parseFlags("results", spec, process.argv.slice(2));
  const out: string[] = [];
  const started = new Date().toISOString();
  for (const task of ["math", "code"] as const) {
    const dataset = datasetFor(task);
    const problems = mathEvalSet(flags.examples as number, 1234);
    const present = ROWS[task].filter((r) => existsSync(join(r.model, "config.json")));
    const missing = ROWS[task].filter((r) => !present.includes(r));
    const rows = present.map((row) => {
      process.stderr.write(`results: ${task}: ${row.label} ...\n`);
      return task === "math" ? mathRow(row, dataset, problems) : codeRow(row, dataset, flags.prefixes as number, flags["new-tokens"] as number);
    });
    out.push(task === "math"
      ? `**Math** — ${problems.length} held-out problems (\`mathEvalSet(${problems.length}, 1234)\`, the same as \`eval\`), greedy, up to 64 new tokens.\n\n${table(task, rows, missing)}`
      : `**Code** — bits per character on every held-out window; TPF and tokens/s on the greedy continuation (${flags["new-tokens"]} tokens, EOS ignored) of ${flags.prefixes} held-out ${CODE_SPEED.prefixLength}-character prefixes (\`codeSpeedPrompts\`, the same as \`eval --data code\`).\n\n${table(task, rows, missing)}`);
  }
  const ablation = ABLATION.filter((a) => existsSync(join(a.model, "config.json")));
  if (ablation.length > 0) {
    const dataset = datasetFor("math");
    const problems = mathEvalSet(flags.examples as number, 1234);
    const rows = ablation.map((a) => {
      process.stderr.write(`results: ablation: ${a.label} ...\n`);
      return mathRow({ label: a.label, model: a.model, method: "jacobi" }, dataset, problems);
    });
    const lines = ["| noise schedule | model | TPF | iterations/token | accuracy |", "|---|---|---:|---:|---:|"];
    for (const r of rows) lines.push(`| ${r.label} | \`${r.model}\` | ${(r.tokens / r.forwards).toFixed(2)} | ${(r.forwards / r.tokens).toFixed(3)} | ${(100 * r.quality).toFixed(1)}% |`);
    out.push(`**Noise-schedule ablation** (math, Jacobi n=${BLOCK_SIZE}, same smaller budget for each; lower iterations/token is better):\n\n${lines.join("\n")}`);
  }
  const curves = [
    { label: "JF round 1 (n=16)", csv: "models/math-jf-r1/loss.csv" },
    { label: "CLLM-style (n=16)", csv: "models/math-cllm/loss.csv" },
    { label: "JF round 2 (n=32)", csv: "models/math-jf/loss.csv" },
  ].filter((c) => existsSync(c.csv)).map((c) => ({ label: c.label, points: tpfCurve(c.csv) })).filter((c) => c.points.length > 0);

  const body = `${out.join("\n\n")}\n\nMeasured ${started} on this machine (${process.arch}, Node ${process.version}) by \`npm run results\`.`;
  console.log(body);
  if (flags["dry-run"] === true) return;
  const path = "docs/results.md";
  const doc = readFileSync(path, "utf8");
  const begin = "<!-- results:begin -->", end = "<!-- results:end -->";
  const a = doc.indexOf(begin), b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`results: ${path} lacks the ${begin} … ${end} markers`);
  writeFileSync(path, `${doc.slice(0, a + begin.length)}\n${body}\n${doc.slice(b)}`);
  if (curves.length > 0) writeFileSync("docs/jacobi-forcing-tpf.svg", tpfSvg(curves));
  process.stderr.write(`results: wrote ${path}${curves.length > 0 ? " and docs/jacobi-forcing-tpf.svg" : ""}\n`);
}

main();
