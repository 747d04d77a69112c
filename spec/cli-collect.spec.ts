/**
 * `collect` writes greedy Jacobi trajectories of training prompts: the right prompts, fixed points that
 * are AR greedy's tokens, the teacher recorded in the file, a clear error for a model of another
 * vocabulary and for an output path it cannot write (before any decoding); and `eval --method jacobi`.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.ts";
import { mathDataset, mathPromptIds } from "../src/data/dataset.ts";
import { mathSplitOf, solveMath } from "../src/data/math.ts";
import { TEXT_PROMPT_LENGTH, fileDataset } from "../src/data/text.ts";
import { arGreedyReference } from "../src/decoding/greedy.ts";
import { saveCheckpoint } from "../src/node/checkpoint-folder.ts";
import { readTrajectories, readTrajectoryFile } from "../src/node/trajectory-file.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { SPECIAL_TOKENS } from "../src/model/tokenizer.ts";
import { Rng } from "../src/tensor/random.ts";

const root = mkdtempSync(join(tmpdir(), "jf-cli-collect-"));
const model = join(root, "tiny-math");
const config = { ...PRESETS.tiny, vocabSize: mathDataset().tokenizer.vocabSize };
const params = initParams(config, { seed: 4, std: 0.5 });
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("Dataset.trainPrompt", () => {
  it("math: BOS + a training question, laid out as mathDocument's prompt, a function of the seed", () => {
    const data = mathDataset();
    const prompt = data.trainPrompt(new Rng(0));
    expect(prompt).toEqual(data.trainPrompt(new Rng(0)));
    expect(prompt).toEqual(mathPromptIds(data.tokenizer, solveMath(51, "*", 5)));
    expect(mathPromptIds(data.tokenizer, solveMath(734, "+", 259)).length).toBe(9);
  });

  it("text: 32 consecutive training ids", () => {
    const file = join(root, "notes.txt");
    writeFileSync(file, "the quick brown fox jumps over the lazy dog\n".repeat(40));
    const data = fileDataset(file);
    const prompt = data.trainPrompt(new Rng(3));
    expect(prompt).toHaveLength(TEXT_PROMPT_LENGTH);
    const text = data.tokenizer.decode(prompt.filter((id) => id !== SPECIAL_TOKENS.bos && id !== SPECIAL_TOKENS.eos));
    expect("the quick brown fox jumps over the lazy dog\n".repeat(3)).toContain(text);
  });
});

describe("jacobi-forcing collect", () => {
  beforeAll(() => {
    saveCheckpoint(model, { config, params, tokenizer: mathDataset().tokenizer });
  });

  it("writes one trajectory per training prompt, whose fixed points are AR greedy's tokens", async () => {
    const out = join(root, "trajectories.jsonl");
    const r = await cli("collect", "--model", model, "--data", "math", "--prompts", "3", "--block-size", "4", "--out", out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/prompts: 3\nblocks: \d+\nmean states per block: \d+\.\d\d\ntokens per forward: \d+\.\d\d/);
    expect(r.err).toMatch(/prompt 3\/3/);
    const trajectories = readTrajectories(out);
    expect(trajectories).toHaveLength(3);
    const { tokenizer } = mathDataset();
    for (const t of trajectories) {
      expect(t.prompt[0]).toBe(SPECIAL_TOKENS.bos);
      const text = tokenizer.decode(t.prompt.slice(1));
      expect(text).toMatch(/^\d{3}[+\-*]\d{1,3}\n$/);
      expect(mathSplitOf(text.trimEnd())).toBe("train");
      expect(t.blockSize).toBe(4);
      const expected = arGreedyReference(config, params, t.prompt, { maxNewTokens: 64 }).tokens;
      expect(t.blocks.flatMap((b) => b.fixedPoint)).toEqual(expected);
    }
    const again = join(root, "again.jsonl");
    expect((await cli("collect", "--model", model, "--data", "math", "--prompts", "3", "--block-size", "4", "--out", again)).code).toBe(0);
    expect(readTrajectories(again)).toEqual(trajectories);
    // the header records the teacher: its folder name and the SHA-256 of its config and weights
    const sha256 = createHash("sha256").update(readFileSync(join(model, "config.json"))).update(readFileSync(join(model, "model.safetensors"))).digest("hex");
    expect(readTrajectoryFile(out).teacher).toEqual({ name: "tiny-math", sha256 });
  });

  it("an --out it cannot write is refused in one line before anything is decoded", async () => {
    const cases: [string, string][] = [
      [root, `collect: cannot write ${root}: it is a folder (EISDIR)`],
      [join(root, "missing", "t.jsonl"), `collect: cannot write ${join(root, "missing", "t.jsonl")}: its folder ${join(root, "missing")} does not exist (ENOENT)`],
    ];
    for (const [out, message] of cases) {
      const r = await cli("collect", "--model", model, "--data", "math", "--prompts", "3", "--block-size", "4", "--out", out);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`jacobi-forcing: ${message}\n`); // the only line: no progress, so no prompt was decoded
    }
  });

  it("eval --method jacobi scores exactly as AR, with TPF >= 1 and iterationsPerToken = 1 / TPF", async () => {
    const evaluate = async (...flags: string[]) => {
      const r = await cli("eval", "--model", model, "--data", "math", "--examples", "3", "--json", ...flags);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out);
    };
    const ar = await evaluate("--method", "ar");
    const jac = await evaluate("--method", "jacobi");
    expect(jac.accuracy).toBe(ar.accuracy);
    expect(ar.tokensPerForward).toBe(1);
    expect(jac.tokensPerForward).toBeGreaterThanOrEqual(1);
    expect(jac.iterationsPerToken).toBeCloseTo(1 / jac.tokensPerForward, 12);
  });

  it("a model of another vocabulary: one line on stderr, non-zero exit", async () => {
    const ascii = join(root, "ascii");
    expect((await cli("init", "--preset", "tiny", "--out", ascii)).code).toBe(0);
    const r = await cli("collect", "--model", ascii, "--data", "math", "--prompts", "3", "--block-size", "4", "--out", join(root, "x.jsonl"));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/collect: the model's vocabulary \(\d+ ids\) is not the math dataset's \(20 ids\)/);
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });
});
