/**
 * Task evaluation with stand-in decoders: an oracle that writes the reference solution scores 1, one
 * that is off by one digit in the answer scores 0, the totals count tokens and forwards, all wrong
 * answers are counted while five are kept, progress is reported after every prompt, and the code speed
 * measurement takes the prompts and length of docs/results.md, EOS ignored.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.ts";
import { mathDataset, type Dataset } from "../src/data/dataset.ts";
import { codeDataset } from "../src/data/text.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/node/checkpoint-folder.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { cli } from "./helpers/cli.ts";
import { mathEvalSet, type MathProblem } from "../src/data/math.ts";
import { CODE_SPEED, codeSpeed, codeSpeedPrompts, mathAccuracy, type Decode } from "../src/evaluation/tasks.ts";
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
    expect(r.wrong).toBe(0);
  });

  it("an answer one digit off is wrong, and so is a missing marker", () => {
    const offByOne = (p: MathProblem): string => p.solution.slice(0, -1) + String((Number(p.answer.at(-1)) + 1) % 10);
    expect(mathAccuracy(tokenizer, problems, tableDecoder(offByOne)).accuracy).toBe(0);
    const r = mathAccuracy(tokenizer, problems, tableDecoder((p) => p.solution.replace("A:", "")));
    expect(r.accuracy).toBe(0);
    expect(r.failures.length).toBe(5);
    expect(r.wrong).toBe(20);                                          // all counted, five kept to show
    expect(r.failures[0].expected).toBe(problems[0].answer);
  });

  it("reports progress after every problem", () => {
    const seen: string[] = [];
    mathAccuracy(tokenizer, problems.slice(0, 3), tableDecoder((p) => p.solution), (done, total) => seen.push(`${done}/${total}`));
    expect(seen).toEqual(["1/3", "2/3", "3/3"]);
  });
});

describe("codeSpeed: the code measurement of docs/results.md", () => {
  const windows = Array.from({ length: 50 }, (_, w) => ({ tokens: Array.from({ length: 256 }, (_, i) => 3 + ((w + i) % 90)) }));

  it("prompts: the first 64 tokens of 20 windows, every floor(windows / 20)-th from the first; all of them when fewer", () => {
    const prompts = codeSpeedPrompts(windows);
    expect(CODE_SPEED).toEqual({ prefixes: 20, prefixLength: 64, newTokens: 96 });
    expect(prompts).toHaveLength(20);
    expect(prompts.map((p) => p.length)).toEqual(Array(20).fill(64));
    expect(prompts[1]).toEqual(windows[2].tokens.slice(0, 64));         // step floor(50 / 20) = 2
    expect(prompts[19]).toEqual(windows[38].tokens.slice(0, 64));
    expect(codeSpeedPrompts(windows.slice(0, 7))).toEqual(windows.slice(0, 7).map((w) => w.tokens.slice(0, 64)));
  });

  it("decodes each prompt for 96 tokens with EOS ignored, and counts tokens and forwards", () => {
    const calls: string[] = [];
    const decode: Decode = (prompt, max, options) => {
      calls.push(`${prompt.length} ${max} ${options?.ignoreEos}`);
      return { tokens: Array(max).fill(5), forwards: max / 2 };
    };
    const seen: number[] = [];
    const r = codeSpeed(codeSpeedPrompts(windows), decode, (done) => seen.push(done));
    expect(calls).toEqual(Array(20).fill("64 96 true"));
    expect(r.tokens).toBe(20 * 96);
    expect(r.forwards).toBe(20 * 48);
    expect(r.outputs).toHaveLength(20);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe("the eval command", () => {
  const root = mkdtempSync(join(tmpdir(), "jf-eval-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** An untrained tiny model with the dataset's vocabulary and room for 64 + 96 tokens: it gets every math answer wrong. */
  const untrained = (name: string, dataset: Dataset): string => {
    const dir = join(root, name);
    const config = { ...PRESETS.tiny, vocabSize: dataset.tokenizer.vocabSize, maxPositions: 256 };
    saveCheckpoint(dir, { config, params: initParams(config, { seed: 4, std: 0.5 }), tokenizer: dataset.tokenizer });
    return dir;
  };

  it("math: progress on stderr, a line every tenth; five wrong answers listed and how many more", async () => {
    const r = await cli("eval", "--model", untrained("math", mathDataset()), "--data", "math", "--examples", "20");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(Array.from({ length: 10 }, (_, i) => `eval: ${2 * (i + 1)}/20 problems\n`).join(""));
    const lines = r.out.split("\n");
    expect(lines.filter((l) => l.startsWith("wrong: "))).toHaveLength(5);
    expect(lines[5]).toBe("... and 15 more wrong answers");
    expect(lines[6]).toBe("accuracy: 0");
  });

  it("on a terminal, progress is one line redrawn in place, ended at the last problem", async () => {
    let err = "";
    const code = await main(["eval", "--model", join(root, "math"), "--data", "math", "--examples", "3", "--json"],
      { out: () => {}, err: (t) => { err += t; }, isTTY: true });
    expect(code).toBe(0);
    expect(err).toMatch(/^\reval: 1\/3 problems\x1b\[K(\reval: 2\/3 problems\x1b\[K)?\reval: 3\/3 problems\x1b\[K\n$/);
  });

  it("code: TPF on the prompts and length of docs/results.md (20 prefixes x 96 tokens, EOS ignored), with progress", async () => {
    const dataset = codeDataset();
    const model = untrained("code", dataset);
    const r = await cli("eval", "--model", model, "--data", "code", "--method", "jacobi", "--block-size", "4", "--examples", "3", "--json");
    expect(r.code, r.err).toBe(0);
    const { config, params } = loadCheckpoint(model);
    const all = dataset.heldoutSequences(config.maxPositions, Number.MAX_SAFE_INTEGER);
    let tokens = 0, forwards = 0;
    for (const prompt of codeSpeedPrompts(all)) {
      const { stats } = jacobi(config, params, prompt, { maxNewTokens: 96, eosTokenId: null, blockSize: 4 });
      tokens += stats.committedTokens;
      forwards += stats.forwards;
    }
    const report = JSON.parse(r.out);
    expect(tokens).toBe(20 * 96);
    expect(report.tokensPerForward).toBe(tokens / forwards);
    expect(report.examples).toBe(3);                                       // --examples bounds the bits-per-character windows only
    expect(r.err).toBe(`eval: bits per character on 3 held-out windows of ${config.maxPositions} characters ...\n` +
      Array.from({ length: 10 }, (_, i) => `eval: ${2 * (i + 1)}/20 prefixes continued for 96 tokens\n`).join(""));
    const text = await cli("eval", "--model", model, "--data", "code", "--examples", "1");
    expect(text.out.match(/^--- prefix:$/gm)).toHaveLength(5);
    expect(text.out).toContain("\n... and 15 more continuations, counted in the speed below\n");
  });
});
