/**
 * The tokenizer interface every command, trace and checkpoint speaks, and our character-level tokenizer.
 *
 * {@link CharTokenizer}: one token per Unicode code point; ids 0, 1, 2 are PAD, BOS, EOS and the
 * characters follow in the order given. Character level keeps the models tiny and the trajectories
 * readable: a Jacobi block of 16 tokens is 16 visible characters. It is not a BPE tokenizer and makes
 * no attempt to be one; real models' tokenizers load through `hf-tokenizer.ts`.
 *
 * Files. A `CharTokenizer` saves itself in Hugging Face's format, so that transformers, Python
 * `tokenizers` and transformers.js load our folders whole, with the same ids:
 * - `tokenizer.json`: a `WordLevel` model whose vocabulary is `<pad>` 0, `<bos>` 1, `<eos>` 2 and the
 *   characters from id 3; a `Split` pre-tokenizer that isolates every code point (`[\s\S]`); a
 *   `TemplateProcessing` post-processor that prepends `<bos>`; a `Fuse` decoder (the characters joined
 *   with nothing in between); the three specials as special added tokens (skipped by
 *   `decode(ids, skip_special_tokens=True)`). Its `unk_token` `<unk>` is deliberately not in the
 *   vocabulary: an unknown character is an error everywhere, never a silent id.
 * - `tokenizer_config.json`: `tokenizer_class` `PreTrainedTokenizerFast`, the bos/eos/pad tokens, and
 *   `clean_up_tokenization_spaces` false (decoding gives back the text exactly).
 *
 * One difference is Hugging Face's, documented rather than hidden: its tokenizers read the literal text
 * of a special token (`"<bos>"` typed in a prompt) as that token, where `CharTokenizer.encode` reads five
 * characters. Our old format still loads (see {@link CharTokenizer.fromJSON}):
 * ```json
 * { "type": "char", "version": 1, "specials": { "pad": 0, "bos": 1, "eos": 2 }, "chars": ["\n", " ", "a"] }
 * ```
 *
 * @module
 */

/**
 * Thrown for text or ids the tokenizer cannot map, and for a malformed `tokenizer.json`.
 *
 * @example
 * ```ts
 * CharTokenizer.fromText("ab").encode("abc"); // throws TokenizerError: encode: character "c" (U+0063) at index 2 is not in the vocabulary
 * ```
 * @category Tokenizer
 */
export class TokenizerError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "TokenizerError";
}

/**
 * Ids of the special tokens.
 *
 * @category Tokenizer
 */
export interface SpecialTokens {
  /** Padding (also the `'pad'` draft initialisation). */
  readonly pad: 0;
  /** Beginning of sequence: prepended to text prompts. */
  readonly bos: 1;
  /** End of sequence: generation stops after it. */
  readonly eos: 2;
}

/**
 * The special token ids: PAD 0, BOS 1, EOS 2.
 *
 * @category Tokenizer
 */
export const SPECIAL_TOKENS: SpecialTokens = Object.freeze({ pad: 0, bos: 1, eos: 2 });

/**
 * What every command, decoder's caller, trace and checkpoint needs of a tokenizer: text to ids and back
 * with Hugging Face transformers' meaning, and the files that save it.
 *
 * @category Tokenizer
 */
export interface Tokenizer {
  /** Number of ids it can produce: at most the model's `vocabSize`. */
  readonly vocabSize: number;
  /** Ids of `text` alone, no special tokens (transformers' `tokenizer(text, add_special_tokens=False)`). */
  encode(text: string): number[];
  /** Ids of a prompt: transformers' `tokenizer(text).input_ids`, with BOS where the tokenizer's rule adds one. */
  encodePrompt(text: string): number[];
  /** Text of `ids`, special tokens left out (transformers' `decode(ids, skip_special_tokens=True)`). */
  decode(ids: ArrayLike<number>): string;
  /** Printable form of one id, special tokens included (for traces). */
  label(id: number): string;
  /** The files that save it, by name: parsed JSON (`tokenizer.json`, `tokenizer_config.json`) or text (`chat_template.jinja`). */
  files(): Record<string, unknown>;
}

