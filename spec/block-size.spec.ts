/**
 * `--block-size auto`: the choice rule on made-up cost curves (a CPU-like curve picks n = 1, a GPU-like
 * curve the largest n), interpolation on the curve, a real calibration on a random tiny model, and the
 * CLI, which prints the choice and still returns AR's tokens — also by default on a Jacobi Forcing model.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.ts";
import { AUTO_MIN_GAIN, autoBlockSize, chooseBlockSize, costAt, formatBlockSizeChoice, measureCostCurve, type BlockCalibration } from "../src/decoding/block-size.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { loadCheckpoint } from "../src/model/checkpoint.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { cpuRunner, type ModelRunner } from "../src/model/runner.ts";
import { expectSameTokens } from "./helpers/models.ts";

const calibration: BlockCalibration[] = [
  { blockSize: 1, tokensPerForward: 1, tokensPerForwardCall: 1 },
  { blockSize: 4, tokensPerForward: 2, tokensPerForwardCall: 3 },
  { blockSize: 16, tokensPerForward: 3.5, tokensPerForwardCall: 9 },
];

describe("chooseBlockSize", () => {
  it("on a CPU-like curve (t grows like T) keeps n = 1: no block pays for its extra tokens", () => {
    const cpu = [{ T: 1, ratio: 1 }, { T: 4, ratio: 3.4 }, { T: 16, ratio: 13 }];
    const choice = chooseBlockSize(cpu, calibration);
    expect(choice.blockSize).toBe(1);
    expect(choice.expectedSpeedup).toBe(1);
  });

  it("on a GPU-like curve (t nearly flat) takes the n with the highest TPF", () => {
    const gpu = [{ T: 1, ratio: 1 }, { T: 16, ratio: 1.15 }];
    const choice = chooseBlockSize(gpu, calibration);
    expect(choice.blockSize).toBe(16);
    expect(choice.expectedSpeedup).toBeCloseTo(3.5 / (1 + (0.15 * 8) / 15), 12);
  });

  it("in between, the n that maximises TPF / cost: 2 / t(3) beats 1 and 3.5 / t(9)", () => {
    const mid = [{ T: 1, ratio: 1 }, { T: 3, ratio: 1.5 }, { T: 9, ratio: 4 }];
    expect(chooseBlockSize(mid, calibration).blockSize).toBe(4);
  });

  it("keeps n = 1 unless a block promises at least AUTO_MIN_GAIN (1.1x): a predicted 1.05x is within calibration error", () => {
    const slight = [{ T: 1, ratio: 1 }, { T: 3, ratio: 1.9 }, { T: 9, ratio: 8 }]; // n = 4: 2 / 1.9 = 1.053
    expect(chooseBlockSize(slight, calibration).blockSize).toBe(1);
    expect(chooseBlockSize(slight, calibration, 1.05).blockSize).toBe(4);
    expect(AUTO_MIN_GAIN).toBe(1.1);
  });

  it("reads the curve by linear interpolation and extrapolates from the last two points", () => {
    const curve = [{ T: 4, ratio: 2.5 }, { T: 1, ratio: 1 }, { T: 8, ratio: 4.5 }];
    expect(costAt(curve, 2)).toBe(1.5);
    expect(costAt(curve, 6)).toBe(3.5);
    expect(costAt(curve, 10)).toBe(5.5);
    expect(() => costAt([], 2)).toThrow(/costAt: the cost curve is empty/);
  });
});

describe("autoBlockSize on a random tiny model", () => {
  it("calibrates every candidate, returns one of them, and Jacobi at that n still equals AR", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 3, std: 0.5 });
    const prompts = [[1, 40, 41], [1, 7, 8, 9]];
    const stop = { maxNewTokens: 12, eosTokenId: null };
    const choice = autoBlockSize(config, params, prompts, { stop, blockSizes: [1, 2, 4], reps: 3 });
    expect(choice.candidates.map((c) => c.blockSize)).toEqual([1, 2, 4]);
    expect([1, 2, 4]).toContain(choice.blockSize);
    expect(choice.candidates[0]).toMatchObject({ tokensPerForward: 1, tokensPerForwardCall: 1, costRatio: 1, expectedSpeedup: 1 });
    expect(formatBlockSizeChoice(choice)).toMatch(new RegExp(`^block size auto: n = ${choice.blockSize}, expected \\d+\\.\\d\\dx AR tokens/s`));
    // a measured check overrules a prediction only towards AR, and says so
    if (choice.overruled !== undefined) expect(choice.blockSize).toBe(1);
    if (choice.blockSize > 1) expect(choice.measuredSpeedup).toBeGreaterThanOrEqual(AUTO_MIN_GAIN);
    const overruled = { ...choice, blockSize: 1, measuredSpeedup: 0.8, overruled: 4 };
    expect(formatBlockSizeChoice(overruled)).toMatch(/n = 4 was predicted faster but measured 0\.80x AR on the calibration prompts \(< 1\.1\), so AR/);
    for (const prompt of prompts) {
      expectSameTokens("jacobi at the auto n vs AR", jacobi(config, params, prompt, { ...stop, blockSize: choice.blockSize }).tokens,
        arGreedy(config, params, prompt, stop).tokens);
    }
  });
});

describe("autoBlockSize on a given runner", () => {
  it("runs the cost curve and the calibration decodes (and the check, when n > 1) on that runner, never on the default", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 3, std: 0.5 });
    const inner = cpuRunner(config, params);
    const sizes: number[] = [];
    const runner: ModelRunner = { ...inner, backend: "counting", forward: (tokens, options) => { sizes.push(tokens.length); return inner.forward(tokens, options); } };
    const stop = { maxNewTokens: 10, eosTokenId: null };
    const choice = autoBlockSize(config, params, [[1, 40, 41]], { stop, blockSizes: [1, 2, 4], reps: 2, runner });
    expect([1, 2, 4]).toContain(choice.blockSize);
    // the cost curve: a 32-token prefix, then forwards of exactly 1, 2 and 4 tokens (3 warm-up rounds + 2 timed)
    expect(sizes[0]).toBe(32);
    expect(sizes.slice(1, 16)).toEqual([1, 2, 4, 1, 2, 4, 1, 2, 4, 1, 2, 4, 1, 2, 4]);
    // then the calibration decodes: a prompt prefill, then Jacobi blocks of up to 4 tokens
    expect(sizes.length).toBeGreaterThan(16 + 3 * 2);
    expect(sizes.slice(16)).toContain(3);                          // the prompt's prefill
    expect(Math.max(...sizes.slice(16))).toBeLessThanOrEqual(4);
  });

  it("times each size after the runner's settling forwards of the same size", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 3, std: 0.5 });
    const inner = cpuRunner(config, params);
    const sizes: number[] = [];
    const runner: ModelRunner = { ...inner, settleForwards: 2, forward: (tokens, options) => { sizes.push(tokens.length); return inner.forward(tokens, options); } };
    measureCostCurve(config, params, [2, 4], { reps: 2, runner });
    // a 32-token prefix, 3 warm-up rounds, then each timed forward after 2 of the same size
    expect(sizes).toEqual([32, 1, 2, 4, 1, 2, 4, 1, 2, 4, 1, 1, 1, 2, 2, 2, 4, 4, 4, 1, 1, 1, 2, 2, 2, 4, 4, 4]);
  });
});

describe("generate --block-size auto", () => {
  const root = mkdtempSync(join(tmpdir(), "jf-block-size-"));
  const model = join(root, "tiny");
  const jfModel = join(root, "tiny-jf");
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const cli = async (...argv: string[]) => {
    let out = "", err = "";
    const code = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; }, isTTY: false });
    return { code, out, err };
  };
  beforeAll(async () => {
    expect((await cli("init", "--preset", "tiny", "--seed", "0", "--out", model)).code).toBe(0);
    expect((await cli("init", "--preset", "tiny", "--seed", "0", "--out", jfModel)).code).toBe(0);
    // What distill writes: a loss.csv with the consistency column marks a Jacobi Forcing model.
    writeFileSync(join(jfModel, "loss.csv"), "step,lr,loss,grad_norm,ar_loss,consistency_loss\n1,0.001,2,1,1,1\n");
  });

  it("prints the choice on stderr and the AR tokens on stdout", async () => {
    const { config, params } = loadCheckpoint(model);
    const expected = arGreedy(config, params, [1, 40, 41], { maxNewTokens: 10, eosTokenId: null }).tokens;
    const r = await cli("generate", "--model", model, "--prompt-ids", "1,40,41", "--method", "jacobi", "--block-size", "auto",
      "--max-new-tokens", "10", "--ignore-eos", "--json");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).tokens).toEqual(expected);
    expect(r.err).toMatch(/^block size auto: n = \d+, expected/);
  });

  it("is the default for --method jacobi on a Jacobi Forcing model, and not on a teacher", async () => {
    const args = ["--prompt-ids", "1,40,41", "--method", "jacobi", "--max-new-tokens", "6", "--ignore-eos"];
    const jf = await cli("generate", "--model", jfModel, ...args);
    expect(jf.code, jf.err).toBe(0);
    expect(jf.err).toMatch(/^block size auto: n = \d+/);
    expect(jf.err).toMatch(/\n\[(ar|jacobi n=\d+ block init=context)\] 6 tokens in \d+ forwards/);
    const plain = await cli("generate", "--model", model, ...args);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.err).not.toMatch(/block size auto/);
    expect(plain.err).toMatch(/^\[jacobi n=16 block/);
  });

  it("rejects auto for multi-block and a block size that is not a number", async () => {
    const mr = await cli("generate", "--model", model, "--prompt-ids", "1,40", "--method", "mr", "--block-size", "auto");
    expect(mr.code).not.toBe(0);
    expect(mr.err).toMatch(/--block-size auto chooses a Jacobi block size; it needs --method jacobi, got mr/);
    const bad = await cli("generate", "--model", model, "--prompt-ids", "1,40", "--method", "jacobi", "--block-size", "x");
    expect(bad.err).toMatch(/--block-size must be an integer or auto, got "x"/);
  });
});
