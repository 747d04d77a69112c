/**
 * Text corpora: `code` (real source text nobody here wrote — the TypeScript standard-library
 * declaration files `lib.*.d.ts`, pinned to one TypeScript release in `corpus/typescript-lib.json.br`,
 * made by `npm run corpus`) and any UTF-8 file given by path.
 *
 * Each corpus becomes one stream of token ids, every document written `BOS text EOS`, and training
 * sequences are excerpts of `T + 1` consecutive ids at offsets drawn from the seeded generator (the
 * last id of an excerpt is only a target). The vocabulary is the set of characters of the TRAINING
 * text; held-out characters outside it cannot be scored and are dropped (their count is reported in
 * the description — a handful of typographic dashes in the code corpus).
 *
 * Splits. `code`: by file — a file is held out when its index in the sorted list is 4 mod 10, except
 * the two large generated DOM/worker files that duplicate each other (10 of 107 files, about 39k
 * characters), so held-out files are text the model never saw. A single file: its last tenth (cut at a
 * line break) is held out.
 *
 * Read next: `dataset.ts` (the interface and the packing).
 *
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { brotliDecompressSync } from "node:zlib";
import { CharTokenizer, SPECIAL_TOKENS } from "../model/tokenizer.ts";
import { DataError, type Dataset, type TrainingSequence } from "./dataset.ts";

// ---------------------------------------------------------------- reading text

/**
 * Reads a file as UTF-8, strictly: an unreadable, empty or non-UTF-8 file is a {@link DataError}.
 *
 * @example
 * ```ts
 * readUtf8("empty.txt"); // throws DataError: empty.txt: the file is empty; training needs some text
 * ```
 * @category Data
 */
