/**
 * Tests for Hugging Face tokenizer files (`src/model/hf-tokenizer.ts`, and `CharTokenizer.files` in
 * `src/model/tokenizer.ts`).
 *
 * Three parts. (1) Our character tokenizer in Hugging Face's format: every shipped model's files, read by
 * `@huggingface/tokenizers` itself (not through our wrapper), give the same ids as `CharTokenizer` with
 * and without BOS, and decode back to the same text, on varied text; the files read back as a
 * `CharTokenizer`, and anything else as an `HfTokenizer`. (2) `HfTokenizer`'s rules on a small
 * hand-written tokenizer: the post-processor or `add_bos_token`/`add_eos_token` decides the prompt's
 * special tokens, unknown pieces and ids are errors, chat templates render as transformers renders them.
 * (3) Against transformers' own outputs, from the folders under spec/fixtures/hf/ written by
 * transformers itself: ids and decoded text of awkward strings, chat prompts, and the sampling
 * distribution of its Temperature, TopK and TopP warpers. Only the tokenizer files are read (the
 * weights are checkpoint.ts's business). A folder not committed yet is reported as skipped, by name.
 *
 * @module
 */
import { Tokenizer as HfLibrary } from "@huggingface/tokenizers";
import fc from "fast-check";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { samplingDistribution } from "../src/decoding/sampling.ts";
import { encodeChat, HfTokenizer, readTokenizer } from "../src/model/hf-tokenizer.ts";
import { CharTokenizer, TokenizerError, type Tokenizer } from "../src/model/tokenizer.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { errorOf } from "./helpers/errors.ts";

const repo = join(import.meta.dirname, "..");

/** Every `tokenizer.json` under models/, as paths relative to the repository. */
function shippedTokenizers(dir = join(repo, "models")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? shippedTokenizers(path) : entry.name === "tokenizer.json" ? [path] : [];
  });
}

/** The parsed JSON of `file`. */
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, "utf8"));

/** Runs `call` and returns the TokenizerError it throws (failing if it throws anything else or nothing). */
const tokenizerErrorOf = (call: () => unknown): TokenizerError => errorOf(TokenizerError, call);

// ---------------------------------------------------------------- our char tokenizer in Hugging Face's format

describe("every shipped model's tokenizer, read by @huggingface/tokenizers itself", () => {
  const files = shippedTokenizers();

  it("finds the shipped folders", () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  for (const file of files) {
    it(`${file.slice(repo.length + 1)}: same ids with and without BOS, same text back, on varied text`, () => {
      const saved = { "tokenizer.json": readJson(file), "tokenizer_config.json": readJson(join(dirname(file), "tokenizer_config.json")) };
      const ours = readTokenizer(saved, file);
      expect(ours).toBeInstanceOf(CharTokenizer);
      const chars = (ours as CharTokenizer).chars;
      const library = new HfLibrary(saved["tokenizer.json"], saved["tokenizer_config.json"]);
      const check = (text: string): void => {
        const ids = ours.encode(text);
        expect(library.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text)).toEqual(ids);
        expect(library.encode(text).ids, JSON.stringify(text)).toEqual([1, ...ids]);
        expect(ours.encodePrompt(text)).toEqual([1, ...ids]);
        if (ids.length > 0) expect(library.decode([1, ...ids, 2, 0], { skip_special_tokens: true })).toBe(text);
        expect(ours.decode([1, ...ids, 2, 0])).toBe(text);
      };
      check(chars.join(""));
      check([...chars].reverse().join("").repeat(3));
      check("");
      fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...chars), maxLength: 80 }), (text) => check(text)), { numRuns: 50 });
    });
  }

  it("the files, written by CharTokenizer, read back as the same CharTokenizer", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
      const tok = CharTokenizer.fromText(text);
      const back = readTokenizer(JSON.parse(JSON.stringify(tok.files())), "tokenizer.json");
      expect(back).toBeInstanceOf(CharTokenizer);
      expect((back as CharTokenizer).chars).toEqual(tok.chars);
      expect(back.encode(text)).toEqual(tok.encode(text));
    }), { numRuns: 100 });
  });

  it("an unknown character is an error in both, never a silent id", () => {
    const tok = CharTokenizer.fromText("ab");
    const files = tok.files();
    expect(new HfLibrary(files["tokenizer.json"] as object, files["tokenizer_config.json"] as object).encode("abc").ids).toEqual([1, 3, 4, undefined]);
    expect(tokenizerErrorOf(() => tok.encode("abc")).message).toMatch(/character "c" \(U\+0063\) at index 2/);
    const changed = { ...files, "tokenizer_config.json": { ...(files["tokenizer_config.json"] as object), model_max_length: 256 } };
    const hf = readTokenizer(changed, "tokenizer.json");
    expect(hf).toBeInstanceOf(HfTokenizer);                                    // not exactly ours: read by the library
    expect(hf.encodePrompt("ab")).toEqual([1, 3, 4]);
    expect(tokenizerErrorOf(() => hf.encode("abc")).message).toBe('encode: piece "c" at token 2 is not in the vocabulary, and the tokenizer has no unknown token');
  });

  it("the documented difference: Hugging Face reads a special token's text as that token, CharTokenizer as characters", () => {
    const tok = CharTokenizer.ascii();
    const library = new HfLibrary(tok.files()["tokenizer.json"] as object, tok.files()["tokenizer_config.json"] as object);
    expect(library.encode("a<bos>", { add_special_tokens: false }).ids).toEqual([70, 1]);
    expect(tok.encode("a<bos>")).toEqual([70, 33, 71, 84, 88, 35]);
  });

  it("a file that is neither format is one line naming it", () => {
    expect(tokenizerErrorOf(() => readTokenizer({ "tokenizer.json": [1] }, "m/tokenizer.json")).message).toBe("m/tokenizer.json: expected a JSON object");
    expect(tokenizerErrorOf(() => readTokenizer({ "tokenizer.json": { type: "bpe" } }, "m/tokenizer.json")).message)
      .toBe('m/tokenizer.json: neither a Hugging Face tokenizer (no "model" object) nor our old format ("type": "char")');
    const broken = { model: { type: "BPE", vocab: {} } };
    expect(tokenizerErrorOf(() => readTokenizer({ "tokenizer.json": broken }, "m/tokenizer.json")).message).toMatch(/^m\/tokenizer.json: \S/);
  });
});

