/**
 * `math`: a synthetic, verifiable arithmetic task written as short step-by-step solutions — the
 * project's stand-in for GSM8K (a prompt, a chain of reasoning steps, a marked final answer).
 *
 * The task mix, chosen so that a tiny character-level model learns it on one CPU core (the run is in
 * models/README.md): addition and subtraction of two 3-digit numbers, and multiplication of a 3-digit
 * number by a digit.
 * Operands are written zero-padded to 3 digits (`007`), so every problem of one operation has exactly
 * the same layout: each character sits at a fixed distance from the characters it depends on, which
 * attention with rotary positions finds easily (minGPT reverses digits for the same reason). The
 * solution works column by column from the right, one line per column, carrying explicitly:
 *
 * ```
 * 734+259        prompt (after BOS)
 * 4+9+0=13       ones:     a + b + carry-in = carry-out, digit
 * 3+5+1=09       tens
 * 7+2+0=09       hundreds
 * A:0993         the final answer: the last carry, then the digits from the top line up; then EOS
 *
 * 734-259        subtraction (a >= b): a - b - borrow-in = borrow-out, digit
 * 4-9-0=15       (4 - 9 - 0 = -5 = 5 - 10·1: borrow 1, digit 5)
 * 3-5-1=17
 * 7-2-1=04
 * A:0475
 *
 * 734*7          multiplication by one digit: a*m + carry-in = carry, digit
 * 4*7+0=28
 * 3*7+2=23
 * 7*7+2=51
 * A:5138
 * ```
 *
 * The final answer always has 4 digits (zero-padded), and evaluation is the exact string match of
 * what follows `A:` against the reference.
 *
 * Held-out split: a problem is held out when a hash of its prompt falls in the last tenth, so the
 * training and held-out streams can never share a problem, whatever the seed.
 *
 * Read next: `text.ts` (the other corpora) and `dataset.ts` (how documents become training sequences).
 *
 * @module
 */
import { Rng } from "../tensor/random.ts";

// ---------------------------------------------------------------- problems

/**
 * One arithmetic problem with its worked solution ({@link solveMath} makes one).
 *
 * @category Data
 */
export interface MathProblem {
  /** The question, e.g. `734+259` (what follows BOS in the prompt, before the newline). */
  readonly question: string;
  /** The solution lines and the final answer line, e.g. `4+9+0=13\n...\nA:0993`. */
  readonly solution: string;
  /** The final answer as written after `A:`, e.g. `0993`. */
  readonly answer: string;
}

/**
 * Digits of every operand, zero-padded: `7 + 5` is written `007+005`.
 *
 * @category Data
 */
export const MATH_DIGITS = 3;
/**
 * Marker that introduces the final answer (`A:0993`).
 *
 * @category Data
 */
export const ANSWER_MARKER = "A:";

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

/**
 * Writes the worked solution of `a op b`.
 *
 * @param op - `+`, `-` (requires a >= b) or `*` (b is one digit)
 * @example
 * ```ts
 * solveMath(734, "+", 259).answer;   // "0993"
 * solveMath(734, "*", 7).solution;   // "4*7+0=28\n3*7+2=23\n7*7+2=51\nA:5138"
 * ```
 * @category Data
 */
export function solveMath(a: number, op: "+" | "-" | "*", b: number): MathProblem {
  const W = MATH_DIGITS;
  if (!Number.isInteger(a) || a < 0 || a >= 10 ** W) throw new RangeError(`solveMath: a must be an integer in 0..${10 ** W - 1}, got ${a}`);
  const bMax = op === "*" ? 9 : 10 ** W - 1;
  if (!Number.isInteger(b) || b < 0 || b > bMax) throw new RangeError(`solveMath: b must be an integer in 0..${bMax} for "${op}", got ${b}`);
  if (op === "-" && a < b) throw new RangeError(`solveMath: subtraction needs a >= b, got ${a} - ${b}`);
  const as = pad(a, W);
  const bs = op === "*" ? String(b) : pad(b, W);
  const lines: string[] = [];
  const digits: number[] = [];
  let carry = 0;
  for (let col = W - 1; col >= 0; col--) {
    const x = Number(as[col]);
    const y = op === "*" ? b : Number(bs[col]);
    let value: number;
    let next: number;
    if (op === "-") {
      const d = x - y - carry;
      next = d < 0 ? 1 : 0;
      value = d + 10 * next; // the digit
      lines.push(`${x}-${y}-${carry}=${next}${value}`);
    } else {
      value = (op === "+" ? x + y : x * y) + carry;
      next = Math.floor(value / 10);
      lines.push(`${x}${op}${y}+${carry}=${pad(value, 2)}`);
    }
    digits.push(value % 10);
    carry = next;
  }
  const answer = `${carry}${digits.reverse().join("")}`;
  const exact = op === "+" ? a + b : op === "-" ? a - b : a * b;
  if (Number(answer) !== exact) throw new Error(`solveMath: internal error, ${as}${op}${bs} gave ${answer}, expected ${exact}`);
  return { question: `${as}${op}${bs}`, solution: `${lines.join("\n")}\n${ANSWER_MARKER}${answer}`, answer };
}

