/**
 * Writes the pinned `code` corpus, `corpus/typescript-lib.json.br`: the 107 `lib.*.d.ts` files of
 * TypeScript 6.0.3 (the release the shipped code models were trained and measured on), as one
 * brotli-compressed JSON object `{ source, files: { "lib.d.ts": text, ... } }`.
 *
 * ```
 * npm run corpus
 * ```
 * Why pinned: read from the installed `typescript` package, the corpus changed with every TypeScript
 * release (another vocabulary, other held-out windows, so other results; TypeScript 7 ships none of these
 * files) and was missing where `typescript` is not installed, as in a user's install of this package.
 * Why all of it, not only what `demo` and `eval` read: `eval` also needs the training vocabulary and its
 * unigram counts, and `train --data code` the whole text; compressed, it is small (docs/training.md
 * gives the sizes). Run this only to re-pin on purpose: it refuses any other TypeScript version.
 *
 * @module
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";
import { writeFileAtomic } from "../src/util/atomic-write.ts";

/** The TypeScript release whose `lib.*.d.ts` files are the corpus. */
const VERSION = "6.0.3";

const root = join(import.meta.dirname, "..");
const lib = join(root, "node_modules", "typescript", "lib");
const { version } = JSON.parse(readFileSync(join(lib, "..", "package.json"), "utf8")) as { version: string };
if (version !== VERSION) {
  console.error(`code-corpus: the corpus is TypeScript ${VERSION}'s; node_modules has ${version} (npx -p typescript@${VERSION} ... or change VERSION on purpose)`);
  process.exit(1);
}
const names = readdirSync(lib).filter((f) => /^lib\..*\.d\.ts$/.test(f)).sort();
const files = Object.fromEntries(names.map((f) => [f, readFileSync(join(lib, f), "utf8")]));
const json = JSON.stringify({ source: `typescript@${VERSION} lib/lib.*.d.ts`, files });
const packed = brotliCompressSync(json, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24 } });
writeFileAtomic(join(root, "corpus", "typescript-lib.json.br"), packed);
console.log(`code-corpus: ${names.length} files, ${json.length} characters, ${packed.length} bytes compressed`);