// ---------------------------------------------------------------- HfTokenizer's rules

/** A small word-level tokenizer in Hugging Face's format: words split on whitespace, `<s>` added by the post-processor. */
function wordTokenizer(config: Record<string, unknown>): HfTokenizer {
  const specials = ["<s>", "</s>", "<|im_start|>", "<|im_end|>"];
  const words = ["hello", "world", "user", "assistant", "\n"];
  const added = specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const json = {
    version: "1.0", truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: "Split", pattern: { Regex: "\\n| " }, behavior: "Isolated", invert: false },
    post_processor: {
      type: "TemplateProcessing", single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }], special_tokens: { "<s>": { id: "<s>", ids: [0], tokens: ["<s>"] } },
    },
    decoder: { type: "Fuse" },
    model: { type: "WordLevel", vocab: Object.fromEntries([...specials, ...words, " "].map((w, i) => [w, i])), unk_token: "<unk>" },
  };
  return new HfTokenizer({ "tokenizer.json": json, "tokenizer_config.json": { bos_token: "<s>", eos_token: { content: "</s>" }, ...config } });
}

describe("HfTokenizer", () => {
  it("without add_bos_token or add_eos_token, the post-processor decides the prompt's special tokens", () => {
    const tok = wordTokenizer({});
    expect(tok.encode("hello world")).toEqual([4, 9, 5]);
    expect(tok.encodePrompt("hello world")).toEqual([0, 4, 9, 5]);
    expect(tok.vocabSize).toBe(10);
  });

  it("add_bos_token and add_eos_token decide where tokenizer_config.json sets them (BOS on unless false)", () => {
    expect(wordTokenizer({ add_bos_token: false }).encodePrompt("hello")).toEqual([4]);
    expect(wordTokenizer({ add_eos_token: true }).encodePrompt("hello")).toEqual([0, 4, 1]);   // eos_token written as {content}
    expect(wordTokenizer({ add_bos_token: false, add_eos_token: true }).encodePrompt("hello")).toEqual([4, 1]);
    expect(tokenizerErrorOf(() => wordTokenizer({ add_bos_token: true, bos_token: "<bos>" }).encodePrompt("hello")).message)
      .toBe('encodePrompt: tokenizer_config.json adds its bos_token, but "<bos>" is not a token');
    expect(tokenizerErrorOf(() => wordTokenizer({ add_bos_token: true, bos_token: null }).encodePrompt("hello")).message)
      .toBe("encodePrompt: tokenizer_config.json adds its bos_token, but names none");
  });

  it("decodes without special tokens and ids past the vocabulary (a model's padded rows), checks ids, and decodes nothing to the empty string", () => {
    const tok = wordTokenizer({});
    expect(tok.decode([0, 4, 9, 5, 1])).toBe("hello world");
    expect(tok.decode([4, 10, 12])).toBe("hello");
    expect(tok.decode([])).toBe("");
    expect(tok.label(2)).toBe("<|im_start|>");
    expect(tokenizerErrorOf(() => tok.decode([4, -1])).message).toBe("decode: token id -1 at index 1 is not a token id");
  });

  it("a WordLevel model's unknown token is the model's, as in transformers", () => {
    const json = { version: "1.0", added_tokens: [], normalizer: null, post_processor: null, decoder: null,
      pre_tokenizer: { type: "WhitespaceSplit" }, model: { type: "WordLevel", vocab: { "<unk>": 0, a: 1, b: 2 }, unk_token: "<unk>" } };
    expect(new HfTokenizer({ "tokenizer.json": json }).encode("a d b")).toEqual([1, 0, 2]);
  });

  it("saves back exactly the files it was read from", () => {
    const tok = wordTokenizer({ add_bos_token: false });
    expect(new HfTokenizer(tok.files()).files()).toEqual(tok.files());
  });
});