export function readUtf8(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new DataError(`${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (bytes.length === 0) throw new DataError(`${path}: the file is empty; training needs some text`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`${path}: is not valid UTF-8 text`);
  }
}

// ---------------------------------------------------------------- the stream dataset

/** `BOS doc EOS` for each document, concatenated. */
function streamIds(tokenizer: CharTokenizer, docs: readonly string[]): Int32Array {
  const encoded = docs.map((d) => tokenizer.encode(d));
  const ids = new Int32Array(encoded.reduce((n, e) => n + e.length + 2, 0));
  let at = 0;
  for (const e of encoded) {
    ids[at++] = SPECIAL_TOKENS.bos;
    ids.set(e, at);
    at += e.length;
    ids[at++] = SPECIAL_TOKENS.eos;
  }
  return ids;
}

/** The excerpt of `T + 1` ids starting at `offset` of `ids`, as a causal sequence of T rows (each predicts the next id). */
function excerptAt(ids: Int32Array, offset: number, T: number): TrainingSequence {
  const tokens = Array.from(ids.subarray(offset, offset + T));
  const targets = Array.from(ids.subarray(offset + 1, offset + T + 1));
  return { tokens, targets, positions: Array.from({ length: T }, (_, i) => i), mask: null };
}

/**
 * Tokens in a text prompt for trajectory collection ({@link Dataset.trainPrompt}): an excerpt of this
 * many consecutive training ids, long enough to set a context, short enough to leave most of a small
 * model's context to the generation.
 *
 * @category Data
 */
export const TEXT_PROMPT_LENGTH = 32;

/**
 * A dataset over training and held-out documents of plain text. The vocabulary is built from the
 * training documents.
 *
 * @param name - `code` or the file path
 * @param train - training documents
 * @param heldout - held-out documents
 * @example
 * ```ts
 * const data = textDataset("demo", ["hello world\n".repeat(20)], ["hello\n".repeat(10)], "demo");
 * data.tokenizer.vocabSize; // 3 + 9 distinct characters = 12
 * ```
 * @category Data
 */
export function textDataset(name: string, train: readonly string[], heldout: readonly string[], what: string): Dataset {
  const trainText = train.join("");
  if (trainText.length === 0) throw new DataError(`${name}: the training text is empty`);
  const tokenizer = CharTokenizer.fromText(trainText);
  // held-out characters the vocabulary lacks cannot be scored: dropped, and counted
  const known = new Set(tokenizer.chars);
  const kept = heldout.map((d) => [...d].filter((c) => known.has(c)).join(""));
  const dropped = heldout.reduce((n, d, i) => n + [...d].length - [...kept[i]].length, 0);
  const trainIds = streamIds(tokenizer, train);
  const heldoutIds = streamIds(tokenizer, kept);
  const chars = (ids: Int32Array, docs: number): number => ids.length - 2 * docs;
  // the unigram baseline: p(id) = (count + 1) / (n + V), from the training stream
  const unigram = new Float64Array(tokenizer.vocabSize).fill(1);
  for (const id of trainIds) unigram[id]++;
  for (let i = 0; i < unigram.length; i++) unigram[i] /= trainIds.length + tokenizer.vocabSize;
  return {
    name,
    tokenizer,
    unigram,
    description: `${what}: ${chars(trainIds, train.length)} training characters, ${chars(heldoutIds, kept.length)} held-out characters` +
      ` (${dropped} held-out characters outside the vocabulary dropped), vocabulary ${tokenizer.vocabSize}`,
    trainSequence: (rng, T) => {
      if (trainIds.length < T + 1) throw new DataError(`${name}: the training text (${trainIds.length} ids) is shorter than one sequence of ${T + 1}`);
      return excerptAt(trainIds, rng.int(trainIds.length - T), T);
    },
    trainPrompt: (rng) => {
      const P = TEXT_PROMPT_LENGTH;
      if (trainIds.length < P) throw new DataError(`${name}: the training text (${trainIds.length} ids) is shorter than one prompt of ${P}`);
      return excerptAt(trainIds, rng.int(trainIds.length - P + 1), P).tokens;
    },
    heldoutSequences: (T, count) => {
      const out: TrainingSequence[] = [];
      for (let o = 0; o + T + 1 <= heldoutIds.length && out.length < count; o += T) out.push(excerptAt(heldoutIds, o, T));
      if (out.length === 0) throw new DataError(`${name}: the held-out text (${heldoutIds.length} ids) is shorter than one sequence of ${T + 1}`);
      return out;
    },
  };
}

// ---------------------------------------------------------------- the two text corpora

/**
 * One file of the code corpus.
 *
 * @category Data
 */
export interface CodeFile {
  /** The file's name in TypeScript's `lib` folder, e.g. `lib.es2015.core.d.ts`. */
  readonly name: string;
  /** Its text. */
  readonly text: string;
  /** True when the file belongs to the held-out split. */
  readonly heldout: boolean;
}

/**
 * The pinned corpus, found from this module: `src/data/` and the built `dist/data/` both sit two folders
 * below the package root, so the file is found from a checkout and from an install alike.
 */
const CODE_CORPUS = new URL("../../corpus/typescript-lib.json.br", import.meta.url);

/**
 * The files of the code corpus: the pinned `lib.*.d.ts` files, sorted by name, each with its split.
 *
 * @param corpus - the brotli-compressed JSON `{ files: { name: text } }` (default: the pinned corpus)
 * @example
 * ```ts
 * codeFiles().filter((f) => f.heldout).length; // 10
 * ```
 * @category Data
 */
export function codeFiles(corpus: URL | string = CODE_CORPUS): CodeFile[] {
  let files: Record<string, string>;
  try {
    files = (JSON.parse(brotliDecompressSync(readFileSync(corpus)).toString("utf8")) as { files: Record<string, string> }).files;
  } catch (e) {
    throw new DataError(`codeFiles: cannot read the code corpus ${corpus} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const names = Object.keys(files).sort();                              // the lib.*.d.ts files, and nothing else
  // lib.dom.d.ts and lib.webworker.d.ts are generated from the same Web IDL and share most of their
  // text: holding one out would measure memorisation of the other, so both always train.
  const alwaysTrain = new Set(["lib.dom.d.ts", "lib.webworker.d.ts"]);
  return names.map((name, i) => ({ name, text: files[name], heldout: i % 10 === 4 && !alwaysTrain.has(name) }));
}

/**
 * The `code` dataset: TypeScript's standard-library declarations, held out by file.
 *
 * @example
 * ```ts
 * codeDataset().tokenizer.vocabSize; // 107
 * ```
 * @category Data
 */
export function codeDataset(corpus?: URL | string): Dataset {
  const files = codeFiles(corpus);
  const texts = (heldout: boolean): string[] => files.filter((f) => f.heldout === heldout).map((f) => f.text);
  const heldoutNames = files.filter((f) => f.heldout).map((f) => f.name).join(", ");
  return textDataset("code", texts(false), texts(true), `TypeScript lib.*.d.ts, held-out files ${heldoutNames}`);
}

/**
 * A dataset from one UTF-8 file: its last tenth, cut at a line break, is held out.
 *
 * @example
 * ```ts
 * fileDataset("notes.txt").trainSequence(new Rng(1), 128).tokens.length; // 128
 * ```
 * @category Data
 */
export function fileDataset(path: string): Dataset {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new DataError(`${path}: no such file`);
  const text = readUtf8(path);
  let cut = Math.floor(text.length * 0.9);
  const newline = text.indexOf("\n", cut);
  if (newline > 0 && newline < text.length - 1) cut = newline + 1;
  return textDataset(path, [text.slice(0, cut)], [text.slice(cut)], `file ${path}`);
}
