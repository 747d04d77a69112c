/**
 * The oracle entry point, imported by package name as a consumer would: `jacobi-forcing/oracle` resolves
 * through package.json "exports", its functions are the ones the decoders are tested against, and a
 * mismatch is reported at the first differing token.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  acceptedPrefixLength, arGreedyReference, argmax, firstDifference, forward, jacobiReference, keepThroughEos, loadCheckpoint, stopReason,
} from "jacobi-forcing/oracle";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";

const repo = join(import.meta.dirname, "..");

describe("jacobi-forcing/oracle", () => {
  const { config, params, tokenizer } = loadCheckpoint(join(repo, "models", "math-teacher"));
  const prompt = [1, ...tokenizer!.encode("914+169\n")];

  it("gives the reference AR greedy and Jacobi; the fast decoders equal them", () => {
    const expected = arGreedyReference(config, params, prompt, { maxNewTokens: 40 });
    expect(tokenizer!.decode(expected.tokens)).toBe("4+9+0=13\n1+6+1=08\n9+1+0=10\nA:1083");
    expect(firstDifference(expected.tokens, arGreedy(config, params, prompt, { maxNewTokens: 40 }).tokens)).toBeNull();
    const reference = jacobiReference(config, params, prompt, { maxNewTokens: 40, blockSize: 16 });
    expect(firstDifference(expected.tokens, reference.tokens)).toBeNull();
    const fast = jacobi(config, params, prompt, { maxNewTokens: 40, blockSize: 16, recordTrajectory: true });
    expect(fast.trajectory).toEqual(reference.trajectory);
    expect(fast.stats.iterationsPerBlock).toEqual(reference.stats.iterationsPerBlock);
    expect([expected.stats.stopReason, reference.stats.stopReason, fast.stats.stopReason]).toEqual(["eos", "eos", "eos"]);
  });

  it("says why a decode stopped: EOS, the budget, or the context", () => {
    expect(arGreedyReference(config, params, prompt, { maxNewTokens: 8 }).stats.stopReason).toBe("budget");
    const long = [1, ...Array.from({ length: config.maxPositions - 3 }, () => tokenizer!.encode("1")[0])];
    const cut = arGreedyReference(config, params, long, { maxNewTokens: 10, eosTokenId: null });
    expect(cut.tokens).toHaveLength(2);                                   // prompt + output = the context length
    expect(cut.stats.stopReason).toBe("context");
    expect(stopReason([5, 2], 2, 8)).toBe("eos");
  });

  it("gives the forward, argmax and the acceptance rule", () => {
    const logits = forward(config, params, prompt);
    expect(logits.shape).toEqual([prompt.length, config.vocabSize]);
    expect(argmax(logits)[prompt.length - 1]).toBe(tokenizer!.encode("4")[0]);
    expect(acceptedPrefixLength([7, 8, 9, 4], [8, 9, 5, 6], null)).toBe(3);
    expect(keepThroughEos([5, 2, 7], 2)).toBe(2);
  });

  it("firstDifference names the first differing token and its context", () => {
    expect(firstDifference([5, 6, 7], [5, 6, 7])).toBeNull();
    expect(firstDifference([5, 6, 7, 8], [5, 6, 9])!.message).toBe("token 2 differs: expected 7, got 9 (after 5, 6)");
    expect(firstDifference([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5])!.message)
      .toBe("token 5 differs: expected 6, got the end of the output (after ... 2, 3, 4, 5)");
    expect(firstDifference([], [3])!.message).toBe("token 0 differs: expected the end of the output, got 3 (at the start)");
  });

  it("resolves by package name for a plain Node consumer (the built dist/), and the bin runs", () => {
    const script = 'import { arGreedyReference, loadCheckpoint } from "jacobi-forcing/oracle"; ' +
      'const m = loadCheckpoint("models/math-teacher"); ' +
      'console.log(arGreedyReference(m.config, m.params, [1, ...m.tokenizer.encode("914+169\\n")], { maxNewTokens: 8 }).tokens.length);';
    expect(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repo, encoding: "utf8" }).trim()).toBe("8");
    const help = execFileSync(process.execPath, [join(repo, "bin", "jacobi-forcing.js"), "--help"], { cwd: repo, encoding: "utf8" });
    expect(help).toContain("trace");
  });
});
