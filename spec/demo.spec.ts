/**
 * The demo (`npm start`): every row identical to AR greedy, plain text off a terminal, the JF rows run
 * when a student folder is there and are named as skipped when it is not. How long it takes is the
 * benchmark's business, not a test's: a loaded 2-core machine must pass this too.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { demoCommand, runDemo } from "../src/cli/commands/demo.ts";
import { SHIPPED_MODELS, packageRoot } from "../src/cli/shipped-models.ts";

const root = mkdtempSync(join(tmpdir(), "jf-demo-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("demo", () => {
  it("reads the shipped folders from SHIPPED_MODELS, and the teachers are there", () => {
    expect(SHIPPED_MODELS.map((t) => t.task)).toEqual(["math", "code"]);
    expect(Object.keys(demoCommand.flags)).toEqual([]);                        // npm start takes no flags
  });

  it("runs JF rows when the student is there, names the skipped rows when not, plain text", () => {
    // a stand-in student: the math teacher itself under the student's folder name; no code student
    mkdirSync(join(root, "models"));
    const [math, code] = SHIPPED_MODELS;
    symlinkSync(join(packageRoot(), math.teacher), join(root, math.teacher));
    symlinkSync(join(packageRoot(), math.teacher), join(root, math.jf));
    symlinkSync(join(packageRoot(), code.teacher), join(root, code.teacher));
    let out = "";
    runDemo({ out: (t) => { out += t; }, err: () => {}, isTTY: false }, SHIPPED_MODELS, root);
    expect(out).not.toMatch(/\x1b\[/);
    const rows = out.split("\n").filter((l) => / (AR greedy|Jacobi n=16|MR n=16 K=2 pool 4) /.test(l) && /x /.test(l));
    expect(rows.length).toBe(9);                                                 // 3 math-teacher, 3 math-jf, 3 code-teacher
    for (const row of rows) expect(row).toMatch(/✓$/);
    expect(rows.filter((r) => r.includes("math-jf")).length).toBe(3);
    expect(out).toContain(`skipped: the 3 rows of ${code.jf}`);
    expect(out).not.toContain(`skipped: the 3 rows of ${math.jf}`);
    expect(out).toContain("One block converging: math-jf");
    expect(out).toMatch(/iteration 1 .*accepts \d+/);
  });
});
