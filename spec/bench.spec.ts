/**
 * The benchmark code cannot rot: the kernel table times every kernel at every shape (the bench's two,
 * and the four of the yardstick experiment), the K x N yardstick decodes the model's own tokens, the
 * method comparison runs every row on a random tiny model (standing in for both teacher and JF model)
 * and finds every output identical to AR, and the cost-curve chart is well-formed SVG with one point per
 * T. Speed itself is never asserted here (`npm run bench` reports it).
 */
import { describe, expect, it } from "vitest";
import { costCurveSvg } from "../bench/forward.ts";
import { kernelTable } from "../bench/kernels.ts";
import { YARDSTICK_KERNELS, arVersusKxN } from "../bench/experiments/kxn-baseline.ts";
import { compareMethods } from "../bench/methods.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";

describe("bench", () => {
  it("kernelTable: the tiled kernel and its reference at every shape, positive GFLOP/s", () => {
    const rows = kernelTable({ rows: [1, 5], widths: [12], msPerPoint: 1 });
    expect(rows.map((r) => `${r.kernel} ${r.M}`)).toEqual(["tiled 1", "reference 1", "tiled 5", "reference 5"]);
    for (const r of rows) expect(r.gflops).toBeGreaterThan(0);
  });

  it("kernelTable with the yardsticks (bench/experiments/kxn-baseline.ts): four kernels at every shape, positive GFLOP/s", () => {
    const rows = kernelTable({ rows: [1, 5], widths: [12], msPerPoint: 1 }, YARDSTICK_KERNELS);
    expect(rows.map((r) => `${r.kernel} ${r.M}`)).toEqual([
      "tiled 1", "before 1", "kxn-4x4 1", "reference 1", "tiled 5", "before 5", "kxn-4x4 5", "reference 5"]);
    for (const r of rows) expect(r.gflops).toBeGreaterThan(0);
  });

  it("arVersusKxN: the K x N baseline decodes the very tokens of the model's own forward (a fair yardstick)", () => {
    const config = PRESETS.tiny;
    const r = arVersusKxN(config, initParams(config, { seed: 2, std: 0.5 }), 12, 1);
    expect(r.identical).toBe(true);
    expect(r.oursTokensPerSecond).toBeGreaterThan(0);
    expect(r.kxnTokensPerSecond).toBeGreaterThan(0);
  });

  it("compareMethods: every row of a tiny model equals AR, and the auto row names its block size", () => {
    const config = PRESETS.tiny;
    const model = { config, params: initParams(config, { seed: 5, std: 0.5 }), tokenizer: null };
    const prompts = { evaluation: [[1, 40, 41], [1, 9]], calibration: [[1, 30]] };
    const { rows, auto } = compareMethods({ dataset: "math", teacher: model, jf: model, jfPath: "tiny", jfIsTeacher: true }, prompts,
      { maxNewTokens: 10, rounds: 1, blockSize: 4 });
    expect(rows.map((r) => r.name)).toEqual(["math: ar teacher", "math: jacobi n=4 teacher", "math: jacobi n=4 jf",
      `math: jacobi auto (n=${auto.blockSize}) jf`, "math: mr n=4 K=2 pool=4 jf"]);
    for (const r of rows) expect(r.identicalToAr, r.name).toBe(true);
    expect(rows[0].speedupVsAr).toBe(1);
  });

  it("costCurveSvg: an SVG with one marker per measured T", () => {
    const svg = costCurveSvg([{ T: 1, ratio: 1 }, { T: 4, ratio: 2 }, { T: 16, ratio: 7 }], "test");
    expect(svg).toMatch(/^<svg [^>]*>\n/);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<circle /g)?.length).toBe(3);
  });
});
