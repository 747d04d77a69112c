/**
 * The `--trace` view of Jacobi decoding: every iteration of every block on one line, each token marked
 * accepted (committed), changed since the previous iteration, or unchanged. Colour on a terminal, plain
 * markers otherwise (so the trace can be pasted into docs and diffed).
 *
 * It only formats what `jacobi`'s `onIteration` hook reports ({@link tracedJacobi} collects it); it
 * decides nothing about decoding. No Node here: the page draws the same rows.
 *
 * @module
 */
import { jacobi } from "../decoding/jacobi.ts";
import type { JacobiOptions, JacobiResult, JacobiStep } from "../decoding/types.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import { tokenLabel, type Tokenizer } from "../model/tokenizer.ts";

/**
 * What one iteration looked like: enough to draw its line.
 *
 * @category CLI
 */
export interface TraceRow {
  /** Block index (block mode) or null (running-window mode). */
  readonly block: number | null;
  /** 1-based iteration within the block (running-window mode: since the start). */
  readonly iteration: number;
  /** Output position of `state[0]` (0 = the first generated token). */
  readonly start: number;
  /** The tokens shown: the block's state y(j) (block mode) or the draft (running-window mode). */
  readonly state: readonly number[];
  /** Tokens of `state` committed once this iteration is done (earlier ones included). */
  readonly committed: number;
  /** Tokens this iteration committed. */
  readonly accepted: number;
}

/**
 * The row to draw for one {@link JacobiStep}.
 *
 * @example
 * ```ts
 * const rows: TraceRow[] = [];
 * jacobi(config, params, prompt, { maxNewTokens: 16, onIteration: (s) => rows.push(traceRow(s)) });
 * ```
 * @category CLI
 */
export function traceRow(step: JacobiStep): TraceRow {
  const earlier = step.state.length - step.draft.length;        // block tokens committed before this iteration
  return {
    block: step.block,
    iteration: step.iteration,
    start: step.committedBefore - earlier,
    state: [...step.state],
    committed: earlier + step.accepted,
    accepted: step.accepted,
  };
}

// ---------------------------------------------------------------- marks

/**
 * How a token of a trace row is shown: `accepted` — committed once this iteration is done;
 * `changed` — differs from the token at the same output position in the previous row (the last Jacobi
 * update rewrote it); `unchanged` — neither.
 *
 * @category CLI
 */
export type TraceMark = "accepted" | "changed" | "unchanged";

/**
 * The mark of every token of every row, in the order of `rows`: one rule for the text trace and the
 * picture, so both always agree.
 *
 * @returns [rows][tokens of the row] marks
 * @example
 * ```ts
 * traceMarks([
 *   { block: 0, iteration: 1, start: 0, state: [5, 9, 9], committed: 1, accepted: 1 },
 *   { block: 0, iteration: 2, start: 0, state: [5, 6, 9], committed: 3, accepted: 2 },
 * ]); // [["accepted", "unchanged", "unchanged"], ["accepted", "accepted", "accepted"]]
 * ```
 * @category CLI
 */
export function traceMarks(rows: readonly TraceRow[]): TraceMark[][] {
  return rows.map((row, r) => {
    const before = rows[r - 1];
    return row.state.map((token, i): TraceMark => {
      if (i < row.committed) return "accepted";
      const earlier = before === undefined ? undefined : before.state[row.start + i - before.start];
      return earlier !== undefined && earlier !== token ? "changed" : "unchanged";
    });
  });
}

/**
 * For each row, which of its tokens already equal the block's fixed point y* — right, whether or not
 * they are committed yet. A draft token that is right but not yet accepted waits only for the tokens
 * before it: the segments of right tokens inside a noisy draft that a Jacobi Forcing model learns to
 * produce (paper §3.2, Fig. 4). Window-mode rows (no blocks) get no fixed point: all false.
 *
 * @returns [rows][tokens of the row] true where the token equals y* at its position
 * @example
 * ```ts
 * traceRight([
 *   { block: 0, iteration: 1, start: 0, state: [5, 9, 7], committed: 1, accepted: 1 },
 *   { block: 0, iteration: 2, start: 0, state: [5, 6, 7], committed: 3, accepted: 2 },
 * ]); // [[true, false, true], [true, true, true]]  (y* = [5, 6, 7])
 * ```
 * @category CLI
 */
