/**
 * Multi-block grid search (the paper's App. E, Fig. 7–8): tokens per forward (TPF) and token positions
 * processed per committed token for every configuration of block size n, blocks in flight K, spawn
 * ratio r and pool size, on any checkpoint folder. Writes a markdown table and a hand-written SVG heat
 * map into `docs/multiblock.md` (between the `multiblock-grid` markers) and `docs/multiblock-grid.svg`.
 *
 * ```
 * npx tsx bench/multiblock-grid.ts --model DIR [--data math|code|none] [--prompts 4] [--new-tokens 64]
 *   [--grid full|small] [--pool-kind recycling|ngram] [--ignore-eos] [--dry-run]
 * ```
 * Full grid: n ∈ {8, 16, 32, 64}, K ∈ {1, 2, 3}, r ∈ {0.5, 0.7, 0.85, 0.95}, pool ∈ {1, 2, 4, 8}.
 * Every run is checked against AR greedy (a difference is a bug and stops the bench).
 *
 * TPF counts forwards, not seconds, so it does not depend on the machine; positions per token is the
 * compute each committed token costs. Which configuration is fastest in wall-clock time depends on how
 * many parallel positions the hardware gets for free (a GPU: ~128-256; this CPU: about none).
 * On an untrained model TPF stays near 1 whatever the configuration.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CliError, parseFlags, type CommandSpec } from "../src/cli/args.ts";
import { datasetFor } from "../src/cli/commands/train.ts";
import { mathEvalSet, mathPrompt } from "../src/data/math.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { POOL_KINDS, type PoolKind } from "../src/decoding/recycling.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import type { ModelConfig } from "../src/model/config.ts";
import type { Params } from "../src/model/params.ts";
import { CharTokenizer, type Tokenizer } from "../src/model/tokenizer.ts";
import { Rng } from "../src/tensor/random.ts";

// ---------------------------------------------------------------- the grid

/** The values of each axis. */
export interface GridAxes {
  readonly n: readonly number[];
  readonly K: readonly number[];
  readonly r: readonly number[];
  readonly pool: readonly number[];
}

/** The paper-style grid: 4 × 3 × 4 × 4 = 192 configurations. */
export const FULL_GRID: GridAxes = { n: [8, 16, 32, 64], K: [1, 2, 3], r: [0.5, 0.7, 0.85, 0.95], pool: [1, 2, 4, 8] };

/** A grid small enough for a random model on a CPU (a smoke test of the bench itself). */
export const SMALL_GRID: GridAxes = { n: [8, 16], K: [1, 2], r: [0.5, 0.85], pool: [1, 4] };

/** One configuration's numbers, over all prompts. */
export interface GridCell {
  readonly n: number;
  readonly K: number;
  readonly r: number;
  readonly pool: number;
  /** Committed tokens / decode forwards, over all prompts. */
  readonly tokensPerForward: number;
  /** Token positions processed / committed tokens, over all prompts. */
  readonly positionsPerToken: number;
}

/**
 * Runs every configuration of `axes` on every prompt and checks each output against AR greedy.
 *
 * @throws Error when a configuration's output differs from AR greedy's (a bug)
 * @example
 * ```ts
 * runGrid(config, params, [[1, 40, 41]], SMALL_GRID, { newTokens: 32, poolKind: "recycling", eosTokenId: null }).length; // 16
 * ```
 */
export function runGrid(
  config: ModelConfig, params: Params, prompts: readonly number[][], axes: GridAxes,
  options: { readonly newTokens: number; readonly poolKind: PoolKind; readonly eosTokenId?: number | null },
): GridCell[] {
  const stop = { maxNewTokens: options.newTokens, ...(options.eosTokenId !== undefined ? { eosTokenId: options.eosTokenId } : {}) };
  const expected = prompts.map((p) => arGreedy(config, params, p, stop).tokens);
  const cells: GridCell[] = [];
  for (const n of axes.n) for (const K of axes.K) for (const r of axes.r) for (const pool of axes.pool) {
    let tokens = 0;
    let forwards = 0;
    let positions = 0;
    prompts.forEach((prompt, i) => {
      const result = multiBlock(config, params, prompt, { ...stop, blockSize: n, maxBlocks: K, spawnRatio: r, poolSize: pool, poolKind: options.poolKind });
      if (result.tokens.join(",") !== expected[i].join(",")) {
        throw new Error(`multiblock-grid: n=${n} K=${K} r=${r} pool=${pool} differs from AR greedy on prompt ${i} — a bug`);
      }
      tokens += result.stats.committedTokens;
      forwards += result.stats.forwards;
      positions += result.stats.tokenPositions;
    });
    cells.push({ n, K, r, pool, tokensPerForward: tokens / Math.max(forwards, 1), positionsPerToken: positions / Math.max(tokens, 1) });
  }
  return cells;
}

