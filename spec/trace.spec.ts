/**
 * `trace` and `pictures`: the picture of a trajectory has one row of cells per iteration, coloured by
 * the same marks as the text trace; `--block` picks one block; the docs pictures are redrawn from the
 * shipped models, skipping (and naming) a student that is not there.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.ts";
import { drawDocsPictures } from "../bench/pictures.ts";
import { SHIPPED_MODELS, packageRoot, shippedModelPresent } from "../src/cli/shipped-models.ts";
import { traceMarks, traceRight, type TraceRow } from "../src/cli/trace.ts";

const root = mkdtempSync(join(tmpdir(), "jf-trace-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const teacher = join(packageRoot(), "models", "math-teacher");

describe("trace", () => {
  it("marks: accepted, changed since the previous row, unchanged; right = equal to the block's fixed point", () => {
    const rows: TraceRow[] = [
      { block: 0, iteration: 1, start: 0, state: [5, 9, 7, 3], committed: 1, accepted: 1 },
      { block: 0, iteration: 2, start: 0, state: [5, 6, 7, 4], committed: 4, accepted: 3 },
    ];
    expect(traceMarks(rows)).toEqual([["accepted", "unchanged", "unchanged", "unchanged"], ["accepted", "accepted", "accepted", "accepted"]]);
    expect(traceRight(rows)).toEqual([[true, false, true, false], [true, true, true, true]]);
  });

  it("--svg draws one row of cells per iteration of the chosen block", async () => {
    const file = join(root, "block.svg");
    const r = await cli("trace", "--model", teacher, "--prompt", "914+169\n", "--max-new-tokens", "16", "--block", "0", "--svg", file);
    expect(r.code, r.err).toBe(0);
    const iterations = Number(/block 0, (\d+) iterations/.exec(r.out)![1]);
    const svg = readFileSync(file, "utf8");
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<text [^>]*>iteration \d+<\/text>/g)!.length).toBe(iterations);
    expect(svg.match(/<rect [^>]*width="20"/g)!.length).toBe(16 * iterations);           // 16 cells a row
    expect(svg.match(/fill="#4caf50"/g)!.length).toBeGreaterThanOrEqual(16 + iterations); // the last row is all accepted
  });

  it("without --svg prints the text trace; a block out of range is bad usage", async () => {
    const r = await cli("trace", "--model", teacher, "--prompt", "914+169\n", "--max-new-tokens", "16");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("block 0: output positions 0..15");
    const bad = await cli("trace", "--model", teacher, "--prompt", "914+169\n", "--max-new-tokens", "16", "--block", "3");
    expect(bad.code).toBe(2);
    expect(bad.err).toBe("jacobi-forcing: trace: --block must be in 0..0 (the output has 1 block), got 3\n");
  });

  it("pictures redraws the docs pictures and their table from the shipped folders, naming a missing student", () => {
    const [math] = SHIPPED_MODELS;
    const doc = join("docs", "ARCHITECTURE.md");
    const jfShipped = shippedModelPresent(math.jf);
    mkdirSync(join(root, "models"));
    mkdirSync(join(root, "docs", "pictures"), { recursive: true });
    copyFileSync(join(packageRoot(), doc), join(root, doc));
    symlinkSync(teacher, join(root, math.teacher));
    if (jfShipped) symlinkSync(join(packageRoot(), math.jf), join(root, math.jf));
    const io = { out: (t: string) => { out += t; }, err: () => {}, isTTY: false };
    let out = "";
    const written = drawDocsPictures(io, root);
    expect(written.length).toBe(jfShipped ? 2 : 1);
    if (!jfShipped) expect(out).toContain(`skipped math-jf: ${math.jf} has no model yet`);
    // the committed pictures and table are what the command draws from the models shipped today
    for (const file of written) expect(readFileSync(join(root, file), "utf8")).toBe(readFileSync(join(packageRoot(), file), "utf8"));
    expect(readFileSync(join(root, doc), "utf8")).toBe(readFileSync(join(packageRoot(), doc), "utf8"));
    if (jfShipped) return;
    // once a student is there (a stand-in: the teacher under the student's name), both stand side by side
    symlinkSync(teacher, join(root, math.jf));
    expect(drawDocsPictures(io, root)).toEqual(["docs/pictures/trajectory-math-teacher.svg", "docs/pictures/trajectory-math-jf.svg"]);
    expect(readFileSync(join(root, doc), "utf8")).toContain(
      "| ![block 0 of math-teacher](pictures/trajectory-math-teacher.svg) | ![block 0 of math-jf](pictures/trajectory-math-jf.svg) |");
  });
});
