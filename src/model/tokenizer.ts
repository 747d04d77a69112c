/**
 * A character-level tokenizer with three special tokens, and its `tokenizer.json` file format.
 *
 * One token per Unicode code point; ids 0, 1, 2 are PAD, BOS, EOS and the characters follow in the
 * order given. Character level keeps the models tiny and the trajectories readable: a Jacobi block of
 * 16 tokens is 16 visible characters. It is not a BPE tokenizer and makes no attempt to be one.
 *
 * File format (`tokenizer.json`, ours, documented here):
 * ```json
 * { "type": "char", "version": 1, "specials": { "pad": 0, "bos": 1, "eos": 2 }, "chars": ["\n", " ", "a"] }
 * ```
 * `chars[i]` has id `3 + i`; every entry is exactly one code point and no character appears twice.
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
 * The `tokenizer.json` object.
 *
 * @category Tokenizer
 */
export interface TokenizerJson {
  /** Always `"char"`. */
  readonly type: "char";
  /** Format version, 1. */
  readonly version: 1;
  /** The special ids, always PAD 0, BOS 1, EOS 2. */
  readonly specials: SpecialTokens;
  /** The characters; `chars[i]` has id `3 + i`. */
  readonly chars: string[];
}
const FIRST_CHAR_ID = 3;

/** Labels of the special ids 0, 1, 2 (PAD, BOS, EOS). */
const SPECIAL_LABELS: readonly string[] = ["<pad>", "<bos>", "<eos>"];

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
 * tok.decode([77, 78, 2]);   // "hi" (specials decode to nothing)
 * tok.encode("é");           // throws TokenizerError: character "é" (U+00E9) at index 0 is not in the vocabulary
 * ```
 * @category Tokenizer
 */
export class CharTokenizer {
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

  /** The `tokenizer.json` object. */
  toJSON(): TokenizerJson {
    return { type: "char", version: 1, specials: { ...SPECIAL_TOKENS }, chars: [...this.chars] };
  }

  /**
   * Reads a `tokenizer.json` object, checking every field.
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
export function tokenLabel(id: number, tokenizer: CharTokenizer | null): string {
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
export function visibleText(ids: readonly number[], tokenizer: CharTokenizer | null): string {
  return tokenizer === null ? ids.join(",") : ids.map((id) => tokenLabel(id, tokenizer)).join("");
}
