/**
 * The loss curve as a hand-written SVG (no plotting dependency): training loss per step (thin grey),
 * its moving average (blue), held-out loss at evaluation steps (orange dots joined). The y axis is
 * logarithmic — a run's loss falls over orders of magnitude, and a linear axis would flatten everything
 * after its first tenth — with a tick per power of 10 (and at 2 and 5 when the range is under two
 * decades).
 *
 * It takes plain rows (a step and its loss; a step and its metrics) and imports nothing, so `state.ts`
 * can import it without a cycle.
 *
 * Read next: `state.ts`, which writes it next to `loss.csv`.
 *
 * @module
 */

const W = 720, H = 400, LEFT = 60, RIGHT = 20, TOP = 40, BOTTOM = 50;

/** Escapes text for SVG. */
const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A number with 3 significant digits for tick labels. */
const fmt = (v: number): string => (Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

/**
 * Renders the training and held-out loss against the step.
 *
 * @param history - one row per step: the step and its training loss (a `HistoryRow` of `state.ts` is one)
 * @param evals - one row per evaluation: the step and its metrics; those with a `heldoutLoss` are drawn
 * @param title - drawn at the top
 * @returns the SVG document
 * @example
 * ```ts
 * const svg = lossCurveSvg([{ step: 1, loss: 2.3 }, { step: 2, loss: 1.1 }], [{ step: 2, heldoutLoss: 1.4 }], "demo");
 * svg.startsWith("<svg"); // true; the held-out loss is one orange dot at step 2
 * ```
 * @category Training
 */
export function lossCurveSvg(
  history: readonly { readonly step: number; readonly loss: number }[], evals: readonly Readonly<Record<string, number>>[], title: string,
): string {
  const lastStep = Math.max(1, history.length > 0 ? history[history.length - 1].step : 1);
  const held = evals.filter((e) => typeof e.heldoutLoss === "number").map((e) => [e.step, e.heldoutLoss] as const);
  const values = [...history.map((h) => h.loss), ...held.map(([, v]) => v)].filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.log10(values.length > 0 ? Math.min(...values) / 1.2 : 0.1);
  const hi = Math.log10(values.length > 0 ? Math.max(...values) * 1.2 : 10);
  const span = Math.max(hi - lo, 1e-9);
  const x = (step: number): number => LEFT + ((W - LEFT - RIGHT) * step) / lastStep;
  // log scale; values at or below 0 (never a cross-entropy, but be safe) sit on the bottom axis
  const y = (v: number): number => TOP + (H - TOP - BOTTOM) * (1 - (Math.log10(Math.max(v, 10 ** lo)) - lo) / span);
  const ticks: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of span < 2 ? [1, 2, 5] : [1]) {
      const v = m * 10 ** e;
      if (Math.log10(v) >= lo && Math.log10(v) <= hi) ticks.push(v);
    }
  }
  const path = (points: readonly (readonly [number, number])[]): string =>
    points.map(([s, v], i) => `${i === 0 ? "M" : "L"}${x(s).toFixed(1)},${y(v).toFixed(1)}`).join(" ");

  // moving average over the last `width` steps, ~2% of the run
  const width = Math.max(1, Math.round(history.length / 50));
  const smooth: [number, number][] = [];
  let sum = 0;
  history.forEach((h, i) => {
    sum += h.loss;
    if (i >= width) sum -= history[i - width].loss;
    smooth.push([h.step, sum / Math.min(i + 1, width)]);
  });

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (const v of ticks) {
    parts.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const s = Math.round((lastStep * i) / 5);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${H - BOTTOM + 18}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${H - BOTTOM}" stroke="black"/>`);
  parts.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${H - BOTTOM}" y2="${H - BOTTOM}" stroke="black"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">step</text>`);
  parts.push(`<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">cross-entropy (nats / token, log scale)</text>`);
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
