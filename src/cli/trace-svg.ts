/**
 * The picture of a Jacobi trajectory, as a hand-written SVG (no drawing dependency), in the manner of
 * the paper's trajectory figures (§3.2, Fig. 4): one row per iteration, one cell per token of the
 * block, coloured by what that iteration did to it.
 *
 * ```text
 *              output position →
 * iteration 1  [4][+][ ][ ][=] ...   accepts 1
 * iteration 2  [4][+][9][+][=] ...   accepts 3
 * ```
 *
 * Colours (the marks of `trace.ts`, so the picture and the text trace always agree): green — accepted
 * (committed once the iteration is done); orange — changed by the last Jacobi update; grey — unchanged.
 * A dark outline marks a draft token that already equals the block's fixed point y* but is not
 * committed yet: it is right and waits only for the tokens before it — the "fixed-point segments inside
 * noisy drafts" that Jacobi Forcing trains a model to produce.
 *
 * What it is not: a plotting library. One layout, fixed sizes, text in a monospace font.
 *
 * Read next: `commands/trace.ts`, which decodes and calls this.
 *
 * @module
 */
import { tokenLabel, type Tokenizer } from "../model/tokenizer.ts";
import { traceMarks, traceRight, type TraceMark, type TraceRow } from "./trace.ts";

// ---------------------------------------------------------------- layout

const CELL = 20;                 // cell width and height, px
const GAP = 2;                   // space between cells
const LEFT = 100;                // room for "iteration 12"
const RIGHT = 96;                // room for "accepts 3"
const TOP = 58;                  // title, subtitle and position ruler
const BLOCK_GAP = 26;            // space above each block's header
const LEGEND = 46;               // legend under the grid

const FILL: Record<TraceMark, string> = { accepted: "#4caf50", changed: "#ffb74d", unchanged: "#e8e8e8" };
const INK: Record<TraceMark, string> = { accepted: "#ffffff", changed: "#222222", unchanged: "#555555" };
const RIGHT_OUTLINE = "#1b5e20";

/** The five characters that must be escaped in SVG text and attributes. */
function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

// ---------------------------------------------------------------- the picture

/**
 * What {@link traceSvg} draws besides the rows.
 *
 * @category CLI
 */
export interface TraceSvgOptions {
  /** First line of the picture, e.g. `models/math-teacher — Jacobi n = 16`. */
  readonly title: string;
  /** Second line, e.g. the prompt. */
  readonly subtitle: string;
}

/**
 * The trajectory `rows` as a standalone SVG document: a title, then per block a header and one row of
 * cells per iteration, then a legend. Rows of several blocks are drawn one block under the other.
 *
 * Width `LEFT + m·(20+2) + RIGHT` px for the widest row of m tokens; height grows by 22 px an iteration.
 *
 * @param rows - from `traceRow`, in decoding order
 * @param tokenizer - labels the cells with characters; token ids without one
 * @returns the SVG text, starting with `<svg` and ending with a newline
 * @example
 * ```ts
 * const rows: TraceRow[] = [];
 * jacobi(config, params, prompt, { maxNewTokens: 16, onIteration: (s) => rows.push(traceRow(s)) });
 * writeFileSync("trace.svg", traceSvg(rows, tokenizer, { title: "math-teacher", subtitle: "734+259" }));
 * ```
 * @category CLI
 */
export function traceSvg(rows: readonly TraceRow[], tokenizer: Tokenizer | null, options: TraceSvgOptions): string {
  const marks = traceMarks(rows);
  const right = traceRight(rows);
  const widest = Math.max(1, ...rows.map((r) => r.state.length));
  const width = LEFT + widest * (CELL + GAP) + RIGHT;
  const body: string[] = [];
  let y = TOP;
  rows.forEach((row, r) => {
    const newBlock = r === 0 || row.block !== rows[r - 1].block;
    if (newBlock) {
      y += BLOCK_GAP;
      const iterations = rows.filter((o) => o.block === row.block && row.block !== null).length;
      const what = row.block === null
        ? "running window"
        : `block ${row.block}: output positions ${row.start}..${row.start + row.state.length - 1}, ${iterations} iteration${iterations === 1 ? "" : "s"}`;
      body.push(`<text x="${LEFT}" y="${y - 8}" class="head">${xml(what)}</text>`);
    }
    body.push(`<text x="${LEFT - 8}" y="${y + 14}" class="label" text-anchor="end">iteration ${row.iteration}</text>`);
    row.state.forEach((token, i) => {
      const x = LEFT + i * (CELL + GAP);
      const mark = marks[r][i];
      const outline = right[r][i] && mark !== "accepted" ? ` stroke="${RIGHT_OUTLINE}" stroke-width="2"` : "";
      body.push(`<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}" rx="3" fill="${FILL[mark]}"${outline}/>`);
      body.push(`<text x="${x + CELL / 2}" y="${y + 14}" class="cell" fill="${INK[mark]}">${xml(tokenLabel(token, tokenizer))}</text>`);
    });
    body.push(`<text x="${LEFT + row.state.length * (CELL + GAP) + 6}" y="${y + 14}" class="label">accepts ${row.accepted}</text>`);
    y += CELL + GAP;
  });
  y += 18;
  const legend: [string, string, string][] = [
    [FILL.accepted, "", "accepted (committed)"],
    [FILL.changed, "", "changed by the last update"],
    [FILL.unchanged, "", "unchanged"],
    [FILL.unchanged, ` stroke="${RIGHT_OUTLINE}" stroke-width="2"`, "already right (= y*), not yet accepted"],
  ];
  let x = 10;
  for (const [fill, stroke, text] of legend) {
    body.push(`<rect x="${x}" y="${y}" width="14" height="14" rx="2" fill="${fill}"${stroke}/>`);
    body.push(`<text x="${x + 20}" y="${y + 11}" class="label">${xml(text)}</text>`);
    x += 34 + text.length * 6.8;                         // about 6.6 px a character at 11 px
  }
  const height = y + LEGEND - 18;
  const canvas = Math.max(width, x);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${canvas}" height="${height}" viewBox="0 0 ${canvas} ${height}">`,
    "<style>",
    "  text { font-family: ui-monospace, Menlo, Consolas, monospace; }",
    "  .title { font-size: 14px; font-weight: bold; fill: #222; }",
    "  .sub { font-size: 12px; fill: #444; }",
    "  .head { font-size: 12px; fill: #222; }",
    "  .label { font-size: 11px; fill: #444; }",
    "  .cell { font-size: 13px; text-anchor: middle; }",
    "</style>",
    `<rect width="${canvas}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" class="title">${xml(options.title)}</text>`,
    `<text x="10" y="38" class="sub">${xml(options.subtitle)}</text>`,
    ...body,
    "</svg>",
  ].join("\n") + "\n";
}
