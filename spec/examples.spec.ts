import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// Every example is a runnable story; run each so none can rot.
const root = join(import.meta.dirname, "..");
const dir = join(root, "examples");
const examples = readdirSync(dir).filter((f) => /^\d\d-.*\.ts$/.test(f)).sort();

describe("examples run to completion", () => {
  it("they are numbered 01, 02, ... without gaps", () => {
    expect(examples.length).toBeGreaterThan(0);
    examples.forEach((f, i) => expect(f.slice(0, 2)).toBe(String(i + 1).padStart(2, "0")));
  });
  for (const file of examples) {
    it(file, () => {
      const tsx = join(root, "node_modules", ".bin", "tsx");
      const out = execFileSync(tsx, [join(dir, file)], { encoding: "utf8", timeout: 300_000 });
      expect(out.length).toBeGreaterThan(0);
    });
  }
});

// The worked example of docs/oracle.md: a numpy implementation checked against ours through the CLI's JSON.
const python = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" });
const hasNumpy = python.status === 0;

describe("examples/python/check_jacobi.py (docs/oracle.md)", () => {
  const script = join(dir, "python", "check_jacobi.py");
  it("docs/oracle.md quotes the script's Jacobi decoder verbatim", () => {
    const doc = readFileSync(join(root, "docs", "oracle.md"), "utf8");
    const quoted = doc.split("```python\n")[1].split("```")[0].trim();
    expect(readFileSync(script, "utf8")).toContain(quoted);
  });
  it.skipIf(!hasNumpy)("agrees with jacobi-forcing on the math teacher (skipped without python3 and numpy)", () => {
    const out = execFileSync("python3", [script], { encoding: "utf8", timeout: 300_000 });
    expect(out).toContain("OK: this implementation agrees with jacobi-forcing");
  });
});
