/**
 * The `--trace` view of Jacobi decoding: every iteration of every block on one line, each token marked
 * accepted (committed), changed since the previous iteration, or unchanged. Colour on a terminal, plain
 * markers otherwise (so the trace can be pasted into docs and diffed).
 *
 * It only formats what `jacobi`'s `onIteration` hook reports; it decides nothing about decoding.
 *
 * @module
 */
import type { JacobiStep } from "../decoding/jacobi.ts";
import type { CharTokenizer } from "../model/tokenizer.ts";

/** What one iteration looked like: enough to draw its line. @category CLI */
export interface TraceRow {
  /** Block index (block mode) or null (window mode). */
  readonly block: number | null;
  /** 1-based iteration within the block (window mode: since the start). */
  readonly iteration: number;
  /** Output position of `state[0]` (0 = the first generated token). */
  readonly start: number;
  /** The tokens shown: the block's state y(j) (block mode) or the window (window mode). */
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
  const earlier = step.state.length - step.window.length;       // block tokens committed before this iteration
  return {
    block: step.block,
    iteration: step.iteration,
    start: step.committedBefore - earlier,
    state: [...step.state],
    committed: earlier + step.accepted,
    accepted: step.accepted,
  };
}

/** How a token of a trace row is shown. */
type Mark = "accepted" | "changed" | "unchanged";

const PLAIN: Record<Mark, string> = { accepted: "+", changed: "*", unchanged: " " };
const COLOUR: Record<Mark, string> = { accepted: "\x1b[32m", changed: "\x1b[33m", unchanged: "\x1b[2m" };
const RESET = "\x1b[0m";

/** One-character stand-ins, so that every column of a character trace is one wide. */
const VISIBLE: Readonly<Record<string, string>> = { " ": "␣", "\n": "⏎", "\t": "⇥", "<bos>": "␂", "<eos>": "␄", "<pad>": "␀" };

/** Printable label of a token: the character (whitespace and specials as symbols), or the id. */
function label(id: number, tokenizer: CharTokenizer | null): string {
  if (tokenizer === null) return String(id);
  const text = tokenizer.label(id);
  return VISIBLE[text] ?? text;
}

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
export function formatTrace(rows: readonly TraceRow[], tokenizer: CharTokenizer | null, colour: boolean): string {
  const width = Math.max(1, ...rows.flatMap((r) => r.state.map((t) => label(t, tokenizer).length)));
  const lines = [colour
    ? `legend: ${COLOUR.accepted}accepted${RESET}  ${COLOUR.changed}changed since the previous iteration${RESET}  ${COLOUR.unchanged}unchanged${RESET}`
    : "legend: x+ accepted (committed)   x* changed since the previous iteration   x unchanged"];
  if (tokenizer !== null) lines.push("        ␣ space  ⏎ newline  ⇥ tab  ␂ BOS  ␄ EOS  ␀ pad");
  let previous: TraceRow | null = null;
  for (const row of rows) {
    if (row.block !== null && row.block !== previous?.block) {
      lines.push(`block ${row.block}: output positions ${row.start}..${row.start + row.state.length - 1}`);
    }
    const cells = row.state.map((token, i) => {
      const position = row.start + i;
      const before = previous === null ? undefined : previous.state[position - previous.start];
      const mark: Mark = i < row.committed ? "accepted" : before !== undefined && before !== token ? "changed" : "unchanged";
      const text = label(token, tokenizer).padEnd(width);
      return colour ? `${COLOUR[mark]}${text}${RESET} ` : `${text}${PLAIN[mark]}`;
    });
    const head = row.block === null ? `  iteration ${row.iteration} @${row.start}` : `  iteration ${row.iteration}`;
    lines.push(`${head.padEnd(18)}${cells.join(" ")}   accepts ${row.accepted}   (${row.committed}/${row.state.length} committed)`);
    previous = row;
  }
  return lines.join("\n") + "\n";
}