const FIRST_CHAR_ID = 3;

/** Labels of the special ids 0, 1, 2 (PAD, BOS, EOS). */
const SPECIAL_LABELS: readonly string[] = ["<pad>", "<bos>", "<eos>"];

/** Hugging Face's `tokenizer.json` of a char tokenizer over `chars` (see the module header), fields in the order `tokenizers` writes them. */
function hfTokenizerJson(chars: readonly string[]): object {
  const specials = SPECIAL_LABELS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const bos = { SpecialToken: { id: "<bos>", type_id: 0 } };
  return {
    version: "1.0", truncation: null, padding: null, added_tokens: specials, normalizer: null,
    pre_tokenizer: { type: "Split", pattern: { Regex: "[\\s\\S]" }, behavior: "Isolated", invert: false }, // each code point a piece
    post_processor: {
      type: "TemplateProcessing", single: [bos, { Sequence: { id: "A", type_id: 0 } }], pair: [bos, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<bos>": { id: "<bos>", ids: [SPECIAL_TOKENS.bos], tokens: ["<bos>"] } },
    },
    decoder: { type: "Fuse" },                                              // the pieces joined with nothing in between
    model: { type: "WordLevel", vocab: Object.fromEntries([...SPECIAL_LABELS, ...chars].map((token, id) => [token, id])), unk_token: "<unk>" },
  };
}

/**
 * The default vocabulary: newline, tab and the 95 printable ASCII characters — 100 ids in all with the
 * specials, the `vocabSize` of the presets.
 *
 * @category Tokenizer
 */
export const ASCII_CHARS: readonly string[] = ["\n", "\t", ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))];

/**
 * Maps text to token ids and back, one id per character.
 *
 * @example
 * ```ts
 * const tok = CharTokenizer.ascii();
 * tok.encode("hi");          // [77, 78]
 * tok.encodePrompt("hi");    // [1, 77, 78]: BOS first
 * tok.decode([77, 78, 2]);   // "hi" (specials decode to nothing)
 * tok.encode("é");           // throws TokenizerError: character "é" (U+00E9) at index 0 is not in the vocabulary
 * ```
 * @category Tokenizer
 */
export class CharTokenizer implements Tokenizer {
  /** The characters, id = 3 + index. */
  readonly chars: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  /** @param chars - distinct single code points, in id order */
  constructor(chars: readonly string[]) {
    const ids = new Map<string, number>();
    chars.forEach((c, i) => {
      if (typeof c !== "string" || [...c].length !== 1) {
        throw new TokenizerError(`CharTokenizer: entry ${i} must be exactly one character, got ${JSON.stringify(c)}`);
      }
      if (ids.has(c)) throw new TokenizerError(`CharTokenizer: character ${JSON.stringify(c)} appears twice (entries ${ids.get(c)! - FIRST_CHAR_ID} and ${i})`);
      ids.set(c, FIRST_CHAR_ID + i);
    });
    this.chars = Object.freeze([...chars]);
    this.ids = ids;
  }

  /** The default tokenizer over {@link ASCII_CHARS} (100 ids). */
  static ascii(): CharTokenizer {
    return new CharTokenizer(ASCII_CHARS);
  }

  /** A tokenizer over the distinct characters of `text`, sorted by code point. */
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer([...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  /** Number of ids: the 3 specials plus the characters. */
  get vocabSize(): number {
    return FIRST_CHAR_ID + this.chars.length;
  }

  /** Ids of the characters of `text` (no BOS added). Throws on a character outside the vocabulary. */
  encode(text: string): number[] {
    return [...text].map((c, index) => {                                   // by code point, not UTF-16 unit
      const id = this.ids.get(c);
      if (id === undefined) {
        const code = c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        throw new TokenizerError(`encode: character ${JSON.stringify(c)} (U+${code}) at index ${index} is not in the vocabulary`);
      }
      return id;
    });
  }

  /** BOS, then the ids of `text`: what the post-processor of {@link CharTokenizer.files | our tokenizer.json} gives. */
  encodePrompt(text: string): number[] {
    return [SPECIAL_TOKENS.bos, ...this.encode(text)];
  }

  /** Text of `ids`; special tokens decode to nothing. Throws on an id outside the vocabulary. */
  decode(ids: ArrayLike<number>): string {
    let text = "";
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(`decode: token id ${id} at index ${i} is outside the vocabulary 0..${this.vocabSize - 1}`);
      }
      if (id >= FIRST_CHAR_ID) text += this.chars[id - FIRST_CHAR_ID];
    }
    return text;
  }

