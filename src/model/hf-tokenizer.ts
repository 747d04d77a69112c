/**
 * Real models' tokenizers: a folder's Hugging Face `tokenizer.json` (byte-level BPE as Llama 3 and
 * Qwen2, SentencePiece-style BPE as Llama 2, WordLevel, ...) read by `@huggingface/tokenizers`, with
 * `tokenizer_config.json`'s special tokens and BOS rule, so that a prompt becomes exactly the ids
 * transformers gives it; the chat template rendered by `@huggingface/jinja`; and the one function that
 * turns a folder's parsed tokenizer files into a {@link Tokenizer}.
 *
 * What it is not: a tokenizer implementation. Both libraries are Hugging Face's own JavaScript ports,
 * made for exactly these files; this file only says which of their calls means what transformers means.
 * No file access here: `checkpoint.ts` reads the files and passes their parsed JSON.
 *
 * Read next: `tokenizer.ts` (the interface and our character tokenizer), `checkpoint.ts`.
 *
 * @module
 */
import { Template } from "@huggingface/jinja";
import { Tokenizer as HfLibrary, type Encoding } from "@huggingface/tokenizers";
import { CharTokenizer, TokenizerError, type Tokenizer } from "./tokenizer.ts";

/** `tokenizer_config.json`, the fields read here (the rest is kept and saved back as it was). */
type TokenizerConfig = Readonly<Record<string, unknown>>;

/** A special token of `tokenizer_config.json` as a string: written either as the string or as an AddedToken `{content}`. */
function tokenText(token: unknown): string | undefined {
  return typeof token === "string" ? token : (token as { content?: string } | null | undefined)?.content;
}

/**
 * A Hugging Face tokenizer folder's tokenizer. `encodePrompt` follows transformers: where
 * `tokenizer_config.json` sets `add_bos_token` or `add_eos_token`, they decide (transformers' Llama-family
 * tokenizers rebuild their post-processor from them, BOS on unless set false); otherwise the
 * post-processor of `tokenizer.json` does (Llama 3's TemplateProcessing adds BOS; Qwen2's adds nothing).
 * `decode` skips special tokens and cleans up spaces only where the config asks (transformers' default is not to).
 *
 * @example
 * ```ts
 * const files = CharTokenizer.fromText("ab").files();                      // our tokenizer.json: BOS by its post-processor
 * new HfTokenizer(files).encodePrompt("ab");                                                                  // [1, 3, 4]
 * new HfTokenizer({ ...files, "tokenizer_config.json": { add_bos_token: false } }).encodePrompt("ab");        // [3, 4]
 * new HfTokenizer({ ...files, "tokenizer_config.json": { bos_token: "<bos>", eos_token: "<eos>", add_eos_token: true } }).encodePrompt("ab"); // [1, 3, 4, 2]
 * ```
 * @category Tokenizer
 */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  private readonly library: HfLibrary;
  private readonly config: TokenizerConfig;

  /** @param saved - the parsed files by name: `tokenizer.json`, optional `tokenizer_config.json` and `chat_template.jinja` */
  constructor(private readonly saved: Readonly<Record<string, unknown>>) {
    this.config = (saved["tokenizer_config.json"] ?? {}) as TokenizerConfig;
    const cleanUp = this.config.clean_up_tokenization_spaces ?? false;
    // the library takes a WordLevel model's unknown token from the config; transformers, from the model
    const unk = (saved["tokenizer.json"] as { model?: { unk_token?: unknown } }).model?.unk_token;
    this.library = new HfLibrary(saved["tokenizer.json"] as object, { unk_token: unk, ...this.config, clean_up_tokenization_spaces: cleanUp });
    this.vocabSize = this.library.model!.vocab.length;                      // indexed by id, added tokens included
  }

  /** Ids of `text`, no special tokens added. Throws on text the vocabulary cannot cover (no `<unk>`). */
  encode(text: string): number[] {
    return known(this.library.encode(text, { add_special_tokens: false }));
  }

  /** transformers' `tokenizer(text).input_ids`: the rule in the class comment. */
  encodePrompt(text: string): number[] {
    const { add_bos_token: bos, add_eos_token: eos } = this.config;
    if (typeof bos !== "boolean" && typeof eos !== "boolean") return known(this.library.encode(text));
    const special = (key: string): number[] => {
      const token = tokenText(this.config[key]);
      const id = token === undefined ? undefined : this.library.token_to_id(token);
      if (id === undefined) throw new TokenizerError(`encodePrompt: tokenizer_config.json adds its ${key}, but ${token === undefined ? "names none" : `${JSON.stringify(token)} is not a token`}`);
      return [id];
    };
    return [...(bos !== false ? special("bos_token") : []), ...this.encode(text), ...(eos === true ? special("eos_token") : [])];
  }

  /**
   * transformers' `decode(ids, skip_special_tokens=True)`: an id past the tokenizer's vocabulary (a model's
   * padded rows) has no text, as there. Throws on an id that is not a non-negative integer.
   */
  decode(ids: ArrayLike<number>): string {
    const list = Array.from(ids);
    const bad = list.findIndex((id) => !Number.isInteger(id) || id < 0);
    if (bad >= 0) throw new TokenizerError(`decode: token id ${list[bad]} at index ${bad} is not a token id`);
    const known = list.filter((id) => id < this.vocabSize);
    return known.length === 0 ? "" : this.library.decode(known, { skip_special_tokens: true });
  }

  /** The text of one id, special tokens included. */
  label(id: number): string {
    return this.library.decode([id]);
  }

  /** The files as they were read: a folder saves back unchanged. */
  files(): Record<string, unknown> {
    return { ...this.saved };
  }
}

