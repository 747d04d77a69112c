/**
 * The picture of a packed Jacobi Forcing sequence's attention mask, `docs/jacobi-forcing-mask.svg`:
 * both masks of `src/training/packing.ts` side by side — noise-conditioned (the default, paper Fig. 2b)
 * and clean-context (the CLLM-style baseline, Fig. 2a) — for one tiny trajectory.
 *
 * ```
 * npm run mask-picture          (= npx tsx bench/mask-picture.ts)
 * ```
 *
 * The trajectory is written here by hand (prompt `abc`, two blocks of n = 4 whose fixed points continue
 * the alphabet), but everything drawn comes from the real code: `buildExample` picks the noisy states by
 * the noise schedule, `packSequence` lays the sequence out, `attentionMask` gives every cell and
 * `consistencyRows` the rows the consistency loss trains. So the picture is what training uses; and
 * `spec/mask-picture.spec.ts` checks that the committed SVG equals what this script writes now, so it
 * cannot drift from the code.
 *
 * What it is not: a plotting library. One layout, fixed sizes, hand-written SVG, no dependency.
 *
 * Read next: `docs/jacobi-forcing.md`, which shows the picture and explains it.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../src/tensor/random.ts";
import { buildExample, type JacobiForcingExample, type JacobiForcingOptions, type TrajectoryData } from "../src/training/jacobi-forcing.ts";
import { noiseRatio } from "../src/training/noise-schedule.ts";
import type { MaskKind } from "../src/training/packing.ts";

// ---------------------------------------------------------------- the example

/** Token ids of a string: one id per character, its char code (so a label is `String.fromCharCode(id)`). */
const ids = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/**
 * The tiny trajectory the picture is drawn from: prompt `abc`, block size n = 4, two blocks. Each
 * block's states run from the first draft (only the seed right: noise ratio 3/4) to its fixed point;
 * the first mismatch moves right by one per Jacobi iteration.
 *
 */
export const MASK_PICTURE_TRAJECTORY: TrajectoryData = {
  prompt: ids("abc"),
  blockSize: 4,
  blocks: [
    { context: ids("abc"), states: ["dzqx", "dezq", "defq", "defg"].map(ids), fixedPoint: ids("defg") },
    { context: ids("abcdefg"), states: ["hxzq", "hizx", "hijz", "hijk"].map(ids), fixedPoint: ids("hijk") },
  ],
};

/**
 * The schedule of the picture: w = 4 progressive with a random window phase, the setting of our
 * round 1. `Rng(1)` draws the phase φ = 1, so the two blocks get the targets 1/3 and 2/3 and both
 * carry noise (with φ = 0 the first block would get target 0 and show no noise at all).
 *
 */
export const MASK_PICTURE_OPTIONS: JacobiForcingOptions = { window: 4, strategy: "progressive", windowPhase: "random", eosTokenId: null };

/**
 * Seed of the schedule's generator in the picture.
 *
 */
export const MASK_PICTURE_SEED = 1;

/**
 * The picture's packed example under one mask, built by the real `buildExample`.
 *
 * @example
 * ```ts
 * const ex = maskPictureExample("noise-conditioned");
 * ex.packed.tokens.length; // 19 = P 3 + 2 × 2 blocks × n 4
 * ```
 */
export function maskPictureExample(kind: MaskKind): JacobiForcingExample {
  return buildExample(MASK_PICTURE_TRAJECTORY, { ...MASK_PICTURE_OPTIONS, mask: kind }, new Rng(MASK_PICTURE_SEED));
}

// ---------------------------------------------------------------- layout

const CELL = 16;                 // cell width and height, px
const LEFT = 98;                 // row labels: segment, token, position
const TOP = 96;                  // panel title, then column labels: segment, token, position
const PANEL_GAP = 40;            // between the two panels
const MARGIN = 16;
const HEADER = 70;               // picture title and two lines on the example
const LEGEND = 88;               // legend under the panels

type Segment = { readonly name: string; readonly start: number; readonly length: number; readonly kind: "prompt" | "noisy" | "clean" };

const FILL: Record<Segment["kind"], string> = { prompt: "#90a4ae", noisy: "#ffb74d", clean: "#4caf50" };
const STUDENT_INK = "#c62828";   // rows the consistency loss trains
const INK = "#222222";