// ---------------------------------------------------------------- the split

/**
 * Which part of a dataset: `train` for learning, `heldout` for evaluation only.
 *
 * @category Data
 */
export type Split = "train" | "heldout";

/** FNV-1a hash of a string, 32 bits. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The split a question belongs to: `heldout` for the tenth of questions whose hash ends in 0 mod 10.
 *
 * @example
 * ```ts
 * mathSplitOf("734+259"); // "train" (always, whatever the seed)
 * ```
 * @category Data
 */
export function mathSplitOf(question: string): Split {
  return fnv1a(question) % 10 === 0 ? "heldout" : "train";
}

// ---------------------------------------------------------------- sampling

/**
 * Draws a problem of `split`: the operation uniformly from `+ - *`, operands uniformly (swapped for
 * subtraction so that a >= b), redrawn until the question belongs to the split.
 *
 * @param rng - the generator; the stream of problems is a function of its state only
 * @example
 * ```ts
 * sampleMath(new Rng(1), "heldout").question; // e.g. "530*8"
 * ```
 * @category Data
 */
export function sampleMath(rng: Rng, split: Split): MathProblem {
  const ops = ["+", "-", "*"] as const;
  for (;;) {
    const op = ops[rng.int(3)];
    let a = rng.int(10 ** MATH_DIGITS);
    let b = op === "*" ? rng.int(10) : rng.int(10 ** MATH_DIGITS);
    if (op === "-" && a < b) [a, b] = [b, a];
    const problem = solveMath(a, op, b);
    if (mathSplitOf(problem.question) === split) return problem;
  }
}

/**
 * `count` distinct held-out problems for evaluation, the same for a given seed.
 *
 * @example
 * ```ts
 * mathEvalSet(500, 1234).length; // 500
 * ```
 * @category Data
 */
export function mathEvalSet(count: number, seed: number): MathProblem[] {
  const rng = new Rng(`math-eval-${seed}`);
  const byQuestion = new Map<string, MathProblem>();                     // in the order drawn
  while (byQuestion.size < count) {
    const p = sampleMath(rng, "heldout");
    if (!byQuestion.has(p.question)) byQuestion.set(p.question, p);
  }
  return [...byQuestion.values()];
}

/**
 * The prompt text of a problem (what follows BOS): the question and a newline.
 *
 * @example
 * ```ts
 * mathPrompt(solveMath(734, "*", 7)); // "734*7\n"
 * ```
 * @category Data
 */
export function mathPrompt(problem: MathProblem): string {
  return `${problem.question}\n`;
}

/**
 * The final answer in a generated solution: the characters after the last `A:` up to the end of the
 * line, or null when there is no marker.
 *
 * @example
 * ```ts
 * extractAnswer("4+9+0=13\nA:0993"); // "0993"
 * ```
 * @category Data
 */
export function extractAnswer(text: string): string | null {
  const at = text.lastIndexOf(ANSWER_MARKER);
  if (at < 0) return null;
  return text.slice(at + ANSWER_MARKER.length).split("\n")[0];
}

/**
 * Every character a math document can contain: the vocabulary of the math tokenizer (17 characters,
 * 20 ids with the 3 special ones).
 *
 * @category Data
 */
export const MATH_CHARS = "\n+-*0123456789=A:";