  /** Printable form of one id: the character, or `<pad>`, `<bos>`, `<eos>`. */
  label(id: number): string {
    return SPECIAL_LABELS[id] ?? this.decode([id]);
  }

  /** Our files, in Hugging Face's format (see the module header). */
  files(): Record<string, unknown> {
    const [pad, bos, eos] = SPECIAL_LABELS;
    const config = { tokenizer_class: "PreTrainedTokenizerFast", bos_token: bos, eos_token: eos, pad_token: pad, clean_up_tokenization_spaces: false };
    return { "tokenizer.json": hfTokenizerJson(this.chars), "tokenizer_config.json": config };
  }

  /**
   * Reads our old `tokenizer.json` format (`"type": "char"`, see the module header), checking every field.
   * @param file - used in error messages
   */
  static fromJSON(json: unknown, file: string): CharTokenizer {
    if (typeof json !== "object" || json === null) throw new TokenizerError(`${file}: expected a JSON object`);
    const o = json as Record<string, unknown>;
    if (o.type !== "char") throw new TokenizerError(`${file}: "type" must be "char", got ${JSON.stringify(o.type)}`);
    if (o.version !== 1) throw new TokenizerError(`${file}: "version" must be 1, got ${JSON.stringify(o.version)}`);
    const s = o.specials as Record<string, unknown> | undefined;
    if (!s || s.pad !== SPECIAL_TOKENS.pad || s.bos !== SPECIAL_TOKENS.bos || s.eos !== SPECIAL_TOKENS.eos) {
      throw new TokenizerError(`${file}: "specials" must be {"pad": 0, "bos": 1, "eos": 2}, got ${JSON.stringify(o.specials)}`);
    }
    if (!Array.isArray(o.chars)) throw new TokenizerError(`${file}: "chars" must be an array of characters`);
    try {
      return new CharTokenizer(o.chars as string[]);
    } catch (e) {
      throw new TokenizerError(`${file}: ${(e as Error).message}`);
    }
  }
}

// ---------------------------------------------------------------- tokens made visible

/** One-character stand-ins, so that every column of a character trace is one wide. */
const VISIBLE: Readonly<Record<string, string>> = { " ": "␣", "\n": "⏎", "\t": "⇥", "<bos>": "␂", "<eos>": "␄", "<pad>": "␀" };

/**
 * Printable label of a token: the character, whitespace and specials as one visible symbol
 * (␣ space, ⏎ newline, ⇥ tab, ␂ BOS, ␄ EOS, ␀ pad), or the id when there is no tokenizer.
 *
 * @example
 * ```ts
 * tokenLabel(tokenizer.encode("\n")[0], tokenizer); // "⏎"
 * tokenLabel(2, null);                               // "2"
 * ```
 * @category Tokenizer
 */
export function tokenLabel(id: number, tokenizer: Tokenizer | null): string {
  if (tokenizer === null) return String(id);
  const text = tokenizer.label(id);
  return VISIBLE[text] ?? text;
}

/**
 * Token ids as one line of visible characters (see {@link tokenLabel}); ids joined by commas without a
 * tokenizer.
 *
 * @example
 * ```ts
 * visibleText(tokenizer.encode("4+9\nA"), tokenizer); // "4+9⏎A"
 * ```
 * @category Tokenizer
 */
export function visibleText(ids: readonly number[], tokenizer: Tokenizer | null): string {
  return tokenizer === null ? ids.join(",") : ids.map((id) => tokenLabel(id, tokenizer)).join("");
}
