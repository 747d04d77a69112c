/**
 * `bench/multiblock-grid.ts` cannot rot: a 2-point grid on a random tiny model gives one cell per
 * configuration, a markdown table with a column per pool size, a well-formed SVG heat map, and the
 * document section between the markers is replaced (and only that section).
 */
import { describe, expect, it } from "vitest";
import { gridSvg, gridTable, replaceBetweenMarkers, runGrid, type GridAxes } from "../bench/multiblock-grid.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";

describe("bench/multiblock-grid.ts", () => {
  const config = PRESETS.tiny;
  const params = initParams(config, { seed: 2 });
  const axes: GridAxes = { n: [4], K: [1, 2], r: [0.5], pool: [0, 2] };
  const cells = runGrid(config, params, [[1, 40, 41], [1, 7]], axes, { newTokens: 12, poolKind: "recycling", eosTokenId: null });

  it("measures every configuration: TPF at least 1, positions per token at least 1", () => {
    expect(cells).toHaveLength(4);
    for (const c of cells) {
      expect(c.tokensPerForward).toBeGreaterThanOrEqual(1);
      expect(c.positionsPerToken).toBeGreaterThanOrEqual(1);
    }
  });

  it("writes a table with a row per (n, K, r) and a column per pool size", () => {
    const lines = gridTable(cells, axes).split("\n");
    expect(lines[0]).toBe("| n | K | r | pool 0 | pool 2 |");
    expect(lines).toHaveLength(2 + 2);
    expect(lines[2]).toMatch(/^\| 4 \| 1 \| 0\.5 \| \d\.\d\d \(\d+\.\d\) \| \d\.\d\d \(\d+\.\d\) \|$/);
  });

  it("draws one labelled cell per configuration in the SVG", () => {
    const svg = gridSvg(cells, axes, "tiny <random>");
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(4);
    expect(svg).toContain("tiny &lt;random>");
  });

  it("replaces only the section between the markers", () => {
    const doc = "# t\n<!-- multiblock-grid:begin -->\nold\n<!-- multiblock-grid:end -->\nafter\n";
    expect(replaceBetweenMarkers(doc, "new")).toBe("# t\n<!-- multiblock-grid:begin -->\nnew\n<!-- multiblock-grid:end -->\nafter\n");
    expect(() => replaceBetweenMarkers("# no markers", "x")).toThrow(/no <!-- multiblock-grid:begin -->/);
  });
});
