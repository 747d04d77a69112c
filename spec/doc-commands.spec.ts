/**
 * The docs' transcripts cannot drift: every command in README.md or docs/*.md written as a shell
 * transcript (`$ command` in a fenced block, followed by the output it gives) is run as a user's shell
 * would run it, and the output the doc quotes must appear in what it prints, in order. A transcript may
 * elide with `...` and end a line with a `# remark` (two spaces before the `#`); whitespace is not
 * compared, so a doc may wrap long JSON. A command with no quoted output is not run. `/tmp/` in a
 * transcript (command and output) stands for a scratch folder of the spec's own, fresh for each one.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
/** What a command caches (the `--block-size auto` cost curve) goes here, not into the user's home. */
const cache = mkdtempSync(join(tmpdir(), "jf-doc-commands-"));

/** One `$ command` of a doc and the output lines quoted under it. */
interface Transcript {
  readonly doc: string;
  readonly line: number;
  readonly command: string;
  readonly output: readonly string[];
}

/** The transcripts of a markdown text: fenced blocks whose lines start with `$ `. */
export function transcripts(doc: string, text: string): Transcript[] {
  const found: Transcript[] = [];
  let inBlock = false, current: { line: number; command: string; output: string[]; open: boolean } | null = null;
  const close = (): void => {
    if (current !== null) {
      const output = current.output.join("\n").trim();
      if (output !== "") found.push({ doc, line: current.line, command: current.command, output: output.split("\n") });
    }
    current = null;
  };
  text.split("\n").forEach((raw, i) => {
    if (raw.startsWith("```")) { if (inBlock) close(); inBlock = !inBlock; return; }
    if (!inBlock) return;
    if (current?.open) {                                  // a command continued with a trailing backslash
      current.command += "\n" + raw;
      current.open = raw.endsWith("\\");
    } else if (raw.startsWith("$ ")) {
      close();
      current = { line: i + 1, command: raw.slice(2), output: [], open: raw.endsWith("\\") };
    } else current?.output.push(raw);
  });
  return found;
}

/** The pieces of quoted output that must appear in order: remarks dropped, split at `...`, no whitespace. */
export function quotedPieces(output: readonly string[]): string[] {
  return output
    .map((line) => line.replace(/\s{2,}#.*$/, ""))
    .join("")
    .split("...")
    .map((piece) => piece.replace(/\s+/g, ""))
    .filter((piece) => piece !== "");
}

/** Whether every piece occurs in `printed`, each after the one before. */
function inOrder(pieces: readonly string[], printed: string): { ok: boolean; missing?: string } {
  const text = printed.replace(/\s+/g, "");
  let from = 0;
  for (const piece of pieces) {
    const at = text.indexOf(piece, from);
    if (at < 0) return { ok: false, missing: piece };
    from = at + piece.length;
  }
  return { ok: true };
}

const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const all = docs.flatMap((doc) => transcripts(doc, readFileSync(join(root, doc), "utf8")));

describe("doc transcripts: what the docs say a command prints, it prints", () => {
  it("reads transcripts, remarks and elisions as documented", () => {
    const md = "text\n```sh\n$ tool a \\\n    b\nout 1\n[1, 2, ...]  # a remark\n\n$ tool c\n```\n";
    const [t] = transcripts("x.md", md);
    expect(t).toEqual({ doc: "x.md", line: 3, command: "tool a \\\n    b", output: ["out 1", "[1, 2, ...]  # a remark"] });
    expect(transcripts("x.md", md).length).toBe(1);                       // `tool c` quotes nothing
    expect(quotedPieces(t.output)).toEqual(["out1[1,2,", "]"]);
    expect(inOrder(quotedPieces(t.output), "out 1\n[1, 2, 3, 4]\n").ok).toBe(true);
    expect(inOrder(quotedPieces(t.output), "[1, 2, 3]\nout 1\n").ok).toBe(false);
  });

  it("the docs hold transcripts", () => expect(all.length).toBeGreaterThan(0));

  for (const t of all) {
    it(`${t.doc}:${t.line} ${t.command.split("\n")[0].slice(0, 80)}`, () => {
      const scratch = mkdtempSync(join(tmpdir(), "jf-doc-transcript-")) + "/";
      const command = t.command.replaceAll("/tmp/", scratch).replace(/(^|[\s;&|(])(npx )?jacobi-forcing(?=\s)/g, "$1node bin/jacobi-forcing.js");
      let printed: string;
      try {
        printed = execFileSync("bash", ["-c", `${command} 2>&1`], { cwd: root, encoding: "utf8", timeout: 300_000, env: { ...process.env, XDG_CACHE_HOME: cache } });
      } catch (e) {
        const error = e as { status: number; stdout: string };
        throw new Error(`${t.doc}:${t.line}: \`${t.command}\` exited ${error.status}:\n${error.stdout}`);
      }
      const { ok, missing } = inOrder(quotedPieces(t.output.map((line) => line.replaceAll("/tmp/", scratch))), printed);
      expect(ok, `${t.doc}:${t.line}: the doc quotes "${missing}", which \`${t.command}\` did not print (in that order). It printed:\n${printed}`).toBe(true);
    });
  }
});
