/**
 * The layer rule of the codebase: imports only go downward,
 * tensor <- model <- backend | decoding | training <- cli, and decoding and training never import each other
 * (trajectories cross between them as plain data). src/node/ holds what needs Node (files on disk, worker
 * threads) for the layers below it, which run anywhere (spec/browser-core.spec.ts); training and the
 * CLI use it. Above src/ sit the examples (the library only), the
 * benchmarks (the library and the CLI's argument parser) and the experiments (anything but the specs).
 * Nothing below imports what sits above it, and no file imports itself through a chain of others.
 * A new folder must be placed here explicitly.
 */
import { describe, expect, it } from "vitest";
import { importsOf, sourceFiles } from "./helpers/imports.ts";

const LIBRARY = ["util", "tensor", "model", "backend", "data", "decoding", "training", "evaluation", "node", "src/oracle.ts", "src/index.ts", "src/webgpu.ts"];

/** Which places a file of each place may import (a place: a folder of src/, a root file of src/, or a top folder). */
const ALLOWED: Record<string, readonly string[]> = {
  util: ["util"],
  tensor: ["tensor", "util"],
  model: ["model", "tensor", "util"],
  // a backend runs the model (it implements model/runner.ts); decoders reach it only through that interface
  backend: ["backend", "model", "tensor", "util"],
  data: ["data", "model", "tensor", "util"],
  decoding: ["decoding", "model", "tensor", "util"],
  // Node's side of the layers below: checkpoint folders, trajectory files, kernel worker threads
  node: ["node", "decoding", "model", "tensor", "util"],
  // training saves and resumes checkpoint folders (node/checkpoint-folder.ts, which reaches no decoder)
  training: ["training", "data", "model", "tensor", "util", "node"],
  // task evaluations take the decoder as a function, so they import neither decoding nor training
  evaluation: ["evaluation", "data", "model", "tensor", "util"],
  // the library's entry files gather the layers for users
  "src/oracle.ts": LIBRARY,
  "src/index.ts": LIBRARY,
  "src/webgpu.ts": LIBRARY,
  cli: ["cli", ...LIBRARY],
  // a user's story: the library, as an installed package would give it
  examples: ["examples", ...LIBRARY],
  // the page (npm run site): the library, and the CLI's trace rows and marks (one rule for the text trace,
  // the picture and the page) and its list of shipped models
  "examples/site": ["examples/site", "cli", ...LIBRARY],
  // the benchmarks a user runs: the library, and the CLI's flags and model loading
  bench: ["bench", "cli", ...LIBRARY],
  // scratch space: may reach into anything but the specs
  "bench/experiments": ["bench/experiments", "bench", "cli", ...LIBRARY],
};

/** The place a repository path belongs to, or null outside src/, bench/ and examples/. */
function placeOf(rel: string): string | null {
  const parts = rel.split("/");
  if (parts[0] === "src") return parts.length === 2 ? rel : parts[1];
  if (parts[0] === "bench") return parts[1] === "experiments" && parts.length > 2 ? "bench/experiments" : "bench";
  if (parts[0] === "examples") return parts[1] === "site" && parts.length > 2 ? "examples/site" : "examples";
  return null;
}

const sources = ["src", "bench", "examples"].flatMap(sourceFiles);
const graph = new Map(sources.map((rel) => [rel, importsOf(rel).relative]));

describe("layers: imports only go downward", () => {
  for (const [rel, targets] of graph) {
    it(rel, () => {
      const place = placeOf(rel)!;
      expect(ALLOWED[place], `${rel}: place ${place} has no entry in the layer rule of spec/layers.spec.ts`).toBeDefined();
      for (const target of targets) {
        const to = placeOf(target);
        expect(to === null ? "" : ALLOWED[place], `${rel} imports ${target}, outside src/, bench/ and examples/`).not.toBe("");
        expect(ALLOWED[place], `${rel} imports ${target} (${to}), which ${place} may not import`).toContain(to);
      }
    });
  }
});

/** Strongly connected components of more than one file (Tarjan): each is an import cycle. */
function cycles(edges: Map<string, readonly string[]>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe("layers: no import cycles", () => {
  it("src/, bench/ and examples/ import without a cycle (type-only imports included)", () => {
    expect(cycles(graph), "each list is a set of files that import each other in a circle").toEqual([]);
  });

  it("the cycle finder finds a cycle", () => {
    const toy = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
    expect(cycles(toy)).toEqual([["a", "b", "c"]]);
  });
});
