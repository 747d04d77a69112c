/**
 * The core runs anywhere: no file of src/tensor, src/model or src/decoding imports a Node built-in
 * (`node:fs`, `node:worker_threads`, ...), directly or through another module of the project — type-only
 * imports included, so the core type-checks without Node's types too. File access and worker threads
 * live in src/node/ and Node-only utilities; the CLI and training use them. Then esbuild bundles the
 * whole core for a browser (`platform: "browser"`) without an error or a warning: what the page does.
 *
 * And the layer rule's promise that training and decoding never meet holds through src/node/ too:
 * training reaches src/node/checkpoint-folder.ts, never a decoder behind it.
 */
import { build } from "esbuild";
import { builtinModules } from "node:module";
import { describe, expect, it } from "vitest";
import { importsOf, root, sourceFiles } from "./helpers/imports.ts";

const CORE = ["src/tensor", "src/model", "src/decoding"];

const isNodeBuiltin = (target: string): boolean => target.startsWith("node:") || builtinModules.includes(target);

/**
 * The first chain of imports from `file` that ends in a module `bad` accepts, as the list of modules
 * on it (`file` first), or null when there is none. `imports` gives a module's import targets.
 */
export function chainTo(file: string, imports: (file: string) => readonly string[], bad: (target: string) => boolean): string[] | null {
  const seen = new Set<string>();
  const visit = (at: string, path: string[]): string[] | null => {
    if (bad(at) && path.length > 0) return [...path, at];
    if (seen.has(at)) return null;
    seen.add(at);
    for (const next of imports(at)) {
      const found = visit(next, [...path, at]);
      if (found !== null) return found;
    }
    return null;
  };
  return visit(file, []);
}

const projectImports = (file: string): string[] => {
  if (!file.startsWith("src/")) return [];
  const { relative, bare } = importsOf(file);
  return [...relative, ...bare];
};

describe("the core needs no Node", () => {
  it("the chain finder finds a built-in two imports away, and nothing where there is none", () => {
    const toy: Record<string, string[]> = { a: ["b"], b: ["c", "node:fs"], c: [], d: ["c"] };
    expect(chainTo("a", (f) => toy[f] ?? [], isNodeBuiltin)).toEqual(["a", "b", "node:fs"]);
    expect(chainTo("d", (f) => toy[f] ?? [], isNodeBuiltin)).toBeNull();
  });

  for (const file of CORE.flatMap(sourceFiles)) {
    it(`${file} reaches no Node built-in`, () => {
      const chain = chainTo(file, projectImports, isNodeBuiltin);
      expect(chain, `${chain?.join(" imports ")}: a core module may not need Node; move the Node part to src/node/`).toBeNull();
    });
  }

  it("no file of src/training reaches src/decoding, nor one of src/decoding reaches src/training", () => {
    for (const [from, to] of [["src/training", "src/decoding/"], ["src/decoding", "src/training/"]]) {
      for (const file of sourceFiles(from)) {
        const chain = chainTo(file, projectImports, (target) => target.startsWith(to));
        expect(chain, `${chain?.join(" imports ")}`).toBeNull();
      }
    }
  });

  it("esbuild bundles every core module for a browser, without an error or a warning", async () => {
    const entry = CORE.flatMap(sourceFiles).map((file, i) => `export * as m${i} from "./${file}";`).join("\n");
    const result = await build({
      stdin: { contents: entry, resolveDir: root, loader: "ts" },
      bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.outputFiles[0].text).not.toMatch(/from\s*["']node:/);
  });
});