// ---------------------------------------------------------------- the table and the heat map

/** The cell of (n, K, r, pool). */
function cellAt(cells: readonly GridCell[], n: number, K: number, r: number, pool: number): GridCell {
  return cells.find((c) => c.n === n && c.K === K && c.r === r && c.pool === pool)!;
}

/**
 * A markdown table: a row per (n, K, r), a column per pool size, each cell `TPF (positions/token)`.
 *
 * @example
 * ```ts
 * gridTable(cells, SMALL_GRID).split("\n")[0]; // "| n | K | r | pool 1 | pool 4 |"
 * ```
 */
export function gridTable(cells: readonly GridCell[], axes: GridAxes): string {
  const lines = [`| n | K | r | ${axes.pool.map((p) => `pool ${p}`).join(" | ")} |`, `|---|---|---|${axes.pool.map(() => "---").join("|")}|`];
  for (const n of axes.n) for (const K of axes.K) for (const r of axes.r) {
    const row = axes.pool.map((p) => {
      const c = cellAt(cells, n, K, r, p);
      return `${c.tokensPerForward.toFixed(2)} (${c.positionsPerToken.toFixed(1)})`;
    });
    lines.push(`| ${n} | ${K} | ${r} | ${row.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** A colour from white (lowest TPF) to deep blue (highest), as `rgb(...)`. */
function shade(value: number, low: number, high: number): string {
  const t = high > low ? (value - low) / (high - low) : 0;
  const mix = (from: number, to: number) => Math.round(from + (to - from) * t);
  return `rgb(${mix(247, 8)},${mix(251, 69)},${mix(255, 148)})`;
}

/**
 * The TPF heat map, hand-written SVG: one panel per K; in a panel a row per (n, r) and a column per pool
 * size; each cell coloured by TPF (one scale for all panels) and labelled with it.
 *
 * @example
 * ```ts
 * gridSvg(cells, SMALL_GRID, "random small model").startsWith("<svg"); // true
 * ```
 */
export function gridSvg(cells: readonly GridCell[], axes: GridAxes, title: string): string {
  const cw = 52, ch = 20, left = 78, top = 58, gap = 34;
  const rows = axes.n.length * axes.r.length;
  const panelWidth = axes.pool.length * cw;
  const heading = `Multi-block TPF — ${title}`;
  const width = Math.max(left + axes.K.length * (panelWidth + gap) + 10, 20 + heading.length * 7.2);  // room for the title (13 px bold)
  const height = top + rows * ch + 40;
  const values = cells.map((c) => c.tokensPerForward);
  const low = Math.min(...values), high = Math.max(...values);
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${Math.ceil(width)}" height="${height}" fill="white"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">${esc(heading)}</text>`,
  ];
  axes.K.forEach((K, k) => {
    const x0 = left + k * (panelWidth + gap);
    out.push(`<text x="${x0 + panelWidth / 2}" y="${top - 24}" text-anchor="middle" font-weight="bold">K = ${K}</text>`);
    axes.pool.forEach((p, j) => out.push(`<text x="${x0 + j * cw + cw / 2}" y="${top - 8}" text-anchor="middle">pool ${p}</text>`));
    axes.n.forEach((n, a) => axes.r.forEach((r, b) => {
      const y = top + (a * axes.r.length + b) * ch;
      if (k === 0) out.push(`<text x="${left - 6}" y="${y + ch / 2 + 4}" text-anchor="end">n=${n} r=${r}</text>`);
      axes.pool.forEach((p, j) => {
        const c = cellAt(cells, n, K, r, p);
        const fill = shade(c.tokensPerForward, low, high);
        const ink = high > low && (c.tokensPerForward - low) / (high - low) > 0.6 ? "white" : "black";
        out.push(`<rect x="${x0 + j * cw}" y="${y}" width="${cw}" height="${ch}" fill="${fill}" stroke="white"/>`);
        out.push(`<text x="${x0 + j * cw + cw / 2}" y="${y + ch / 2 + 4}" text-anchor="middle" fill="${ink}">${c.tokensPerForward.toFixed(2)}</text>`);
      });
    }));
  });
  out.push(`<text x="10" y="${height - 12}">colour: TPF from ${low.toFixed(2)} (white) to ${high.toFixed(2)} (blue); one scale for all panels</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Replaces the text between the `multiblock-grid` markers of `doc` with `body`. */
export function replaceBetweenMarkers(doc: string, body: string): string {
  const begin = "<!-- multiblock-grid:begin -->";
  const end = "<!-- multiblock-grid:end -->";
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`multiblock-grid: the document has no ${begin} ... ${end} section`);
  return doc.slice(0, from + begin.length) + "\n" + body + "\n" + doc.slice(to);
}

// ---------------------------------------------------------------- prompts

/** Prompts for the grid: held-out math problems or code windows, or short fixed texts (random ids without a tokenizer). */
export function gridPrompts(data: string, count: number, config: ModelConfig, tokenizer: Tokenizer | null): number[][] {
  if (data === "math") {
    if (tokenizer === null) throw new CliError("multiblock-grid: --data math needs the model's tokenizer.json");
    return mathEvalSet(count, 1234).map((p) => tokenizer.encodePrompt(mathPrompt(p)));
  }
  if (data === "code") return datasetFor("code").heldoutSequences(Math.min(64, config.maxPositions), count).map((w) => w.tokens.slice(0, 48));
  const rng = new Rng("multiblock-grid");
  const texts = ["The ", "def f(x):\n", "12+34=", "Jacobi ", "for i in range(", "Once upon a time"];
  return Array.from({ length: count }, (_, i) => {
    const text = texts[i % texts.length];
    if (tokenizer instanceof CharTokenizer && [...text].every((c) => tokenizer.chars.includes(c))) return tokenizer.encodePrompt(text);
    return [config.bosTokenId!, ...Array.from({ length: 6 }, () => rng.int(config.vocabSize))];
  });
}

// ---------------------------------------------------------------- the script

const SPEC: CommandSpec = {
  summary: "multi-block grid search: TPF and positions per token over n, K, r and pool size",
  flags: {
    model: { type: "string", help: "checkpoint folder" },
    data: { type: "string", choices: ["math", "code", "none"], default: "none", help: "where the prompts come from" },
    prompts: { type: "int", default: 4, help: "number of prompts" },
    "new-tokens": { type: "int", default: 64, help: "most tokens generated per prompt" },
    grid: { type: "string", choices: ["full", "small"], default: "full", help: "the full 192-point grid, or 16 points" },
    "pool-kind": { type: "string", choices: POOL_KINDS, default: "recycling", help: "candidate pool" },
    "ignore-eos": { type: "boolean", help: "generate the full budget (random models emit EOS early)" },
    "dry-run": { type: "boolean", help: "print the table only; write nothing" },
  },
};

function main(argv: readonly string[]): void {
  const flags = parseFlags("multiblock-grid", SPEC, argv);
  const { config, params, tokenizer } = loadCheckpoint(flags.model as string);
  const axes = flags.grid === "small" ? SMALL_GRID : FULL_GRID;
  const prompts = gridPrompts(flags.data as string, flags.prompts as number, config, tokenizer);
  const newTokens = flags["new-tokens"] as number;
  const t0 = performance.now();
  const cells = runGrid(config, params, prompts, axes, {
    newTokens, poolKind: flags["pool-kind"] as PoolKind, ...(flags["ignore-eos"] ? { eosTokenId: null } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const title = `${flags.model}, ${prompts.length} ${flags.data === "none" ? "" : flags.data + " "}prompts, up to ${newTokens} tokens${flags["ignore-eos"] ? " (EOS ignored)" : ""}, ${flags["pool-kind"]} pool`;
  const best = cells.reduce((a, b) => (b.tokensPerForward > a.tokensPerForward ? b : a));
  const body = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npx tsx bench/multiblock-grid.ts ${argv.join(" ")}\` (${seconds.toFixed(0)} s): ${title}.`,
    `Every run's output was identical to AR greedy. Best TPF ${best.tokensPerForward.toFixed(2)} at n=${best.n}, K=${best.K}, r=${best.r}, pool ${best.pool}.`,
    "",
    "![TPF heat map](multiblock-grid.svg)",
    "",
    "Each cell: TPF (token positions processed per committed token).",
    "",
    gridTable(cells, axes),
  ].join("\n");
  console.log(body);
  if (flags["dry-run"]) return;
  const docs = join(import.meta.dirname, "..", "docs");
  writeFileSync(join(docs, "multiblock-grid.svg"), gridSvg(cells, axes, title));
  const docPath = join(docs, "multiblock.md");
  writeFileSync(docPath, replaceBetweenMarkers(readFileSync(docPath, "utf8"), body));
  console.log(`\nwrote docs/multiblock-grid.svg and the grid section of docs/multiblock.md`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`multiblock-grid: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = e instanceof CliError ? 2 : 1;
  }
}