describe("encodeChat", () => {
  const chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}" +
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

  it("renders one user message with the generation prompt, and encodes it without adding special tokens", () => {
    const tok = wordTokenizer({ chat_template: chatml });
    expect(encodeChat(tok, "hello world", "m")).toEqual([2, 6, 8, 4, 9, 5, 3, 8, 2, 7, 8]);
  });

  it("passes the special tokens as variables, and prefers chat_template.jinja", () => {
    const files = wordTokenizer({ chat_template: "ignored" }).files();
    const tok = new HfTokenizer({ ...files, "chat_template.jinja": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}" });
    expect(encodeChat(tok, "hello", "m")).toEqual([0, 4, 1]);
  });

  it("a tokenizer without a chat template is one line naming the folder", () => {
    expect(tokenizerErrorOf(() => encodeChat(CharTokenizer.ascii(), "hi", "models/math-teacher")).message)
      .toBe("models/math-teacher: the tokenizer has no chat template (chat_template.jinja, or chat_template in tokenizer_config.json)");
  });
});

// ---------------------------------------------------------------- against transformers

/** What transformers wrote beside each fixture folder (spec/fixtures/hf/README and the script that writes them). */
interface Expected {
  readonly encode: readonly { text: string; ids: number[]; decoded: string }[];
  readonly prompts: readonly { text: string; ids: number[] }[];
  readonly chat?: { messages: { role: string; content: string }[]; ids: number[]; text: string };
  readonly sampling?: readonly { temperature: number; topK: number; topP: number; logits: number[][]; probabilities: number[][] }[];
}

const fixtures = join(repo, "spec", "fixtures", "hf");
/** The folders transformers writes (see the script beside them), and any other folder with an expected.json. */
const FOLDERS = ["llama-f16-llama3", "qwen2-bf16-tied-sharded", "qwen3-bf16", "llama-f32-yarn", "mistral-f32"];
const found = existsSync(fixtures) ? readdirSync(fixtures).filter((name) => existsSync(join(fixtures, name, "expected.json"))) : [];

for (const name of new Set([...FOLDERS, ...found])) {
  const dir = join(fixtures, name);
  const expected: Expected | null = existsSync(join(dir, "expected.json")) ? JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) : null;
  const tokenizer = (): Tokenizer => readTokenizer(Object.fromEntries(["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]
    .filter((file) => existsSync(join(dir, file)))
    .map((file) => [file, file.endsWith(".json") ? readJson(join(dir, file)) : readFileSync(join(dir, file), "utf8")])), join(dir, "tokenizer.json"));

  describe.skipIf(expected === null)(`${name} against transformers' own outputs${expected === null ? ` (skipped: spec/fixtures/hf/${name}/expected.json is not committed yet)` : ""}`, () => {
    it("ids of tok(text) and decode(ids, skip_special_tokens=True) equal transformers'", () => {
      const tok = tokenizer();
      for (const { text, ids, decoded } of [...expected!.encode, ...expected!.prompts.map((p) => ({ ...p, decoded: undefined }))]) {
        expect(tok.encodePrompt(text), `ids of ${JSON.stringify(text)}`).toEqual(ids);
        if (decoded !== undefined) expect(tok.decode(ids), `text of ${JSON.stringify(ids)}`).toBe(decoded);
      }
    });

    it.skipIf(expected?.chat === undefined)("the chat prompt's ids equal apply_chat_template's (add_generation_prompt)", () => {
      const { messages, ids } = expected!.chat!;
      expect(encodeChat(tokenizer(), messages, dir)).toEqual(ids);
      expect(encodeChat(tokenizer(), messages.slice(-1), dir)).not.toEqual(ids); // the system message is in it
    });

    it.skipIf(expected?.sampling === undefined)("the sampling distribution equals transformers' Temperature, TopK, TopP warpers then softmax", () => {
      for (const { temperature, topK, topP, logits, probabilities } of expected!.sampling!) {
        const V = logits[0].length;
        const tensor = Tensor.from(logits.flat(), [logits.length, V]);
        logits.forEach((_, row) => {
          const p = samplingDistribution(tensor, row, { temperature, topK: topK === 0 ? null : topK, topP });
          const label = `temperature ${temperature}, top-k ${topK}, top-p ${topP}, row ${row}`;
          expect(Array.from(p, (v) => v > 0), `${label}: the kept set`).toEqual(probabilities[row].map((v) => v > 0));
          // the same softmax of the same kept logits in float64, its sums taken in another order: a few ulps apart
          probabilities[row].forEach((q, v) => expect(Math.abs(p[v] - q), `${label}, token ${v}: ${p[v]} vs ${q}`).toBeLessThanOrEqual(1e-12 * q));
        });
      }
    });
  });
}
