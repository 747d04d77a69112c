/**
 * Progress display of a training run: a one-line bar redrawn in place on a terminal (step, loss,
 * tokens/s, ETA), plain log lines otherwise (files, pipes, CI), and always a line per evaluation.
 *
 * Read next: `trainer.ts` (who reports).
 *
 * @module
 */
import type { Progress } from "./trainer.ts";

/**
 * `1h02m`, `3m05s` or `12s`.
 *
 * @example
 * ```ts
 * formatDuration(185); // "3m05s"
 * ```
 * @category Training
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/**
 * A progress reporter writing to `out`: with `tty` a bar redrawn with `\r`, else a line every
 * `every` steps. Evaluations always get their own line.
 *
 * @example
 * ```ts
 * const report = progressReporter(process.stderr, false, 10);
 * report({ step: 10, steps: 100, loss: 1.23, tokensPerSecond: 1500, etaSeconds: 60 });
 * // writes "step 10/100  loss 1.2300  1500 tok/s  ETA 1m00s"; steps 1-9 write nothing
 * ```
 * @category Training
 */
export function progressReporter(out: { write(s: string): unknown }, tty: boolean, every: number): (p: Progress) => void {
  return (p) => {
    const stats = `step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  ${p.tokensPerSecond.toFixed(0)} tok/s  ETA ${formatDuration(p.etaSeconds)}`;
    if (tty) {
      const width = 30;
      const filled = Math.round((width * p.step) / p.steps);
      out.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${stats}\x1b[K`);
      if (p.eval) out.write("\n");
    } else if (p.step % every === 0 || p.step === p.steps || p.eval) {
      out.write(`${stats}\n`);
    }
    if (p.eval) {
      const metrics = Object.entries(p.eval).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join("  ");
      out.write(`eval at step ${p.step}: ${metrics}\n`);
    }
  };
}
