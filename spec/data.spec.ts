/**
 * The datasets: the math solutions are correct and verifiable, generators are deterministic per seed,
 * training and held-out splits never overlap, packed sequences have the right masks and positions, and
 * bad data (an empty file, a non-UTF-8 file, a character the vocabulary lacks) gets a clear error.
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { DataError, IGNORE, mathDataset, mathDocument, packDocuments } from "../src/data/dataset.ts";
import { extractAnswer, mathEvalSet, mathSplitOf, sampleMath, solveMath } from "../src/data/math.ts";
import { codeDataset, codeFiles, fileDataset, textDataset } from "../src/data/text.ts";
import { Rng } from "../src/tensor/random.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempFile(name: string, bytes: Uint8Array | string): string {
  const d = mkdtempSync(join(tmpdir(), "jf-data-"));
  dirs.push(d);
  const p = join(d, name);
  writeFileSync(p, bytes);
  return p;
}

// ---------------------------------------------------------------- math

describe("math", () => {
  it("writes the documented worked solutions", () => {
    expect(solveMath(734, "+", 259).solution).toBe("4+9+0=13\n3+5+1=09\n7+2+0=09\nA:0993");
    expect(solveMath(734, "-", 259).solution).toBe("4-9-0=15\n3-5-1=17\n7-2-1=04\nA:0475");
    expect(solveMath(734, "*", 7).solution).toBe("4*7+0=28\n3*7+2=23\n7*7+2=51\nA:5138");
    expect(solveMath(5, "+", 7).question).toBe("005+007");
    expect(() => solveMath(3, "-", 5)).toThrow(/a >= b/);
  });

  it("every final answer is the exact result (property)", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 999 }), fc.constantFrom("+", "-", "*"), (a, b, op) => {
      if (op === "*") b %= 10;
      if (op === "-" && a < b) [a, b] = [b, a];
      const p = solveMath(a, op as "+" | "-" | "*", b);
      const exact = op === "+" ? a + b : op === "-" ? a - b : a * b;
      return Number(extractAnswer(p.solution)) === exact && p.answer.length === 4 && p.solution.split("\n").length === 4;
    }));
  });

  it("is deterministic per seed and the splits never overlap", () => {
    const draw = (seed: number, split: "train" | "heldout"): string[] => {
      const rng = new Rng(seed);
      return Array.from({ length: 300 }, () => sampleMath(rng, split).question);
    };
    expect(draw(5, "train")).toEqual(draw(5, "train"));
    expect(draw(5, "train")).not.toEqual(draw(6, "train"));
    const train = new Set(draw(5, "train"));
    const heldout = mathEvalSet(500, 1);
    expect(new Set(heldout.map((p) => p.question)).size).toBe(500);
    for (const p of heldout) {
      expect(train.has(p.question)).toBe(false);
      expect(mathSplitOf(p.question)).toBe("heldout");
    }
    for (const q of train) expect(mathSplitOf(q)).toBe("train");
    expect(mathEvalSet(500, 1)).toEqual(heldout);
  });

  it("packs whole documents with restarting positions, a block-diagonal mask and prompt targets ignored", () => {
    const data = mathDataset();
    const doc = mathDocument(data.tokenizer, solveMath(734, "+", 259));
    expect(doc.tokens.length).toBe(43);
    const seq = packDocuments(() => doc, 100);
    expect(seq.positions.slice(0, 43)).toEqual(Array.from({ length: 43 }, (_, i) => i));
    expect(seq.positions[43]).toBe(0);
    // row 50 (in the second document) sees rows 43..50 only
    const row = Array.from(seq.mask!.subarray(50 * 100, 51 * 100));
    expect(row.map((v, j) => (v ? j : -1)).filter((j) => j >= 0)).toEqual([43, 44, 45, 46, 47, 48, 49, 50]);
    // the prompt "734+259\n" is given: rows 0..7 predict it and are ignored; row 8 predicts the first solution char
    expect(seq.targets.slice(0, 8).every((t) => t === IGNORE)).toBe(true);
    expect(seq.targets[8]).toBe(doc.tokens[9]);
    expect(seq.targets[42]).toBe(IGNORE); // EOS predicts nothing
    expect(seq.tokens.slice(86)).toEqual(Array(14).fill(0)); // padding
    expect(() => packDocuments(() => doc, 40)).toThrow(DataError);
  });

  it("the training stream is a function of the generator state", () => {
    const data = mathDataset();
    expect(data.trainSequence(new Rng(3), 128)).toEqual(data.trainSequence(new Rng(3), 128));
    expect(data.heldoutSequences(128, 2)).toEqual(data.heldoutSequences(128, 2));
  });
});

// ---------------------------------------------------------------- text

describe("text corpora", () => {
  it("code: held out by file, splits disjoint, vocabulary from the training files", () => {
    const files = codeFiles();
    const held = files.filter((f) => f.heldout);
    expect(held.length).toBeGreaterThan(5);
    expect(held.some((f) => f.name === "lib.dom.d.ts" || f.name === "lib.webworker.d.ts")).toBe(false);
    expect(new Set(files.map((f) => f.name)).size).toBe(files.length);
    const data = codeDataset();
    expect(data.description).toMatch(/held-out files/);
    const a = data.trainSequence(new Rng(1), 64), b = data.trainSequence(new Rng(1), 64);
    expect(a).toEqual(b);
    expect(a.targets.slice(0, 63)).toEqual(a.tokens.slice(1)); // an excerpt: each row predicts the next
  });

  it("code: the pinned corpus is TypeScript 6.0.3's lib.*.d.ts, 107 files, whatever TypeScript is installed", () => {
    const files = codeFiles();
    expect([files.length, files.filter((f) => f.heldout).map((f) => f.name).join(" ")]).toEqual([107,
      "lib.dom.iterable.d.ts lib.es2015.symbol.wellknown.d.ts lib.es2017.object.d.ts lib.es2018.regexp.d.ts lib.es2020.date.d.ts " +
      "lib.es2021.intl.d.ts lib.es2022.regexp.d.ts lib.es2024.full.d.ts lib.es2025.intl.d.ts lib.esnext.decorators.d.ts"]);
    expect(() => codeFiles(join(tmpdir(), "no-such-corpus.json.br"))).toThrow(/codeFiles: cannot read the code corpus .*no-such-corpus.json.br \(ENOENT\)/);
    // against the installed TypeScript when it is the pinned release (`npm run corpus` made the file from it)
    const lib = join(import.meta.dirname, "..", "node_modules", "typescript", "lib");
    if (JSON.parse(readFileSync(join(lib, "..", "package.json"), "utf8")).version !== "6.0.3") return;
    for (const f of files) expect(f.text === readFileSync(join(lib, f.name), "utf8"), `${f.name} differs from TypeScript 6.0.3's`).toBe(true);
  });

  it("a file: its last tenth is held out; empty or non-UTF-8 files are rejected clearly", () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join("");
    const data = fileDataset(tempFile("ok.txt", text));
    expect(data.description).toMatch(/training characters/);
    expect(() => fileDataset(tempFile("empty.txt", ""))).toThrow(/empty\.txt: the file is empty/);
    expect(() => fileDataset(tempFile("bad.txt", Uint8Array.from([0x61, 0xff, 0xfe, 0x62])))).toThrow(/bad\.txt: is not valid UTF-8/);
    expect(() => fileDataset(join(tmpdir(), "no-such-file-jf.txt"))).toThrow(/no such file/);
  });

  it("a prompt with a character the vocabulary lacks is a clear error; held-out strangers are dropped and counted", () => {
    const data = textDataset("demo", ["abc abc\n".repeat(30)], ["abc — abc\n".repeat(10)], "demo");
    expect(() => data.tokenizer.encode("abz")).toThrow(/character "z" \(U\+007A\) at index 2 is not in the vocabulary/);
    expect(data.description).toMatch(/\(10 held-out characters outside the vocabulary dropped\)/);
  });
});
