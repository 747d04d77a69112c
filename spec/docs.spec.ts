/**
 * The teaching docs cannot rot: every source file they name exists, every function they name after a
 * file (`src/x.ts` · `name`) is in that file, and the code they quote is the code that runs.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const DOCS = ["docs/ARCHITECTURE.md", "docs/PAPER-MAP.md", "docs/GLOSSARY.md", "docs/oracle.md", "docs/jacobi-forcing.md"];
/** Pictures a doc shows before the script that draws them has run: `npm run results` writes this one. */
const NOT_YET_DRAWN = new Set<string>();
const PATH = /`((?:src|bench|examples|spec)\/[\w\-/.]+\.(?:ts|py))`/g;

/** Every `file` · `name`, `name` reference of a doc: the names written after a path, up to the next path or cell. */
function references(doc: string): { file: string; names: string[] }[] {
  const out: { file: string; names: string[] }[] = [];
  for (const cell of doc.split(/[|\n;]/)) {
    const paths = [...cell.matchAll(PATH)];
    paths.forEach((m, i) => {
      const after = cell.slice(m.index! + m[0].length, paths[i + 1]?.index ?? cell.length);
      if (!after.trimStart().startsWith("·")) return out.push({ file: m[1], names: [] });
      const names = [...after.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((n) => n[1]);
      out.push({ file: m[1], names });
    });
  }
  return out;
}

describe("docs name what exists", () => {
  for (const doc of DOCS) {
    it(`${doc}: every named file exists and holds the names given after it`, () => {
      const text = readFileSync(join(root, doc), "utf8");
      const refs = references(text);
      expect(refs.length).toBeGreaterThan(0);
      for (const { file, names } of refs) {
        expect(existsSync(join(root, file)), `${doc} names ${file}, which does not exist`).toBe(true);
        const source = readFileSync(join(root, file), "utf8");
        for (const name of names) expect(new RegExp(`\\b${name.replace("$", "\\$")}\\b`).test(source), `${doc}: ${file} has no ${name}`).toBe(true);
      }
    });
  }

  it("ARCHITECTURE.md quotes jacobiIteration as it is", () => {
    const doc = readFileSync(join(root, "docs", "ARCHITECTURE.md"), "utf8");
    const quoted = doc.split("```ts\n")[1].split("```")[0].trim();
    const source = readFileSync(join(root, "src", "decoding", "jacobi.ts"), "utf8");
    const body = source.split("\n").map((l) => l.trim()).join("\n");
    expect(body).toContain(quoted.split("\n").map((l) => l.trim()).join("\n"));
  });

  it("the pictures the docs show are there", () => {
    for (const doc of DOCS) {
      for (const m of readFileSync(join(root, doc), "utf8").matchAll(/(?<!`)!\[[^\]]*\]\(([^)]+)\)/g)) {
        if (NOT_YET_DRAWN.has(m[1])) continue;
        expect(existsSync(join(root, "docs", m[1])), `${doc} shows ${m[1]}`).toBe(true);
      }
    }
  });
});
