/**
 * `--block-size auto`: the choice rule on made-up cost curves (a CPU-like curve picks n = 1, a GPU-like
 * curve the largest n), interpolation on the curve, a real calibration on a random tiny model — a pure
 * function of the model, the prompts and the curve, which reads no clock — the cost-curve measurement,
 * and the CLI, which measures the curve once, stores it in the user's cache directory, reuses it, prints
 * the choice with the curve's source, and still returns AR's tokens — also by default on a Jacobi
 * Forcing model.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { costCurveDir } from "../src/cli/cost-curve.ts";
import { main } from "../src/cli/main.ts";
import {
  AUTO_MIN_GAIN, autoBlockSize, calibrateBlockSizes, chooseBlockSize, costAt, formatBlockSizeChoice, measureCostCurve,
  type BlockCalibration, type CostCurve,
} from "../src/decoding/block-size.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { cpuRunner, type ModelRunner } from "../src/model/runner.ts";
import { expectSameTokens } from "./helpers/models.ts";

const calibration: BlockCalibration[] = [
  { blockSize: 1, tokensPerForward: 1, tokensPerForwardCall: 1 },
  { blockSize: 4, tokensPerForward: 2, tokensPerForwardCall: 3 },
  { blockSize: 16, tokensPerForward: 3.5, tokensPerForwardCall: 9 },
];

/** A made-up cost curve. */
const made = (points: CostCurve["points"]): CostCurve => ({ points, source: "made up" });

