/**
 * The benchmark code cannot rot: the kernel table times every kernel at every shape (the bench's two,
 * and the four of the yardstick experiment), the K x N yardstick decodes the model's own tokens, the
 * method comparison runs every row on a random tiny model (standing in for both teacher and JF model)
 * and finds every output identical to AR, and the cost-curve chart is well-formed SVG with one point per
 * T. The bench reports its own noise, and that is checked too: every rate carries its spread over the
 * rounds, a decode two rows share is timed once, and the control row times AR again as a method of its
 * own. Speed itself is never asserted here (`npm run bench` reports it).
 */
import { describe, expect, it } from "vitest";
import { costCurveSvg } from "../bench/forward.ts";
import { kernelTable } from "../bench/kernels.ts";
import { YARDSTICK_KERNELS, arVersusKxN } from "../bench/experiments/kxn-baseline.ts";
import { compareMethods, formatMethodRows } from "../bench/methods.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { interleavedTimesMs } from "../src/util/timing.ts";
import { formatSpread, pairedSpread, spreadOf } from "../bench/spread.ts";

describe("bench", () => {
  it("kernelTable: the tiled kernel and its reference at every shape, positive GFLOP/s", () => {
    const rows = kernelTable({ rows: [1, 5], widths: [12], msPerPoint: 1, rounds: 3 });
    expect(rows.map((r) => `${r.kernel} ${r.M}`)).toEqual(["tiled 1", "reference 1", "tiled 5", "reference 5"]);
    for (const r of rows) expect(r.gflops).toBeGreaterThan(0);
  });

  it("kernelTable: every row carries its rounds and their spread, min ≤ median ≤ max, the median its GFLOP/s", () => {
    const rows = kernelTable({ rows: [1, 5], widths: [12], msPerPoint: 1, rounds: 4 });
    for (const r of rows) {
      expect(r.perRound).toHaveLength(4);
      expect(r.spread.gflops).toEqual(spreadOf(r.perRound));
      expect(r.gflops).toBe(r.spread.gflops.median);
      expect(r.spread.gflops.min).toBeLessThanOrEqual(r.spread.gflops.median);
      expect(r.spread.gflops.median).toBeLessThanOrEqual(r.spread.gflops.max);
    }
  });

  it("kernelTable with the yardsticks (bench/experiments/kxn-baseline.ts): four kernels at every shape, positive GFLOP/s", () => {
    const rows = kernelTable({ rows: [1, 5], widths: [12], msPerPoint: 1, rounds: 3 }, YARDSTICK_KERNELS);
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

  // one tiny random model stands in for both the teacher and the JF model
  const tinyModel = { config: PRESETS.tiny, params: initParams(PRESETS.tiny, { seed: 5, std: 0.5 }), tokenizer: null };
  const tinyModels = { dataset: "math", teacher: tinyModel, jf: tinyModel, jfPath: "tiny", jfIsTeacher: true } as const;
  const tinyPrompts = { evaluation: [[1, 40, 41], [1, 9]], calibration: [[1, 30]] };

  it("compareMethods: every row of a tiny model equals AR, and the auto row names its block size", () => {
    const { rows, auto } = compareMethods(tinyModels, tinyPrompts,
      { maxNewTokens: 10, rounds: 1, msPerPrompt: 1, blockSize: 4 });
    expect(rows.map((r) => r.name)).toEqual(["math: ar teacher", "math: jacobi n=4 teacher", "math: jacobi n=4 jf",
      `math: jacobi auto (n=${auto.blockSize}) jf`, "math: mr n=4 K=2 pool=4 jf"]);
    for (const r of rows) expect(r.identicalToAr, r.name).toBe(true);
    expect(rows[0].speedupVsAr).toBe(1);
  });

  it("compareMethods: a decode another row already runs is timed once, and shown as the same decode as that row", () => {
    const { rows, auto } = compareMethods(tinyModels, tinyPrompts,
      { maxNewTokens: 10, rounds: 3, msPerPrompt: 1, blockSize: 4 });
    const byName = new Map(rows.map((r) => [r.name, r]));
    // the teacher stands in for the JF model: its jacobi n=4 row is the teacher's
    expect(byName.get("math: jacobi n=4 jf")?.sameDecodeAs).toBe("math: jacobi n=4 teacher");
    const sameAsAuto = auto.blockSize === 1 ? "math: ar teacher" : auto.blockSize === 4 ? "math: jacobi n=4 teacher" : null;
    expect(byName.get(`math: jacobi auto (n=${auto.blockSize}) jf`)?.sameDecodeAs).toBe(sameAsAuto);
    for (const r of rows.filter((r) => r.sameDecodeAs !== null)) {
      const first = byName.get(r.sameDecodeAs!)!;
      expect(first.sameDecodeAs, r.name).toBeNull();
      expect(r.spread, r.name).toEqual(first.spread);
      expect(r.tokensPerForward, r.name).toBe(first.tokensPerForward);
    }
    expect(rows.filter((r) => r.sameDecodeAs === null).map((r) => r.name)).toContain("math: mr n=4 K=2 pool=4 jf");
    const table = formatMethodRows(rows);
    expect(table).toContain("math: jacobi n=4 jf");
    expect(table).toMatch(/math: jacobi n=4 jf .* same decode as math: jacobi n=4 teacher /);
  });

  it("compareMethods: the control times AR of the JF model again, as a method of its own, with the spread of every rate", () => {
    const config = PRESETS.tiny;
    const teacher = { config, params: initParams(config, { seed: 5, std: 0.5 }), tokenizer: null };
    const jf = { config, params: initParams(config, { seed: 6, std: 0.5 }), tokenizer: null };
    const prompts = { evaluation: [[1, 40, 41], [1, 9]], calibration: [[1, 30]] };
    const { rows, control } = compareMethods({ dataset: "code", teacher, jf, jfPath: "tiny-jf", jfIsTeacher: false }, prompts,
      { maxNewTokens: 10, rounds: 3, msPerPrompt: 1, blockSize: 4 });
    expect(rows.map((r) => r.name).slice(0, 4)).toEqual(["code: ar teacher", "code: jacobi n=4 teacher", "code: ar jf", "code: jacobi n=4 jf"]);
    expect(rows.every((r) => !r.control)).toBe(true);
    expect(control).toMatchObject({ name: "code: ar jf again (control)", control: true, sameDecodeAs: null, identicalToAr: true, tokensPerForward: 1, positionsPerToken: 1 });
    const arJf = rows[2];
    expect(arJf.spread.speedupVsAr).toEqual({ min: 1, median: 1, max: 1 });   // AR against itself in the same round
    for (const r of [...rows, control]) {
      for (const [key, s] of Object.entries(r.spread)) {
        expect(s.min, `${r.name} ${key}`).toBeGreaterThan(0);
        expect(s.min, `${r.name} ${key}`).toBeLessThanOrEqual(s.median);
        expect(s.median, `${r.name} ${key}`).toBeLessThanOrEqual(s.max);
      }
      expect(r.tokensPerSecond).toBe(r.spread.tokensPerSecond.median);
      expect(r.speedupVsAr).toBe(r.spread.speedupVsAr.median);
    }
    const table = formatMethodRows([...rows, control]);
    const controlLine = table.split("\n").find((l) => l.startsWith("code: ar jf again (control)"));
    expect(controlLine).toContain(formatSpread(control.spread.speedupVsAr, 2, "x"));
    expect(table).toMatch(/\ncontrol: .*spread is noise\n$/);
    expect(formatMethodRows(rows)).not.toContain("control:");
  });

  it("timing: runs take turns round after round, each round's time kept; spreads are min, median, max, a ratio taken round by round", () => {
    const order: string[] = [];
    const times = interleavedTimesMs(["a", "b", "c"].map((name) => () => order.push(name)), 3, 1);
    expect(order.join("")).toBe("abc".repeat(4));                     // a warm-up round, then 3 timed rounds
    expect(times.map((t) => t.length)).toEqual([3, 3, 3]);
    expect(spreadOf([3, 1, 2, 10])).toEqual({ min: 1, median: 3, max: 10 });
    expect(pairedSpread([10, 12, 30], [10, 11, 33], (a, b) => b / a)).toEqual({ min: 11 / 12, median: 1, max: 1.1 });
    expect(formatSpread({ min: 0.91, median: 1.02, max: 1.08 }, 2, "x")).toBe("1.02x (0.91–1.08)");
    expect(() => pairedSpread([1, 2], [1], (a, b) => a / b)).toThrow(/pairedSpread: expected as many rounds on both sides, got 2 and 1/);
  });

  it("costCurveSvg: an SVG with one marker per measured T", () => {
    const svg = costCurveSvg([{ T: 1, ratio: 1 }, { T: 4, ratio: 2 }, { T: 16, ratio: 7 }], "test");
    expect(svg).toMatch(/^<svg [^>]*>\n/);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<circle /g)?.length).toBe(3);
  });
});
