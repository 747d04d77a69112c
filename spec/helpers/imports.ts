/**
 * The project's import graph as the layer and core specs read it: source files, and each file's import
 * targets (static, dynamic, side-effect and type-only), relative ones as repository paths.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

/** The repository's root. */
export const root = join(import.meta.dirname, "..", "..");

/** The .ts, .mts and .mjs files under `dir`, as repository paths. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mts|mjs)$/.test(e.name) ? [join(dir, e.name)] : []);
}

const cache = new Map<string, { relative: string[]; bare: string[] }>();

/** What repository file `file` imports: `relative` ones as repository paths, `bare` ones (packages, Node built-ins) as written. */
export function importsOf(file: string): { readonly relative: string[]; readonly bare: string[] } {
  let found = cache.get(file);
  if (found === undefined) {
    const text = readFileSync(join(root, file), "utf8");
    const targets = [
      ...[...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]),
      ...[...text.matchAll(/^\s*import\s+["']([^"']+)["']/gm)].map((m) => m[1]),
      ...[...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]),
    ];
    found = {
      relative: targets.filter((t) => t.startsWith(".")).map((t) => relative(root, join(root, dirname(file), t))),
      bare: targets.filter((t) => !t.startsWith(".")),
    };
    cache.set(file, found);
  }
  return found;
}
