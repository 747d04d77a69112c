import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layer rule of the codebase: imports only go downward,
 * tensor <- model <- backend | decoding | training <- cli, and decoding and training never import each other
 * (trajectories cross between them as plain data). Nothing in src/ reaches outside it (bench/ sits above
 * the CLI and may import it, never the reverse). A new folder must be placed here explicitly.
 */
const ALLOWED: Record<string, readonly string[]> = {
  util: ["util"],
  tensor: ["tensor", "util"],
  model: ["model", "tensor", "util"],
  // a backend runs the model (it implements model/runner.ts); decoders reach it only through that interface
  backend: ["backend", "model", "tensor", "util"],
  data: ["data", "model", "tensor", "util"],
  decoding: ["decoding", "model", "tensor", "util"],
  training: ["training", "data", "model", "tensor", "util"],
  // task evaluations take the decoder as a function, so they import neither decoding nor training
  evaluation: ["evaluation", "data", "model", "tensor", "util"],
  cli: ["cli", "evaluation", "decoding", "training", "data", "model", "tensor", "backend", "util"],
};

const src = join(import.meta.dirname, "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("layers: imports only go downward", () => {
  for (const file of files(src)) {
    const rel = relative(src, file);
    const layer = rel.includes("/") ? rel.split("/")[0] : "root";
    it(rel, () => {
      if (layer === "root") return; // top-level entry files (e.g. index, oracle) may import any layer
      expect(ALLOWED[layer], `folder src/${layer} has no place in the layer rule of spec/layers.spec.ts`).toBeDefined();
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+["']([^"']+)["']/gm)) {
        const target = m[1];
        if (!target.startsWith(".")) continue; // packages
        const to = relative(src, join(file, "..", target));
        const toLayer = to.startsWith("../") ? to.split("/").slice(0, 2).join("/") : to.split("/")[0];
        expect(ALLOWED[layer], `${rel} imports ${target} (layer ${toLayer}), which ${layer} may not import`).toContain(toLayer);
      }
    });
  }
});
