/**
 * Tests for the character-level tokenizer and its `tokenizer.json` format (`src/model/tokenizer.ts`).
 *
 * Covers the default ASCII vocabulary (100 ids, the `vocabSize` of the presets), encode/decode round
 * trips on random text, special tokens decoding to nothing, the errors for unknown characters and
 * out-of-range ids, `fromText` vocabularies, the JSON round trip, and one test per kind of malformed
 * `tokenizer.json` (each a TokenizerError whose message names the file). It does not test how the
 * model or the CLI use the tokenizer.
 *
 * @module
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { readTokenizer } from "../src/model/hf-tokenizer.ts";
import { ASCII_CHARS, CharTokenizer, SPECIAL_TOKENS, TokenizerError } from "../src/model/tokenizer.ts";
import { errorOf } from "./helpers/errors.ts";

// ---------------------------------------------------------------- helpers

/** Strings over the ASCII vocabulary: the 95 printable characters, newline and tab. */
const asciiText = fc.string({ unit: fc.constantFrom(...ASCII_CHARS), maxLength: 60 });

/** Runs `call` and returns the TokenizerError it throws (failing if it throws anything else or nothing). */
const tokenizerErrorOf = (call: () => unknown): TokenizerError => errorOf(TokenizerError, call);

/** Code points of `text`, as the tokenizer sees them (one token each). */
const codePoints = (text: string): string[] => [...text];

// ---------------------------------------------------------------- the ASCII vocabulary

describe("CharTokenizer.ascii", () => {
  const tok = CharTokenizer.ascii();

  it("has 100 ids: 3 specials, newline, tab and the 95 printable characters", () => {
    expect(tok.vocabSize).toBe(100);
    expect(tok.chars).toHaveLength(97);
    expect(SPECIAL_TOKENS).toEqual({ pad: 0, bos: 1, eos: 2 });
    expect(tok.encode("\n\t ~")).toEqual([3, 4, 5, 99]);
    expect(tok.encode("hi")).toEqual([77, 78]); // the documented example
  });

  it("round-trips random printable-ASCII text, one id in 3..99 per character", () => {
    fc.assert(fc.property(asciiText, (text) => {
      const ids = tok.encode(text);
      expect(ids).toHaveLength(text.length);
      for (const id of ids) expect(id >= 3 && id <= 99, `id ${id} for ${JSON.stringify(text)}`).toBe(true);
      expect(tok.decode(ids)).toBe(text);
    }), { numRuns: 200 });
  });

  it("decodes special tokens to nothing, wherever they appear", () => {
    expect(tok.decode([0, 1, 2])).toBe("");
    expect(tok.decode([1, 77, 0, 78, 2])).toBe("hi");
    const withSpecials = asciiText.chain((text) => fc.tuple(
      fc.constant(text),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 1, 2)), { maxLength: 8 }),
    ));
    fc.assert(fc.property(withSpecials, ([text, inserts]) => {
      const ids = tok.encode(text);
      for (const [at, special] of inserts) ids.splice(at % (ids.length + 1), 0, special);
      expect(tok.decode(ids)).toBe(text);
    }), { numRuns: 100 });
  });

  it("labels specials and characters", () => {
    expect([0, 1, 2, 5, 77].map((id) => tok.label(id))).toEqual(["<pad>", "<bos>", "<eos>", " ", "h"]);
  });
});

// ---------------------------------------------------------------- errors

describe("encode and decode errors", () => {
  const tok = CharTokenizer.ascii();

  it("encoding \"é\" names the character, its code point and its index", () => {
    const error = tokenizerErrorOf(() => tok.encode("é"));
    expect(error.message).toBe('encode: character "é" (U+00E9) at index 0 is not in the vocabulary');
    expect(tokenizerErrorOf(() => tok.encode("café")).message).toMatch(/"é" \(U\+00E9\) at index 3/);
  });

  it("counts the index in characters (code points) and prints astral code points in full", () => {
    expect(tokenizerErrorOf(() => tok.encode("a😀")).message).toMatch(/encode: character "😀" \(U\+1F600\) at index 1/);
    const emoji = CharTokenizer.fromText("😀");
    expect(tokenizerErrorOf(() => emoji.encode("😀😀é")).message).toMatch(/"é" \(U\+00E9\) at index 2/);
  });

  it("decoding an id outside 0..vocabSize-1 names the id, its index and the range", () => {
    expect(tokenizerErrorOf(() => tok.decode([77, 100])).message).toBe("decode: token id 100 at index 1 is outside the vocabulary 0..99");
    expect(tokenizerErrorOf(() => tok.decode([-1])).message).toMatch(/decode: token id -1 at index 0/);
    expect(tokenizerErrorOf(() => tok.decode([2.5])).message).toMatch(/decode: token id 2.5 at index 0/);
    expect(tokenizerErrorOf(() => tok.decode([Number.NaN])).message).toMatch(/decode: token id NaN at index 0/);
  });
});