/** The five characters that must be escaped in SVG text and attributes. */
function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** The segments of a packed sequence in order: prompt, noisy_0, clean_0, noisy_1, ... */
function segments(example: JacobiForcingExample): Segment[] {
  const { packed } = example;
  const out: Segment[] = [{ name: "prompt", start: 0, length: packed.promptLength, kind: "prompt" }];
  packed.blocks.forEach((b, j) => {
    out.push({ name: `noisy_${j}`, start: b.noisyStart, length: b.length, kind: "noisy" });
    out.push({ name: `clean_${j}`, start: b.cleanStart, length: b.length, kind: "clean" });
  });
  return out;
}

/** One panel: the L × L grid of `example.mask` with its labels, its top-left corner at (x0, y0). */
function panel(example: JacobiForcingExample, title: string, x0: number, y0: number): string[] {
  const { packed, mask } = example;
  const L = packed.tokens.length;
  const segs = segments(example);
  const kindOf = (i: number): Segment["kind"] => segs.find((s) => i >= s.start && i < s.start + s.length)!.kind;
  const student = new Set(example.studentRows);
  const gx = x0 + LEFT;                                                       // grid origin
  const gy = y0 + TOP;
  const out: string[] = [];
  out.push(`<text x="${gx}" y="${y0 + 14}" font-weight="bold">${xml(title)}</text>`);
  // column labels (keys) above the grid, row labels (queries) left of it
  for (const s of segs) {
    const cx = gx + s.start * CELL;
    out.push(`<text x="${cx + (s.length * CELL) / 2}" y="${y0 + 40}" text-anchor="middle">${s.name}</text>`);
    out.push(`<line x1="${cx + 2}" y1="${y0 + 46}" x2="${cx + s.length * CELL - 2}" y2="${y0 + 46}" stroke="${FILL[s.kind]}" stroke-width="3"/>`);
    const ry = gy + s.start * CELL;
    out.push(`<text x="${x0 + 4}" y="${ry + (s.length * CELL) / 2 + 4}">${s.name}</text>`);
    out.push(`<line x1="${x0 + 56}" y1="${ry + 2}" x2="${x0 + 56}" y2="${ry + s.length * CELL - 2}" stroke="${FILL[s.kind]}" stroke-width="3"/>`);
  }
  for (let i = 0; i < L; i++) {
    const token = xml(String.fromCharCode(packed.tokens[i]));
    const ink = student.has(i) ? STUDENT_INK : INK;
    const weight = student.has(i) ? ` font-weight="bold"` : "";
    const c = gx + i * CELL + CELL / 2;
    out.push(`<text x="${c}" y="${y0 + 64}" text-anchor="middle" font-family="monospace" fill="${ink}"${weight}>${token}</text>`);
    out.push(`<text x="${c}" y="${y0 + 84}" text-anchor="middle" font-size="10" fill="#555555">${packed.positions[i]}</text>`);
    const r = gy + i * CELL + CELL / 2 + 4;
    out.push(`<text x="${x0 + 68}" y="${r}" text-anchor="middle" font-family="monospace" fill="${ink}"${weight}>${token}</text>`);
    out.push(`<text x="${gx - 6}" y="${r}" text-anchor="end" font-size="10" fill="#555555">${packed.positions[i]}</text>`);
  }
  // the cells: filled where the query row may attend to the key column, coloured by the key's segment
  out.push(`<rect x="${gx}" y="${gy}" width="${L * CELL}" height="${L * CELL}" fill="#ffffff" stroke="#bdbdbd"/>`);
  for (let q = 0; q < L; q++) {
    for (let k = 0; k < L; k++) {
      if (mask[q * L + k] !== 1) continue;
      out.push(`<rect x="${gx + k * CELL + 1}" y="${gy + q * CELL + 1}" width="${CELL - 2}" height="${CELL - 2}" fill="${FILL[kindOf(k)]}"/>`);
    }
  }
  for (const s of segs.slice(1)) {                                            // segment boundaries
    const at = s.start * CELL;
    out.push(`<line x1="${gx + at}" y1="${gy}" x2="${gx + at}" y2="${gy + L * CELL}" stroke="#616161"/>`);
    out.push(`<line x1="${gx}" y1="${gy + at}" x2="${gx + L * CELL}" y2="${gy + at}" stroke="#616161"/>`);
  }
  return out;
}