export function traceRight(rows: readonly TraceRow[]): boolean[][] {
  const fixedPoints = new Map<number, readonly number[]>();   // block -> the committed tokens of its last row
  for (const row of rows) if (row.block !== null) fixedPoints.set(row.block, row.state.slice(0, row.committed));
  return rows.map((row) => {
    const y = row.block === null ? undefined : fixedPoints.get(row.block);
    return row.state.map((token, i) => y !== undefined && i < y.length && y[i] === token);
  });
}

// ---------------------------------------------------------------- the text trace

const PLAIN: Record<TraceMark, string> = { accepted: "+", changed: "*", unchanged: " " };
const COLOUR: Record<TraceMark, string> = { accepted: "\x1b[32m", changed: "\x1b[33m", unchanged: "\x1b[2m" };
const RESET = "\x1b[0m";

/**
 * The whole trace as text: a legend, then per block a header and one line per iteration.
 *
 * @param colour - ANSI colours instead of markers (for a terminal)
 * @example
 * ```ts
 * formatTrace(rows, tokenizer, false);
 * // block 0: output positions 0..7
 * //   iteration 1   T+ h  e  ␣  c  a  t  s    accepts 1   (1/8 committed)
 * ```
 * @category CLI
 */
export function formatTrace(rows: readonly TraceRow[], tokenizer: Tokenizer | null, colour: boolean): string {
  const width = Math.max(1, ...rows.flatMap((r) => r.state.map((t) => tokenLabel(t, tokenizer).length)));
  const lines = [colour
    ? `legend: ${COLOUR.accepted}accepted${RESET}  ${COLOUR.changed}changed since the previous iteration${RESET}  ${COLOUR.unchanged}unchanged${RESET}`
    : "legend: x+ accepted (committed)   x* changed since the previous iteration   x unchanged"];
  if (tokenizer !== null) lines.push("        ␣ space  ⏎ newline  ⇥ tab  ␂ BOS  ␄ EOS  ␀ pad");
  const marks = traceMarks(rows);
  rows.forEach((row, r) => {
    if (row.block !== null && row.block !== rows[r - 1]?.block) {
      lines.push(`block ${row.block}: output positions ${row.start}..${row.start + row.state.length - 1}`);
    }
    const cells = row.state.map((token, i) => {
      const text = tokenLabel(token, tokenizer).padEnd(width);
      return colour ? `${COLOUR[marks[r][i]]}${text}${RESET} ` : `${text}${PLAIN[marks[r][i]]}`;
    });
    const head = row.block === null ? `  iteration ${row.iteration} @${row.start}` : `  iteration ${row.iteration}`;
    lines.push(`${head.padEnd(18)}${cells.join(" ")}   accepts ${row.accepted}   (${row.committed}/${row.state.length} committed)`);
  });
  return lines.join("\n") + "\n";
}

/**
 * What {@link tracedJacobi} returns.
 *
 * @category CLI
 */
export interface TracedJacobi {
  /** One row per iteration of every block, in decoding order. */
  readonly rows: TraceRow[];
  /** What `jacobi` returned. */
  readonly result: JacobiResult;
}

/**
 * Greedy block Jacobi with every iteration recorded as a {@link TraceRow}: what `trace` and
 * `bench/pictures.ts` draw.
 *
 * @param prompt - [P] token ids
 * @example
 * ```ts
 * const { rows, result } = tracedJacobi(config, params, [1, 40], { maxNewTokens: 8, blockSize: 4 });
 * rows.length === result.stats.forwards; // true: one row per forward
 * ```
 * @category CLI
 */
export function tracedJacobi(config: ModelConfig, params: Params, prompt: readonly number[], options: Omit<JacobiOptions, "onIteration">): TracedJacobi {
  const rows: TraceRow[] = [];
  const result = jacobi(config, params, prompt, { ...options, onIteration: (step) => rows.push(traceRow(step)) });
  return { rows, result };
}
