/**
 * Task evaluation with stand-in decoders: an oracle that writes the reference solution scores 1, one
 * that is off by one digit in the answer scores 0, and the totals count tokens and forwards.
 *
 * @module
 */
import { describe, expect, it } from "vitest";
import { mathDataset } from "../src/data/dataset.ts";
import { mathEvalSet, type MathProblem } from "../src/data/math.ts";
import { continueText, mathAccuracy, type Decode } from "../src/evaluation/tasks.ts";
import { SPECIAL_TOKENS } from "../src/model/tokenizer.ts";

const tokenizer = mathDataset().tokenizer;
const problems = mathEvalSet(20, 3);

/** A decoder that answers from a table of solutions keyed by the prompt text, one token per forward. */
function tableDecoder(solve: (p: MathProblem) => string): Decode {
  const byPrompt = new Map(problems.map((p) => [`${p.question}\n`, p]));
  return (prompt) => {
    const p = byPrompt.get(tokenizer.decode(prompt))!;
    const tokens = [...tokenizer.encode(solve(p)), SPECIAL_TOKENS.eos];
    return { tokens, forwards: tokens.length };
  };
}

describe("mathAccuracy", () => {
  it("scores the reference solutions 1 and counts tokens and forwards", () => {
    const r = mathAccuracy(tokenizer, problems, tableDecoder((p) => p.solution));
    expect(r.accuracy).toBe(1);
    expect(r.examples).toBe(20);
    expect(r.tokens).toBe(problems.reduce((n, p) => n + p.solution.length + 1, 0));
    expect(r.failures).toEqual([]);
  });

  it("an answer one digit off is wrong, and so is a missing marker", () => {
    const offByOne = (p: MathProblem): string => p.solution.slice(0, -1) + String((Number(p.answer.at(-1)) + 1) % 10);
    expect(mathAccuracy(tokenizer, problems, tableDecoder(offByOne)).accuracy).toBe(0);
    const r = mathAccuracy(tokenizer, problems, tableDecoder((p) => p.solution.replace("A:", "")));
    expect(r.accuracy).toBe(0);
    expect(r.failures.length).toBe(5);
    expect(r.failures[0].expected).toBe(problems[0].answer);
  });

  it("continueText decodes what the decoder returns; unknown prefix characters are an error", () => {
    const echo: Decode = () => ({ tokens: tokenizer.encode("12=3"), forwards: 4 });
    expect(continueText(tokenizer, ["1+1"], 4, echo)).toEqual([{ prefix: "1+1", continuation: "12=3" }]);
    expect(() => continueText(tokenizer, ["1/1"], 4, echo)).toThrow(/character "\/" \(U\+002F\) at index 1 is not in the vocabulary/);
  });
});
