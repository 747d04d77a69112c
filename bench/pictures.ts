/**
 * The trajectory pictures of the docs (`npm run pictures`, = `npx tsx bench/pictures.ts`), redrawn from the
 * shipped models — block 0 of one held-out math problem, decoded with greedy Jacobi (n = 16), once by
 * the AR teacher and once by its Jacobi Forcing student — into `docs/pictures/`. A student folder that
 * is not there yet is skipped, and the command says so; rerun it once the student lands, and the
 * picture of `docs/ARCHITECTURE.md` §5 gets its second panel.
 *
 * ```
 * npm run pictures
 * ```
 *
 * The models come from `SHIPPED_MODELS`, the drawing from `trace-svg.ts`: each picture is exactly what
 * `jacobi-forcing trace --model DIR --prompt-ids IDS --block 0 --svg FILE` writes. It also rewrites the
 * table between the `pictures:begin` and `pictures:end` markers of `docs/ARCHITECTURE.md`: the two
 * pictures side by side, or the teacher's and a note while the student is missing.
 * `spec/trace.spec.ts` checks that the committed pictures and table are what this script draws now.
 *
 * What it is not: a command of the CLI. It is a maintainer's tool that writes into the repository.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { writeFileAtomic } from "../src/util/atomic-write.ts";
import type { Io } from "../src/cli/args.ts";
import { traceSummary } from "../src/cli/commands/trace.ts";
import { tracedJacobi } from "../src/cli/trace.ts";
import { SHIPPED_MODELS, packageRoot, shippedModelPresent } from "../src/cli/shipped-models.ts";
import { traceSvg } from "../src/cli/trace-svg.ts";

/** The problem drawn: the first held-out problem of the demo (`mathEvalSet(3, 2025)[0]`). */
const PROMPT = "914+169\n";
/** n of the pictures: the demo's block size. */
const BLOCK_SIZE = 16;

/** The document whose marked table shows the pictures, relative to the root. */
const DOC = join("docs", "ARCHITECTURE.md");
const BEGIN = "<!-- pictures:begin";
const END = "<!-- pictures:end -->";

/**
 * The table of pictures: one column per model, the picture or a note that the model is not shipped yet.
 *
 * @param models - `[name, picture path relative to docs/ or null]` per model, teacher first
 * @example
 * ```ts
 * picturesTable([["math-teacher", "pictures/trajectory-math-teacher.svg"], ["math-jf", null]]);
 * // | math-teacher | math-jf |
 * // |---|---|
 * // | ![block 0 of math-teacher](pictures/trajectory-math-teacher.svg) | not shipped yet: rerun `npm run pictures` once `models/math-jf` lands |
 * ```
 */
export function picturesTable(models: readonly (readonly [string, string | null])[]): string {
  const cell = ([name, picture]: readonly [string, string | null]): string =>
    picture === null ? `not shipped yet: rerun \`npm run pictures\` once \`models/${name}\` lands` : `![block 0 of ${name}](${picture})`;
  return [`| ${models.map(([name]) => name).join(" | ")} |`, `|${models.map(() => "---|").join("")}`, `| ${models.map(cell).join(" | ")} |`].join("\n");
}

/**
 * Writes `docs/pictures/trajectory-<model>.svg` for the math teacher and, when it is there, the math
 * JF student, under `root`, and the table of `docs/ARCHITECTURE.md` that shows them; reports each file
 * written or skipped.
 *
 * @param root - the repository root (default: this checkout)
 * @returns the pictures written, relative to `root`
 * @throws Error when `docs/ARCHITECTURE.md` exists but has lost its markers
 * @example
 * ```ts
 * drawDocsPictures(io); // ["docs/pictures/trajectory-math-teacher.svg"] while models/math-jf is absent
 * ```
 */
export function drawDocsPictures(io: Io, root: string = packageRoot()): string[] {
  const math = SHIPPED_MODELS.find((t) => t.task === "math")!;
  const written: string[] = [];
  const columns: [string, string | null][] = [];
  for (const folder of [math.teacher, math.jf]) {
    const name = folder.split("/").pop()!;
    if (!shippedModelPresent(folder, root)) {
      io.out(`skipped ${name}: ${folder} has no model yet; rerun \`npm run pictures\` once it lands\n`);
      columns.push([name, null]);
      continue;
    }
    const { config, params, tokenizer } = loadCheckpoint(join(root, folder));
    const prompt = tokenizer!.encodePrompt(PROMPT);
    const { rows, result } = tracedJacobi(config, params, prompt, { maxNewTokens: 64, blockSize: BLOCK_SIZE });
    const file = join("docs", "pictures", `trajectory-${name}.svg`);
    const svg = traceSvg(rows.filter((r) => r.block === 0), tokenizer, {
      title: `${name}: block 0 of greedy Jacobi, n = ${BLOCK_SIZE}`,
      subtitle: `prompt 914+169⏎ · whole answer: ${traceSummary(result)}`,
    });
    writeFileAtomic(join(root, file), svg);
    written.push(file);
    columns.push([name, `pictures/trajectory-${name}.svg`]);
    io.out(`wrote ${file}: ${result.stats.iterationsPerBlock[0]} iterations for block 0\n`);
  }
  const doc = join(root, DOC);
  if (existsSync(doc)) {
    const text = readFileSync(doc, "utf8");
    const begin = text.indexOf(BEGIN);
    const end = text.indexOf(END);
    if (begin < 0 || end < begin) throw new Error(`pictures: ${DOC} has no ${BEGIN} ... ${END} markers`);
    const head = text.indexOf("\n", begin) + 1;
    writeFileAtomic(doc, text.slice(0, head) + picturesTable(columns) + "\n" + text.slice(end));
    io.out(`updated the table of ${DOC}\n`);
  }
  return written;
}

// ---------------------------------------------------------------- main

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  drawDocsPictures({ out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), isTTY: process.stdout.isTTY === true });
}
