/**
 * `generate --method mr` and `--temperature` for every method: AR's tokens with multi-block's costs in
 * `--json`, reproducible sampling from `--seed`, clear errors for bad flags; and `eval --method mr`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.ts";
import { arGreedyReference } from "../src/decoding/greedy.ts";
import { arSample } from "../src/decoding/sampling.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";

const root = mkdtempSync(join(tmpdir(), "jf-cli-mr-"));
const model = join(root, "tiny");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base = () => ["generate", "--model", model, "--prompt-ids", "1,40,41", "--max-new-tokens", "20", "--ignore-eos"];

describe("generate --method mr and --temperature", () => {
  beforeAll(async () => {
    expect((await cli("init", "--preset", "tiny", "--seed", "0", "--out", model)).code).toBe(0);
  });

  it("--method mr prints AR greedy's tokens, with where they came from in --json", async () => {
    const { config, params } = loadCheckpoint(model);
    const expected = arGreedyReference(config, params, [1, 40, 41], { maxNewTokens: 20, eosTokenId: null }).tokens;
    for (const poolKind of ["recycling", "ngram"]) {
      const r = await cli(...base(), "--method", "mr", "--block-size", "6", "--blocks", "3", "--spawn-ratio", "0.5", "--pool", "2",
        "--pool-kind", poolKind, "--json");
      expect(r.code, r.err).toBe(0);
      const { tokens, stats } = JSON.parse(r.out);
      expect(tokens).toEqual(expected);
      const f = stats.acceptedFrom;
      expect(f.anchor + f.draft + f.recycled + f.promoted).toBe(20);
      expect(f.seed).toBe(f.anchor);                                       // the count's old name, kept for scripts
      expect(stats.positionsPerToken).toBe(stats.tokenPositions / 20);
    }
  });

  it("the cost line names the configuration and the sources of accepted tokens", async () => {
    const r = await cli(...base(), "--method", "mr", "--block-size", "4");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^\[mr n=4 K=2 r=0\.85 pool=4 recycling\] 20 tokens in \d+ forwards \(TPF \d\.\d\d\), \d+ token positions processed, iterations per block [\d ]+; accepted from: \d+ anchors, \d+ drafts, \d+ recycled, \d+ promoted\n$/);
  });

  it("--temperature samples with every method, reproducibly from --seed; AR's sample is arSample's", async () => {
    const { config, params } = loadCheckpoint(model);
    const expected = arSample(config, params, [1, 40, 41], { maxNewTokens: 20, eosTokenId: null, temperature: 0.9, topP: 0.95, seed: 5 }).tokens;
    const ar = await cli(...base(), "--temperature", "0.9", "--top-p", "0.95", "--seed", "5", "--json");
    expect(JSON.parse(ar.out).tokens).toEqual(expected);
    for (const method of ["jacobi", "mr"]) {
      const run = async () => JSON.parse((await cli(...base(), "--method", method, "--block-size", "4", "--temperature", "0.9", "--top-k", "30", "--seed", "5", "--json")).out).tokens;
      const first = await run();
      expect(first).toHaveLength(20);
      expect(await run()).toEqual(first);
    }
  });

  it("eval --method mr scores the shipped math teacher exactly as AR does, in fewer forwards", async () => {
    const teacher = join(import.meta.dirname, "..", "models", "math-teacher");
    const evaluate = async (...flags: string[]) => {
      const r = await cli("eval", "--model", teacher, "--data", "math", "--examples", "12", "--json", ...flags);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out);
    };
    const ar = await evaluate();
    const mr = await evaluate("--method", "mr", "--block-size", "8", "--blocks", "2", "--pool", "4");
    expect(mr.accuracy).toBe(ar.accuracy);
    expect(ar.tokensPerForward).toBe(1);
    expect(mr.tokensPerForward).toBeGreaterThanOrEqual(1);
  });

  const bad: [string, string[], number, RegExp][] = [
    ["--top-k without a temperature", ["--top-k", "5"], 1, /generate --method ar: topK and topP shape a sampling distribution; they need a temperature > 0/],
    ["a negative temperature", ["--method", "jacobi", "--temperature", "-1"], 1, /jacobi: temperature must be a finite number >= 0, got -1/],
    ["spawn ratio 0", ["--method", "mr", "--spawn-ratio", "0"], 1, /multiBlock: spawnRatio must be a number in \(0, 1\], got 0/],
    ["unknown pool kind", ["--method", "mr", "--pool-kind", "lru"], 2, /--pool-kind must be one of recycling, ngram, got "lru"/],
    ["--trace with mr", ["--method", "mr", "--trace"], 2, /--trace shows Jacobi iterations; it needs --method jacobi/],
  ];
  for (const [label, flags, code, message] of bad) {
    it(`${label}: one line on stderr, exit ${code}`, async () => {
      const r = await cli("generate", "--model", model, "--prompt", "a", ...flags);
      expect(r.code).toBe(code);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    });
  }
});
