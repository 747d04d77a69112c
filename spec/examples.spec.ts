import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// Every example is a runnable story; run each so none can rot.
const dir = join(import.meta.dirname, "..", "examples");
const examples = readdirSync(dir).filter((f) => /^\d\d-.*\.ts$/.test(f)).sort();

describe("examples run to completion", () => {
  it("there is at least one example", () => expect(examples.length).toBeGreaterThan(0));
  for (const file of examples) {
    it(file, () => {
      const tsx = join(import.meta.dirname, "..", "node_modules", ".bin", "tsx");
      const out = execFileSync(tsx, [join(dir, file)], { encoding: "utf8", timeout: 60_000 });
      expect(out.length).toBeGreaterThan(0);
    });
  }
});