describe("chooseBlockSize", () => {
  it("on a CPU-like curve (t grows like T) keeps n = 1: no block pays for its extra tokens", () => {
    const cpu = [{ T: 1, ratio: 1 }, { T: 4, ratio: 3.4 }, { T: 16, ratio: 13 }];
    const choice = chooseBlockSize(made(cpu), calibration);
    expect(choice.blockSize).toBe(1);
    expect(choice.expectedSpeedup).toBe(1);
  });

  it("on a GPU-like curve (t nearly flat) takes the n with the highest TPF", () => {
    const gpu = [{ T: 1, ratio: 1 }, { T: 16, ratio: 1.15 }];
    const choice = chooseBlockSize(made(gpu), calibration);
    expect(choice.blockSize).toBe(16);
    expect(choice.expectedSpeedup).toBeCloseTo(3.5 / (1 + (0.15 * 8) / 15), 12);
  });

  it("in between, the n that maximises TPF / cost: 2 / t(3) beats 1 and 3.5 / t(9)", () => {
    const mid = [{ T: 1, ratio: 1 }, { T: 3, ratio: 1.5 }, { T: 9, ratio: 4 }];
    expect(chooseBlockSize(made(mid), calibration).blockSize).toBe(4);
  });

  it("keeps n = 1 unless a block promises at least AUTO_MIN_GAIN (1.1x): a predicted 1.05x is within calibration error", () => {
    const slight = [{ T: 1, ratio: 1 }, { T: 3, ratio: 1.9 }, { T: 9, ratio: 8 }]; // n = 4: 2 / 1.9 = 1.053
    expect(chooseBlockSize(made(slight), calibration).blockSize).toBe(1);
    expect(chooseBlockSize(made(slight), calibration, 1.05).blockSize).toBe(4);
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
  const config = PRESETS.tiny;
  const params = initParams(config, { seed: 3, std: 0.5 });
  const prompts = [[1, 40, 41], [1, 7, 8, 9]];
  const stop = { maxNewTokens: 12, eosTokenId: null };
  const steep = made([{ T: 1, ratio: 1 }, { T: 4, ratio: 4 }]);           // a CPU-like curve: t grows like T
  const flat = made([{ T: 1, ratio: 1 }, { T: 4, ratio: 1 }]);            // a GPU-like curve: t does not grow

  it("calibrates every candidate, chooses from the given curve, and Jacobi at that n still equals AR", () => {
    const choice = autoBlockSize(config, params, prompts, { stop, blockSizes: [1, 2, 4], curve: steep });
    expect(choice.candidates.map((c) => c.blockSize)).toEqual([1, 2, 4]);
    expect(choice.blockSize).toBe(1);                                      // TPF ≤ tokens per forward, so no block pays on t ∝ T
    expect(choice.curve).toBe(steep);
    expect(choice.candidates[0]).toMatchObject({ tokensPerForward: 1, tokensPerForwardCall: 1, costRatio: 1, expectedSpeedup: 1 });
    expect(formatBlockSizeChoice(choice)).toMatch(/^block size auto: n = 1, expected 1\.00x AR tokens\/s .*\ncost curve: made up\n/);
    for (const prompt of prompts) {
      expectSameTokens("jacobi at the auto n vs AR", jacobi(config, params, prompt, { ...stop, blockSize: choice.blockSize }).tokens,
        arGreedy(config, params, prompt, stop).tokens);
    }
  });

  it("is a pure function of the model, the prompts and the curve: the same choice every time, and no clock read", () => {
    const now = vi.spyOn(performance, "now");
    try {
      for (const curve of [steep, flat]) {
        const first = autoBlockSize(config, params, prompts, { stop, blockSizes: [1, 2, 4], curve });
        const calibrated = calibrateBlockSizes(config, params, prompts, [1, 2, 4], stop);
        for (let k = 0; k < 3; k++) expect(autoBlockSize(config, params, prompts, { stop, blockSizes: [1, 2, 4], curve })).toEqual(first);
        expect(first).toEqual(chooseBlockSize(curve, calibrated));          // the counts of the decodes, and the curve: nothing else
      }
      expect(now).not.toHaveBeenCalled();
    } finally {
      now.mockRestore();
    }
  });
});

describe("autoBlockSize and measureCostCurve on a given runner", () => {
  it("autoBlockSize runs the calibration decodes on that runner, never on the default, and times no forward", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 3, std: 0.5 });
    const inner = cpuRunner(config, params);
    const sizes: number[] = [];
    const runner: ModelRunner = { ...inner, backend: "counting", forward: (tokens, options) => { sizes.push(tokens.length); return inner.forward(tokens, options); } };
    const stop = { maxNewTokens: 10, eosTokenId: null };
    const choice = autoBlockSize(config, params, [[1, 40, 41]], { stop, blockSizes: [1, 2, 4], runner, curve: made([{ T: 1, ratio: 1 }]) });
    expect([1, 2, 4]).toContain(choice.blockSize);
    // the calibration decodes only: per block size a prompt prefill, then Jacobi blocks of up to that size
    expect(sizes[0]).toBe(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    const counted: number[] = [];
    const counting: ModelRunner = { ...inner, forward: (tokens, options) => { counted.push(tokens.length); return inner.forward(tokens, options); } };
    calibrateBlockSizes(config, params, [[1, 40, 41]], [1, 2, 4], { ...stop, runner: counting });
    expect(sizes).toEqual(counted);
  });

  it("measureCostCurve times each size after the runner's settling forwards of the same size", () => {
    const config = PRESETS.tiny;
    const params = initParams(config, { seed: 3, std: 0.5 });
    const inner = cpuRunner(config, params);
    const sizes: number[] = [];
    const runner: ModelRunner = { ...inner, settleForwards: 2, forward: (tokens, options) => { sizes.push(tokens.length); return inner.forward(tokens, options); } };
    const curve = measureCostCurve(config, params, [2, 4], { reps: 2, runner });
    // a 32-token prefix, 3 warm-up rounds, then each timed forward after 2 of the same size
    expect(sizes).toEqual([32, 1, 2, 4, 1, 2, 4, 1, 2, 4, 1, 1, 1, 2, 2, 2, 4, 4, 4, 1, 1, 1, 2, 2, 2, 4, 4, 4]);
    expect(curve.map((p) => p.T)).toEqual([1, 2, 4]);
    expect(curve[0].ratio).toBe(1);
  });
});

