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
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

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
 * The repository root: the nearest folder at or above this file that holds this package's
 * `package.json`. Found by walking up, so it is right both from `src/cli/` (tsx) and from `dist/` (the
 * esbuild bundle), whatever the current directory.
 *
 * @throws Error when no folder above holds the package (the file was copied out of the repository)
 * @example
 * ```ts
 * existsSync(join(packageRoot(), "models", "math-teacher")); // true
 * ```
 * @category CLI
 */
export function packageRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "jacobi-forcing") return dir;
    if (dirname(dir) === dir) throw new Error(`packageRoot: no package.json of jacobi-forcing at or above ${import.meta.dirname}`);
  }
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
