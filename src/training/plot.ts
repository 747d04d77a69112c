/**
 * The loss curve as a hand-written SVG (no plotting dependency): training loss per step (thin grey),
 * its moving average (blue), held-out loss at evaluation steps (orange dots joined), a log-free linear
 * y axis from 0 to the largest plotted value, and a few labelled ticks.
 *
 * Read next: `state.ts`, which writes it next to `loss.csv`.
 *
 * @module
 */
import type { EvalRow, HistoryRow } from "./state.ts";

const W = 720, H = 400, LEFT = 60, RIGHT = 20, TOP = 40, BOTTOM = 50;

/** Escapes text for SVG. */
const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A number with 3 significant digits for tick labels. */
const fmt = (v: number): string => (Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

/**
 * Renders the training and held-out loss against the step.
 *
 * @param history - one row per step
 * @param evals - rows with a `heldoutLoss`
 * @param title - drawn at the top
 * @returns the SVG document
 * @example
 * ```ts
 * lossCurveSvg([{ step: 1, lr: 1e-3, loss: 2.3, gradNorm: 1 }], [], "demo").startsWith("<svg"); // true
 * ```
 * @category Training
 */
export function lossCurveSvg(history: readonly HistoryRow[], evals: readonly EvalRow[], title: string): string {
  const lastStep = Math.max(1, history.length > 0 ? history[history.length - 1].step : 1);
  const held = evals.filter((e) => typeof e.heldoutLoss === "number").map((e) => [e.step, e.heldoutLoss] as const);
  const values = [...history.map((h) => h.loss), ...held.map(([, v]) => v)].filter(Number.isFinite);
  const yMax = values.length > 0 ? Math.max(...values) * 1.05 : 1;
  const x = (step: number): number => LEFT + ((W - LEFT - RIGHT) * step) / lastStep;
  const y = (v: number): number => TOP + (H - TOP - BOTTOM) * (1 - v / yMax);
  const path = (points: readonly (readonly [number, number])[]): string =>
    points.map(([s, v], i) => `${i === 0 ? "M" : "L"}${x(s).toFixed(1)},${y(v).toFixed(1)}`).join(" ");

  // moving average over a window of ~2% of the run
  const window = Math.max(1, Math.round(history.length / 50));
  const smooth: [number, number][] = [];
  let sum = 0;
  history.forEach((h, i) => {
    sum += h.loss;
    if (i >= window) sum -= history[i - window].loss;
    smooth.push([h.step, sum / Math.min(i + 1, window)]);
  });

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    parts.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
    const s = Math.round((lastStep * i) / 5);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${H - BOTTOM + 18}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${H - BOTTOM}" stroke="black"/>`);
  parts.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${H - BOTTOM}" y2="${H - BOTTOM}" stroke="black"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">step</text>`);
  parts.push(`<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">cross-entropy (nats / token)</text>`);
  if (history.length > 0) {
    parts.push(`<path d="${path(history.map((h) => [h.step, h.loss]))}" fill="none" stroke="#bbb" stroke-width="0.8"/>`);
    parts.push(`<path d="${path(smooth)}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
  }
  if (held.length > 0) {
    parts.push(`<path d="${path(held)}" fill="none" stroke="#ff7f0e" stroke-width="1.5"/>`);
    for (const [s, v] of held) parts.push(`<circle cx="${x(s).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="#ff7f0e"/>`);
  }
  parts.push(`<text x="${W - RIGHT - 150}" y="${TOP + 10}" fill="#1f77b4">training (moving average)</text>`);
  parts.push(`<text x="${W - RIGHT - 150}" y="${TOP + 26}" fill="#ff7f0e">held-out</text>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
