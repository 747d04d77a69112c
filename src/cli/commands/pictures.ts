/**
 * `jacobi-forcing pictures` (`npm run pictures`): redraws the trajectory pictures of the docs from the
 * shipped models — block 0 of one held-out math problem, decoded with greedy Jacobi (n = 16), once by
 * the AR teacher and once by its Jacobi Forcing student — into `docs/pictures/`. A student folder that
 * is not there yet is skipped, and the command says so; rerun it once the student lands, and the
 * picture of `docs/ARCHITECTURE.md` §5 gets its second panel.
 *
 * The models come from `SHIPPED_MODELS`, the drawing from `trace-svg.ts`: each picture is exactly what
 * `jacobi-forcing trace --model DIR --prompt-ids IDS --block 0 --svg FILE` writes.
 *
 * @module
 */
import { join } from "node:path";
import { loadCheckpoint } from "../../model/checkpoint.ts";
import { SPECIAL_TOKENS } from "../../model/tokenizer.ts";
import { writeFileAtomic } from "../../util/atomic-write.ts";
import type { Command, Io } from "../command.ts";
import { SHIPPED_MODELS, packageRoot, shippedModelPath, shippedModelPresent } from "../shipped-models.ts";
import { traceSvg } from "../trace-svg.ts";
import { tracedJacobi, traceSummary } from "./trace.ts";

/** The problem drawn: the first held-out problem of the demo (`mathEvalSet(3, 2025)[0]`). */
const PROMPT = "914+169\n";
/** n of the pictures: the demo's block size. */
const BLOCK_SIZE = 16;

/**
 * Writes `docs/pictures/trajectory-<model>.svg` for the math teacher and, when it is there, the math
 * JF student, under `root`; reports each file written or skipped.
 *
 * @param root - the repository root (default: this checkout)
 * @returns the paths written, relative to `root`
 * @example
 * ```ts
 * drawDocsPictures(io); // ["docs/pictures/trajectory-math-teacher.svg"] while models/math-jf is absent
 * ```
 * @category CLI
 */
export function drawDocsPictures(io: Io, root: string = packageRoot()): string[] {
  const math = SHIPPED_MODELS.find((t) => t.task === "math")!;
  const written: string[] = [];
  for (const folder of [math.teacher, math.jf]) {
    const name = folder.split("/").pop()!;
    if (!shippedModelPresent(folder, root)) {
      io.out(`skipped ${name}: ${folder} has no model yet; rerun \`npm run pictures\` once it lands\n`);
      continue;
    }
    const { config, params, tokenizer } = loadCheckpoint(shippedModelPath(folder, root));
    const prompt = [SPECIAL_TOKENS.bos, ...tokenizer!.encode(PROMPT)];
    const { rows, result } = tracedJacobi(config, params, prompt, { maxNewTokens: 64, blockSize: BLOCK_SIZE });
    const file = join("docs", "pictures", `trajectory-${name}.svg`);
    const svg = traceSvg(rows.filter((r) => r.block === 0), tokenizer, {
      title: `${name}: block 0 of greedy Jacobi, n = ${BLOCK_SIZE}`,
      subtitle: `prompt 914+169⏎ · whole answer: ${traceSummary(result)}`,
    });
    writeFileAtomic(join(root, file), svg);
    written.push(file);
    io.out(`wrote ${file}: ${result.stats.iterationsPerBlock[0]} iterations for block 0\n`);
  }
  return written;
}

/**
 * The `pictures` command.
 *
 * @example
 * ```ts
 * // npm run pictures
 * // wrote docs/pictures/trajectory-math-teacher.svg: 15 iterations for block 0
 * ```
 * @category CLI
 */
export const picturesCommand: Command = {
  summary: "redraw the trajectory pictures of the docs (docs/pictures/) from the shipped models",
  flags: {},
  run: (_flags, io) => { drawDocsPictures(io); },
};
