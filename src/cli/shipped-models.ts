/**
 * The models this repository ships, in one place: for each task the AR teacher trained from scratch and
 * the Jacobi Forcing (JF) student distilled from it. `npm start` (the `demo` command) and the script
 * that redraws the pictures of the docs (`npm run pictures`, `bench/pictures.ts`) read the folders from {@link SHIPPED_MODELS}
 * and nowhere else, so moving or adding a model is a one-line change here.
 *
 * A student folder may be missing (the JF models are trained after the teachers and land later): callers
 * ask {@link shippedModelPresent} and say what they skip. A folder that is there but broken is an error,
 * never a silent skip.
 *
 * What this is not: a model registry or a download step. The folders are plain checkpoints that every
 * command loads with `--model DIR`.
 *
 * Read next: `commands/demo.ts`, which runs every shipped model side by side.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * One task's shipped models, as folders relative to the repository root.
 *
 * @category CLI
 */
export interface ShippedTask {
  /** The dataset the models were trained on (`math` or `code`), as `--data` names it. */
  readonly task: "math" | "code";
  /** The AR teacher: trained with next-token cross-entropy only; always shipped. */
  readonly teacher: string;
  /** The Jacobi Forcing student distilled from the teacher; may be absent until it is trained. */
  readonly jf: string;
}

/**
 * The shipped model folders: the one constant every caller reads them from.
 *
 * @category CLI
 */
export const SHIPPED_MODELS: readonly ShippedTask[] = [
  { task: "math", teacher: "models/math-teacher", jf: "models/math-jf" },
  { task: "code", teacher: "models/code-teacher", jf: "models/code-jf" },
];

/**
 * The package's root folder: the repository, or the package's folder in an install. This module sits two
 * folders below it both as a source (`src/cli/`) and as built JavaScript (`dist/cli/`), whatever the
 * current directory.
 *
 * @example
 * ```ts
 * existsSync(join(packageRoot(), "models", "math-teacher")); // true
 * ```
 * @category CLI
 */
export function packageRoot(): string {
  return fileURLToPath(new URL("../..", import.meta.url));
}

/**
 * Whether a shipped model folder holds a model (its `model.safetensors`). A folder that holds one but
 * is broken is reported by `loadCheckpoint` when it is loaded, not hidden here.
 *
 * @param root - the folder `folder` is relative to; default {@link packageRoot} (specs pass another)
 * @example
 * ```ts
 * shippedModelPresent("models/math-teacher"); // true
 * shippedModelPresent("models/math-jf");      // false until the JF model lands
 * ```
 * @category CLI
 */
export function shippedModelPresent(folder: string, root: string = packageRoot()): boolean {
  return existsSync(join(root, folder, "model.safetensors"));
}