// ---------------------------------------------------------------- the picture

/**
 * The whole picture: the noise-conditioned mask (left) and the clean-context mask (right) of the same
 * packed example, with a title, the schedule's choices and a legend.
 *
 * @returns the SVG document, deterministic (the committed file is exactly this string)
 * @example
 * ```ts
 * maskPictureSvg().startsWith('<svg xmlns="http://www.w3.org/2000/svg"'); // true
 * ```
 */
export function maskPictureSvg(): string {
  const noise = maskPictureExample("noise-conditioned");
  const clean = maskPictureExample("clean-context");
  const L = noise.packed.tokens.length;
  const panelWidth = LEFT + L * CELL;
  const width = 2 * MARGIN + 2 * panelWidth + PANEL_GAP;
  const height = HEADER + TOP + L * CELL + LEGEND;
  const text = (t: readonly number[]) => t.map((id) => String.fromCharCode(id)).join("");
  const chosen = noise.packed.blocks.map((b, j) => {
    const state = noise.packed.tokens.slice(b.noisyStart, b.noisyStart + b.length);
    const ratio = noiseRatio(state, MASK_PICTURE_TRAJECTORY.blocks[j].fixedPoint);
    return `block ${j}: target ${noise.targets[j].toFixed(2)} → state ${text(state)} (ratio ${ratio.toFixed(2)})`;
  });
  const P = noise.packed.promptLength;
  const n = MASK_PICTURE_TRAJECTORY.blockSize;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" fill="${INK}">`,
    "<!-- drawn by bench/mask-picture.ts (npm run mask-picture) from buildExample and attentionMask; do not edit by hand -->",
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="22" font-size="15" font-weight="bold">The packed sequence of Jacobi Forcing and its two attention masks (rows: queries, columns: keys)</text>`,
    `<text x="${MARGIN}" y="42">${xml(`prompt ${text(MASK_PICTURE_TRAJECTORY.prompt)}, n = ${n}, T = ${noise.packed.blocks.length} blocks with fixed points ${MASK_PICTURE_TRAJECTORY.blocks.map((b) => text(b.fixedPoint)).join(", ")}: length P + 2Tn = ${L}; schedule w = 4, progressive, random phase:`)}</text>`,
    `<text x="${MARGIN}" y="58">${xml(chosen.join("; "))}</text>`,
    ...panel(noise, "noise-conditioned (default; paper Fig. 2b)", MARGIN, HEADER),
    ...panel(clean, "clean-context (CLLM-style baseline; Fig. 2a)", MARGIN + panelWidth + PANEL_GAP, HEADER),
  ];
  const ly = HEADER + TOP + L * CELL + 24;
  const swatches: [Segment["kind"], string][] = [["prompt", "key in the prompt"], ["noisy", "key in a noisy block"], ["clean", "key in a clean block"]];
  swatches.forEach(([kind, label], i) => {
    const x = MARGIN + i * 170;
    out.push(`<rect x="${x}" y="${ly - 11}" width="14" height="14" fill="${FILL[kind]}"/>`);
    out.push(`<text x="${x + 20}" y="${ly}">${label}</text>`);
  });
  out.push(`<text x="${MARGIN + 3 * 170}" y="${ly}"><tspan fill="${STUDENT_INK}" font-weight="bold">red letters</tspan>: noisy rows the consistency loss trains</text>`);
  out.push(`<text x="${MARGIN}" y="${ly + 22}">A filled cell: the query (row) may attend to the key (column). Small numbers: RoPE positions, shared by noisy_j and clean_j.</text>`);
  out.push(`<text x="${MARGIN}" y="${ly + 40}">Left: noisy never sees clean, clean never sees noisy. Right: noisy_1 sees clean_0 instead of noisy_0.</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------- main

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const file = join(import.meta.dirname, "..", "docs", "jacobi-forcing-mask.svg");
  writeFileSync(file, maskPictureSvg());
  console.log("wrote docs/jacobi-forcing-mask.svg");
}