describe("generate --block-size auto", () => {
  const root = mkdtempSync(join(tmpdir(), "jf-block-size-"));
  const model = join(root, "tiny");
  const jfModel = join(root, "tiny-jf");
  const cacheHome = process.env.XDG_CACHE_HOME;
  /** Points the CLI's cache at a fresh folder of the spec's own (never the user's), and returns its cost-curve folder. */
  const freshCache = (name: string): string => {
    process.env.XDG_CACHE_HOME = join(root, name);
    return costCurveDir();
  };
  afterAll(() => {
    if (cacheHome === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cacheHome;
    rmSync(root, { recursive: true, force: true });
  });
  const cli = async (...argv: string[]) => {
    let out = "", err = "";
    const code = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; }, isTTY: false });
    return { code, out, err };
  };
  beforeAll(async () => {
    freshCache("cache");
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
    expect(r.err).toMatch(/^block size auto: n = \d+, expected/m);
  });

  const autoArgs = ["--prompt-ids", "1,40,41", "--method", "jacobi", "--block-size", "auto", "--max-new-tokens", "10", "--ignore-eos", "--json"];

  it("measures the cost curve once, stores it in the user's cache directory, and reuses it: the same choice every run", async () => {
    const dir = freshCache("once");
    const first = await cli("generate", "--model", model, ...autoArgs);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/^generate: cost curve: timing forwards of 1 to 32 tokens on cpu, once for this machine and model shape \.\.\.\n/);
    const [name] = readdirSync(dir);
    const file = join(dir, name);
    expect(name).toMatch(/^cpu-t1-L2-C16-F32-H4x2-V\d+-P128-[0-9a-f]{12}\.json$/);
    const stored = readFileSync(file, "utf8");
    const choice = JSON.parse(first.out).autoBlockSize;
    expect(choice.curve.source).toBe(`${file} (measured just now, ${JSON.parse(stored).measured}; delete it to measure again)`);
    expect(choice.curve.points).toEqual(JSON.parse(stored).points);
    const runs = [await cli("generate", "--model", model, ...autoArgs), await cli("generate", "--model", model, ...autoArgs)];
    for (const again of runs) {
      expect(again.code, again.err).toBe(0);
      expect(again.err).not.toMatch(/timing forwards/);
      expect(again.err).toContain(`\ncost curve: ${file} (measured ${JSON.parse(stored).measured}; delete it to measure again)\n`);
      expect({ ...JSON.parse(again.out).autoBlockSize, curve: null }).toEqual({ ...choice, curve: null });
    }
    expect(runs[1].out).toBe(runs[0].out);
    expect(readFileSync(file, "utf8")).toBe(stored);                                       // reused, not measured again
  });

  it("chooses from the stored curve alone: the choice is the pure function of that curve and the prompt's counts", async () => {
    const dir = freshCache("stored");
    expect((await cli("generate", "--model", model, ...autoArgs)).code).toBe(0);         // measures and stores a curve
    const file = join(dir, readdirSync(dir)[0]);
    const { config, params } = loadCheckpoint(model);
    const counts = calibrateBlockSizes(config, params, [[1, 40, 41]], [1, 2, 3, 4, 6, 8, 12, 16, 24, 32], { maxNewTokens: 10, eosTokenId: null });
    const curves = [[{ T: 1, ratio: 1 }, { T: 32, ratio: 1 }], [{ T: 1, ratio: 1 }, { T: 2, ratio: 0.5 }, { T: 32, ratio: 0.5 }], [{ T: 1, ratio: 1 }, { T: 32, ratio: 32 }]];
    const chosen: number[] = [];
    for (const points of curves) {
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), points }));
      const r = await cli("generate", "--model", model, ...autoArgs);
      expect(r.code, r.err).toBe(0);
      const { autoBlockSize: choice, tokens } = JSON.parse(r.out);
      const expected = chooseBlockSize({ points, source: choice.curve.source }, counts);
      expect(choice).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(choice.curve.source.startsWith(`${file} (measured `)).toBe(true);
      expect(tokens).toEqual(arGreedy(config, params, [1, 40, 41], { maxNewTokens: 10, eosTokenId: null }).tokens);
      chosen.push(choice.blockSize);
    }
    expect(chosen[1]).toBeGreaterThan(1);                  // forwards of 2 tokens and more cost half of one: a block pays
    expect(chosen[2]).toBe(1);                             // t ∝ T: no block pays, AR
  });

  it("a stored curve that cannot be read is measured again and replaced; a cache that cannot be written is said", async () => {
    const dir = freshCache("broken");
    expect((await cli("generate", "--model", model, ...autoArgs)).code).toBe(0);
    const file = join(dir, readdirSync(dir)[0]);
    writeFileSync(file, "{ not json");
    const r = await cli("generate", "--model", model, ...autoArgs);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^generate: cost curve: .* cannot be used: it is not readable JSON \(.*\); measuring it again\n/);
    expect(r.err.split("\n")[0]).toContain(file);
    expect(JSON.parse(readFileSync(file, "utf8")).points.length).toBe(10);
    writeFileSync(join(root, "a-file"), "");
    process.env.XDG_CACHE_HOME = join(root, "a-file");                                     // a file where the cache folder should be
    const unwritable = await cli("generate", "--model", model, ...autoArgs);
    expect(unwritable.code, unwritable.err).toBe(0);
    expect(unwritable.err).toMatch(/\ngenerate: cost curve: could not store it in .*a-file\/jacobi-forcing\/cost-curves \(ENOTDIR\); it will be measured again next time\n/);
    expect(JSON.parse(unwritable.out).autoBlockSize.curve.source).toMatch(/^measured now \(.*\), not stored$/);
    freshCache("cache");
  });

  it("is the default for --method jacobi on a Jacobi Forcing model, and not on a teacher", async () => {
    const args = ["--prompt-ids", "1,40,41", "--method", "jacobi", "--max-new-tokens", "6", "--ignore-eos"];
    const jf = await cli("generate", "--model", jfModel, ...args);
    expect(jf.code, jf.err).toBe(0);
    expect(jf.err).toMatch(/^block size auto: n = \d+/m);
    expect(jf.err).toMatch(/\n\[(ar|jacobi n=\d+ block init=context)\] 6 tokens in \d+ forwards/);
    const plain = await cli("generate", "--model", model, ...args);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.err).not.toMatch(/block size auto/);
    expect(plain.err).toMatch(/^\[jacobi n=16 block/);
  });

  it("a prompt one short of the context: auto keeps n = 1, one token, and the cut is said", async () => {
    const long = Array.from({ length: 127 }, (_, i) => 3 + (i % 40)).join(",");
    const r = await cli("generate", "--model", jfModel, "--prompt-ids", long, "--method", "jacobi", "--max-new-tokens", "6", "--ignore-eos", "--json");
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.autoBlockSize.candidates.map((c: { blockSize: number }) => c.blockSize)).toEqual([1]);
    expect(json.tokens).toHaveLength(1);
    expect(json.stats.stopReason).toBe("context");
    expect(r.err).toMatch(/\ngenerate: stopped at the context length 128 after 1 of 6 requested tokens \(prompt 127 tokens\)\n$/);
  });

  it("rejects auto for multi-block and a block size that is not a number", async () => {
    const mr = await cli("generate", "--model", model, "--prompt-ids", "1,40", "--method", "mr", "--block-size", "auto");
    expect(mr.code).not.toBe(0);
    expect(mr.err).toMatch(/--block-size auto chooses a Jacobi block size; it needs --method jacobi, got mr/);
    const bad = await cli("generate", "--model", model, "--prompt-ids", "1,40", "--method", "jacobi", "--block-size", "x");
    expect(bad.err).toMatch(/--block-size must be an integer or auto, got "x"/);
  });
});
