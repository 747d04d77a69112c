/**
 * TSDoc completeness: every export of src/ has a doc comment with a summary and a `@category`, every
 * exported function and class has an `@example` (constants, interfaces and type aliases need none), and
 * every file opens with a `@module` header. typedoc's validation checks that a comment exists; this checks
 * what it must hold.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const src = join(import.meta.dirname, "..", "src");
const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
});
const DECLARATION = /^export (?:declare )?(?:async )?(?:abstract )?(function|const|let|class|interface|type)\s+([A-Za-z_$][\w$]*)/gm;

describe("TSDoc: every export has a summary and a @category, every function and class an @example", () => {
  for (const file of files(src)) {
    const rel = relative(src, file);
    it(rel, () => {
      const text = readFileSync(file, "utf8");
      expect(text.trimStart().startsWith("/**") && text.includes("@module"), `${rel}: no @module header`).toBe(true);
      for (const m of text.matchAll(DECLARATION)) {
        const before = text.slice(0, m.index).trimEnd();
        const comment = before.endsWith("*/") ? before.slice(before.lastIndexOf("/**")) : "";
        const [kind, name] = [m[1], m[2]];
        const where = `src/${rel}: export ${name}`;
        expect(comment, `${where} has no doc comment`).not.toBe("");
        expect(comment.replace(/^\/\*\*\s*\*?\s*/, "").startsWith("@"), `${where}: the comment has no summary`).toBe(false);
        if (kind === "function" || kind === "class") expect(comment, `${where}: no @example`).toContain("@example");
        expect(comment, `${where}: no @category`).toContain("@category");
      }
    });
  }
});