/** The ids of an encoding, or a TokenizerError naming the first piece outside the vocabulary (a tokenizer without an unknown token). */
function known({ ids, tokens }: Encoding): number[] {
  const bad = (ids as (number | undefined)[]).indexOf(undefined);
  if (bad >= 0) throw new TokenizerError(`encode: piece ${JSON.stringify(tokens[bad])} at token ${bad} is not in the vocabulary, and the tokenizer has no unknown token`);
  return ids;
}

// ---------------------------------------------------------------- chat prompts

/**
 * The ids of a conversation in the tokenizer's chat template, ready for the assistant's reply:
 * transformers' `apply_chat_template(messages, add_generation_prompt=True)`. A string is one user message.
 * The template comes from `chat_template.jinja` or `tokenizer_config.json`'s `chat_template`, is rendered
 * with `@huggingface/jinja` (trimming blocks as transformers does) with the special tokens as variables,
 * and the text is encoded without adding special tokens, since the template writes them.
 *
 * @param chat - the text of one user message, or the messages (`{ role, content }`: system, user, assistant)
 * @param file - the folder, for the error message
 * @throws TokenizerError when the tokenizer has no chat template
 * @example
 * ```ts
 * const tok = readTokenizer({ ...CharTokenizer.ascii().files(), "chat_template.jinja": "{{ bos_token }}Q: {{ messages[0].content }}\nA:" }, "tokenizer.json");
 * encodeChat(tok, "hi", "models/x"); // [1, 54, 31, 5, 77, 78, 3, 38, 31]: "<bos>" is the special token 1, then "Q: hi\nA:"
 * ```
 * @category Tokenizer
 */
export function encodeChat(tokenizer: Tokenizer, chat: string | readonly { role: string; content: string }[], file: string): number[] {
  const messages = typeof chat === "string" ? [{ role: "user", content: chat }] : chat;
  const files = tokenizer.files();
  const config = (files["tokenizer_config.json"] ?? {}) as TokenizerConfig;
  const template = files["chat_template.jinja"] ?? config.chat_template;
  if (typeof template !== "string") throw new TokenizerError(`${file}: the tokenizer has no chat template (chat_template.jinja, or chat_template in tokenizer_config.json)`);
  const specials = Object.fromEntries(["bos_token", "eos_token", "unk_token", "pad_token"].map((key) => [key, tokenText(config[key])]));
  return tokenizer.encode(new Template(template).render({ messages, add_generation_prompt: true, ...specials }));
}

// ---------------------------------------------------------------- reading a folder's tokenizer

/**
 * The tokenizer of a folder's parsed tokenizer files: our old format (`"type": "char"`) and our
 * character tokenizer in Hugging Face's format (recognised by being exactly what {@link CharTokenizer}
 * writes, key order included) give a {@link CharTokenizer}, so training and traces work as before; anything else is a
 * {@link HfTokenizer}.
 *
 * @param files - parsed files by name: `tokenizer.json`, optional `tokenizer_config.json` and `chat_template.jinja` (text)
 * @param file - the `tokenizer.json` path, for error messages
 * @throws TokenizerError, one line naming the file, for a file that is neither
 * @example
 * ```ts
 * readTokenizer(CharTokenizer.ascii().files(), "tokenizer.json").encodePrompt("hi"); // [1, 77, 78]
 * ```
 * @category Tokenizer
 */
export function readTokenizer(files: Readonly<Record<string, unknown>>, file: string): Tokenizer {
  const json = files["tokenizer.json"] as { type?: unknown; model?: { vocab?: unknown } } | null;
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new TokenizerError(`${file}: expected a JSON object`);
  if (json.type === "char") return CharTokenizer.fromJSON(json, file);
  if (typeof json.model !== "object" || json.model === null) {
    throw new TokenizerError(`${file}: neither a Hugging Face tokenizer (no "model" object) nor our old format ("type": "char")`);
  }
  const vocab = Object.entries((json.model.vocab ?? {}) as Record<string, number>).filter(([, id]) => id >= 3).sort((a, b) => a[1] - b[1]);
  try {
    const ours = new CharTokenizer(vocab.map(([token]) => token));
    if (JSON.stringify(ours.files()) === JSON.stringify(files)) return ours;  // exactly its files, key order included
  } catch {
    // not one code point per token: not ours
  }
  try {
    return new HfTokenizer(files);
  } catch (e) {
    throw new TokenizerError(`${file}: ${(e as Error).message}`);
  }
}
