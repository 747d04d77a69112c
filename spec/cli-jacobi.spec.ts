/**
 * `generate --method jacobi`: the same tokens as AR, its costs in `--json`, the `--trace` view, and
 * clear errors for bad Jacobi flags.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.ts";
import { cli } from "./helpers/cli.ts";
import { arGreedyReference } from "../src/decoding/greedy.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";

const root = mkdtempSync(join(tmpdir(), "jf-cli-jacobi-"));
const model = join(root, "small");
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("generate --method jacobi", () => {
  beforeAll(async () => {
    expect((await cli("init", "--preset", "tiny", "--seed", "0", "--out", model)).code).toBe(0);
  });

  it("prints the AR tokens with Jacobi's costs in --json, for both modes", async () => {
    const { config, params } = loadCheckpoint(model);
    const expected = arGreedyReference(config, params, [1, 40, 41], { maxNewTokens: 20, eosTokenId: null }).tokens;
    for (const mode of ["block", "window"]) {
      const r = await cli("generate", "--model", model, "--prompt-ids", "1,40,41", "--method", "jacobi", "--block-size", "6",
        "--mode", mode, "--max-new-tokens", "20", "--ignore-eos", "--json");
      expect(r.code, r.err).toBe(0);
      const json = JSON.parse(r.out);
      expect(json.tokens).toEqual(expected);
      expect(json.stats.committedTokens).toBe(20);
      expect(json.stats.tokensPerForward).toBe(20 / json.stats.forwards);
      expect(json.stats.tokenPositions).toBeGreaterThanOrEqual(json.stats.forwards);
      if (mode === "block") expect(json.stats.iterationsPerBlock.reduce((a: number, b: number) => a + b, 0)).toBe(json.stats.forwards);
    }
  });

  it("--trace prints every iteration with plain markers when not on a terminal", async () => {
    const r = await cli("generate", "--model", model, "--prompt", "Jacobi", "--method", "jacobi", "--block-size", "4",
      "--max-new-tokens", "8", "--ignore-eos", "--trace");
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("legend: x+ accepted (committed)   x* changed since the previous iteration   x unchanged");
    expect(lines).toContain("block 0: output positions 0..3");
    expect(lines).toContain("block 1: output positions 4..7");
    const iterations = lines.filter((l) => l.startsWith("  iteration "));
    expect(iterations[0]).toMatch(/^ {2}iteration 1 +\S\+ (\S[ *+] ){2}\S[ *+] {3}accepts \d {3}\(\d\/4 committed\)$/);
    expect(iterations[iterations.length - 1]).toMatch(/(\S\+ ){3}\S\+ {3}accepts \d {3}\(4\/4 committed\)$/); // a block ends all accepted
    expect(r.out).not.toMatch(/\x1b\[/);                                                                     // no colour codes
    expect(r.err).toMatch(/^\[jacobi n=4 block init=context\] 8 tokens in \d+ forwards \(TPF \d\.\d\d\), \d+ token positions processed, iterations per block \d \d\n$/);
  });

  it("--trace uses colour on a terminal", async () => {
    let out = "";
    const code = await main(["generate", "--model", model, "--prompt", "Jacobi", "--method", "jacobi", "--block-size", "4", "--max-new-tokens", "4", "--trace"],
      { out: (t) => { out += t; }, err: () => {}, isTTY: true });
    expect(code).toBe(0);
    expect(out).toMatch(/\x1b\[32m/);
  });

  it("--threads 2 prints the tokens of one thread, for ar, jacobi and mr (a model wide enough to be split)", async () => {
    const wide = join(root, "wide");
    expect((await cli("init", "--preset", "small", "--seed", "1", "--out", wide)).code).toBe(0);
    for (const method of ["ar", "jacobi", "mr"]) {
      const args = ["generate", "--model", wide, "--prompt-ids", "1,40,41,42,43,44,45,46", "--method", method, "--block-size", "8",
        "--max-new-tokens", "24", "--ignore-eos", "--json"];
      const one = await cli(...args);
      const two = await cli(...args, "--threads", "2");
      expect(two.code, two.err).toBe(0);
      expect(JSON.parse(two.out).tokens, method).toEqual(JSON.parse(one.out).tokens);
    }
  });

  it("says on stderr when the context length cut the decode short, and --json carries why it stopped", async () => {
    const { config } = loadCheckpoint(model);
    const long = Array.from({ length: config.maxPositions - 3 }, (_, i) => 3 + (i % 40)).join(",");
    for (const method of ["ar", "jacobi", "mr"]) {
      const cut = await cli("generate", "--model", model, "--prompt-ids", long, "--method", method, "--block-size", "4", "--max-new-tokens", "10", "--ignore-eos", "--json");
      expect(cut.code, cut.err).toBe(0);
      expect(JSON.parse(cut.out).tokens, method).toHaveLength(3);
      expect(JSON.parse(cut.out).stats.stopReason, method).toBe("context");
      expect(cut.err, method).toBe(`generate: stopped at the context length ${config.maxPositions} after 3 of 10 requested tokens (prompt ${config.maxPositions - 3} tokens)\n`);
      const full = await cli("generate", "--model", model, "--prompt-ids", "1,40,41", "--method", method, "--block-size", "4", "--max-new-tokens", "10", "--ignore-eos", "--json");
      expect(JSON.parse(full.out).stats.stopReason, method).toBe("budget");
      expect(full.err, method).toBe("");
    }
    const text = await cli("generate", "--model", model, "--prompt-ids", long, "--max-new-tokens", "400", "--ignore-eos");
    expect(text.err).toMatch(/^generate: stopped at the context length 128 after 3 of 400 requested tokens \(prompt 125 tokens\)\n\[ar\] 3 tokens/);
  });

  const bad: [string, string[], number, RegExp][] = [
    ["--threads 0", ["--threads", "0"], 2, /generate: --threads must be an integer in 1\.\.17, got 0/],
    ["--threads with webgpu", ["--threads", "2", "--backend", "webgpu"], 2, /--threads splits the CPU backend's forwards; it cannot be combined with --backend webgpu/],
    ["block size 0", ["--method", "jacobi", "--block-size", "0"], 1, /jacobi: blockSize must be a positive integer, got 0/],
    ["unknown init", ["--method", "jacobi", "--init", "random"], 2, /--init must be one of context, vocab, repeat-last, pad, got "random"/],
    ["--trace with AR", ["--trace"], 2, /--trace shows Jacobi iterations; it needs --method jacobi/],
    ["--trace with --json", ["--method", "jacobi", "--trace", "--json"], 2, /--trace and --json cannot be combined/],
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