// ---------------------------------------------------------------- fromText

describe("CharTokenizer.fromText", () => {
  it("builds the sorted distinct characters of the text", () => {
    expect(CharTokenizer.fromText("hello world").chars).toEqual([" ", "d", "e", "h", "l", "o", "r", "w"]);
    expect(CharTokenizer.fromText("").vocabSize).toBe(3);
  });

  it("on any text: distinct, strictly increasing code points, exactly the text's characters, and a round trip", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
      const tok = CharTokenizer.fromText(text);
      const points = tok.chars.map((c) => c.codePointAt(0)!);
      for (let i = 1; i < points.length; i++) {
        expect(points[i] > points[i - 1], `chars ${JSON.stringify(tok.chars)} not strictly increasing at ${i}`).toBe(true);
      }
      for (const c of tok.chars) expect(codePoints(c)).toHaveLength(1);
      expect(new Set(tok.chars)).toEqual(new Set(codePoints(text)));
      expect(tok.vocabSize).toBe(3 + new Set(codePoints(text)).size);
      expect(tok.decode(tok.encode(text))).toBe(text);
    }), { numRuns: 200 });
  });
});

// ---------------------------------------------------------------- tokenizer.json

describe("the old format (fromJSON)", () => {
  it("still loads, as a folder written before the Hugging Face format has it", () => {
    const old = { type: "char", version: 1, specials: { pad: 0, bos: 1, eos: 2 }, chars: ["\n", " ", "a"] };
    expect(CharTokenizer.fromJSON(old, "tokenizer.json").chars).toEqual(["\n", " ", "a"]);
    expect(readTokenizer({ "tokenizer.json": old }, "tokenizer.json")).toBeInstanceOf(CharTokenizer);
    expect(readTokenizer({ "tokenizer.json": old }, "tokenizer.json").encodePrompt("a a\n")).toEqual([1, 5, 4, 5, 3]);
  });

  const good = { type: "char", version: 1, specials: { pad: 0, bos: 1, eos: 2 }, chars: ["a", "b"] };
  const file = "models/tiny/tokenizer.json";

  it.each<[string, unknown, RegExp]>([
    ["not an object (null)", null, /expected a JSON object/],
    ["not an object (a number)", 42, /expected a JSON object/],
    ["wrong type", { ...good, type: "bpe" }, /"type" must be "char", got "bpe"/],
    ["missing type", { ...good, type: undefined }, /"type" must be "char", got undefined/],
    ["wrong version", { ...good, version: 2 }, /"version" must be 1, got 2/],
    ["version as a string", { ...good, version: "1" }, /"version" must be 1, got "1"/],
    ["swapped specials", { ...good, specials: { pad: 0, bos: 2, eos: 1 } }, /"specials" must be \{"pad": 0, "bos": 1, "eos": 2\}, got \{"pad":0,"bos":2,"eos":1\}/],
    ["missing specials", { ...good, specials: undefined }, /"specials" must be/],
    ["specials not an object", { ...good, specials: 7 }, /"specials" must be .*got 7/],
    ["chars not an array", { ...good, chars: "ab" }, /"chars" must be an array of characters/],
    ["duplicate characters", { ...good, chars: ["a", "b", "a"] }, /character "a" appears twice \(entries 0 and 2\)/],
    ["multi-character entry", { ...good, chars: ["a", "ab"] }, /entry 1 must be exactly one character, got "ab"/],
    ["empty entry", { ...good, chars: [""] }, /entry 0 must be exactly one character, got ""/],
    ["non-string entry", { ...good, chars: ["a", 5] }, /entry 1 must be exactly one character, got 5/],
  ])("rejects %s, naming the file", (_, json, message) => {
    const error = tokenizerErrorOf(() => CharTokenizer.fromJSON(json, file));
    expect(error.message.startsWith(`${file}: `), `message ${JSON.stringify(error.message)} should start with the file`).toBe(true);
    expect(error.message).toMatch(message);
  });

  it("accepts a surrogate pair as one character but not a grapheme of two code points", () => {
    expect(CharTokenizer.fromJSON({ ...good, chars: ["😀"] }, file).encode("😀")).toEqual([3]);
    expect(tokenizerErrorOf(() => CharTokenizer.fromJSON({ ...good, chars: ["e\u0301"] }, file)).message)
      .toMatch(/entry 0 must be exactly one character/);
  });
});

describe("the special token ids cannot be changed from outside", () => {
  it("SPECIAL_TOKENS is frozen", () => {
    expect(Object.isFrozen(SPECIAL_TOKENS)).toBe(true);
  });
});
