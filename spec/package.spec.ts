/**
 * The npm package as a user gets it: `npm pack` once, the tarball installed into a fresh project once
 * (from the registry for its dependencies; optional packages left out), then every check on that one
 * install — the tarball's contents and size, publint and attw, each entry imported in plain Node (ESM
 * and `require`), the consumer type-checked with the package's own declarations, and the CLI run from
 * the install with no development tool in reach, writing nothing into it.
 *
 * dist/ is built by the global set-up (`spec/setup/build.ts`); the pack skips `prepack` so that it does
 * not rebuild dist/ under the specs that run beside this one.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHIPPED_MODELS } from "../src/cli/shipped-models.ts";
import { cli } from "./helpers/cli.ts";

const repo = join(import.meta.dirname, "..");
const bin = (name: string): string => join(repo, "node_modules", ".bin", name);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const work = mkdtempSync(join(tmpdir(), "jf-package-"));
const consumer = join(work, "consumer");
const installed = join(consumer, "node_modules", "jacobi-forcing");
const cache = join(work, "cache");
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a command to its end and returns its stdout; a non-zero exit fails with its stderr. */
const run = (command: string, args: readonly string[], cwd: string): string =>
  execFileSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: cache }, timeout: 300_000, stdio: ["ignore", "pipe", "pipe"] });

/** What `npm pack --json` says of the tarball. */
let packed: { filename: string; size: number; entryCount: number; files: { path: string }[] };

beforeAll(() => {
  [packed] = JSON.parse(run(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", work], repo));
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  run(npm, ["install", join(work, packed.filename), "--omit=optional", "--no-audit", "--no-fund"], consumer);
});

/** Every file under `dir` with its size and modification time, one per line, sorted. */
function listing(dir: string): string {
  const walk = (d: string): string[] => readdirSync(d).flatMap((name) => {
    const path = join(d, name);
    const s = statSync(path);
    return s.isDirectory() ? [`${relative(dir, path)}/`, ...walk(path)] : [`${relative(dir, path)} ${s.size} ${s.mtimeMs}`];
  });
  return walk(dir).sort().join("\n");
}

describe("the npm package, packed and installed into a fresh project", () => {
  it("the tarball holds dist/, src/, bin/, the corpus, README, LICENSE and the four shipped models' files, within 5 MiB", () => {
    const paths = packed.files.map((f) => f.path);
    const modelFiles = SHIPPED_MODELS.flatMap((t) => [t.teacher, t.jf])
      .flatMap((m) => ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"].map((f) => `${m}/${f}`))
      .concat(SHIPPED_MODELS.map((t) => `${t.jf}/loss.csv`));        // its consistency_loss column marks a JF student: --block-size auto
    const allowed = (p: string): boolean => /^(dist|src|bin)\//.test(p) || modelFiles.includes(p) ||
      ["corpus/typescript-lib.json.br", "README.md", "LICENSE", "package.json"].includes(p);
    expect(paths.filter((p) => !allowed(p))).toEqual([]);
    for (const p of [...modelFiles, "corpus/typescript-lib.json.br", "LICENSE", "README.md", "bin/jacobi-forcing.js", "dist/index.js",
      "dist/index.d.ts", "dist/index.d.ts.map", "dist/util/worker-bootstrap.mjs", "dist/node/kernel-worker.js",
      "dist/training/gradient-worker.js", "dist/backend/webgpu/webgpu-worker.js"]) expect(paths, p).toContain(p);
    console.log(`packed: ${packed.size} bytes, ${packed.entryCount} files`);
    expect(packed.size).toBeLessThanOrEqual(5 * 1024 * 1024);
  });

  it("publint (warnings as errors) and attw (the ESM-only profile: node16 from ESM, bundler) report no problems", () => {
    const tarball = join(work, packed.filename);
    expect(run(bin("publint"), ["run", tarball, "--strict"], repo)).toMatch(/All good!/);
    // attw's ESM-only profile leaves out node10 resolution and TypeScript's CommonJS view of require(ESM)
    // (attw exits non-zero on any other problem, which fails run)
    const attw = JSON.parse(run(bin("attw"), [tarball, "--profile", "esm-only", "--format", "json"], repo));
    const problems = Object.values(attw.problems as Record<string, { resolutionKind: string }[]>).flat();
    expect(problems.filter((p) => !["node10", "node16-cjs"].includes(p.resolutionKind))).toEqual([]);
    expect(Object.keys(attw.analysis.entrypoints)).toEqual([".", "./oracle", "./webgpu", "./package.json"]);
  });

  it("each entry imports in plain Node, as ESM and with require()", () => {
    writeFileSync(join(consumer, "esm.mjs"), [
      'import { CharTokenizer, jacobi, loadCheckpoint } from "jacobi-forcing";',
      'import { arGreedyReference, firstDifference } from "jacobi-forcing/oracle";',
      'import { webgpuRunner } from "jacobi-forcing/webgpu";',
      'const { config, params, tokenizer } = loadCheckpoint("node_modules/jacobi-forcing/models/math-teacher");',
      'const prompt = tokenizer.encodePrompt("914+169\\n");',
      "if (!(tokenizer instanceof CharTokenizer)) throw new Error(`the shipped tokenizer loads as ${tokenizer.constructor.name}`);",
      "const expected = arGreedyReference(config, params, prompt, { maxNewTokens: 16 }).tokens;",
      "console.log(firstDifference(expected, jacobi(config, params, prompt, { maxNewTokens: 16, blockSize: 8 }).tokens), expected.length);",
      "await webgpuRunner(config, params).catch((e) => console.log(e.name, e.message));",
    ].join("\n"));
    const [same, webgpu] = run(process.execPath, ["esm.mjs"], consumer).trim().split("\n");
    expect(same).toBe("null 16");
    // the optional package is not installed here: the GPU entry says which package to install, in one line
    expect(webgpu).toMatch(/^WebGpuUnavailableError .*the optional package "webgpu".*; install it with npm install webgpu$/);
    const script = 'for (const e of ["jacobi-forcing", "jacobi-forcing/oracle", "jacobi-forcing/webgpu"]) console.log(Object.keys(require(e)).length > 1);';
    // require() of an ES module: Node >= 20.19 (process.features.require_module); older Node refuses with ERR_REQUIRE_ESM
    if ((process.features as { require_module?: boolean }).require_module === true) {
      expect(run(process.execPath, ["--input-type=commonjs", "-e", script], consumer)).toBe("true\ntrue\ntrue\n");
    } else {
      expect(() => run(process.execPath, ["--input-type=commonjs", "-e", script], consumer)).toThrow(/ERR_REQUIRE_ESM/);
    }
  });

  it("the consumer type-checks, strict, under moduleResolution node16 and bundler, with the package's own declarations", async () => {
    writeFileSync(join(consumer, "consumer.ts"), [
      'import { jacobi, loadCheckpoint, type ModelConfig } from "jacobi-forcing";',
      'import { arGreedyReference, firstDifference, type TokenDifference } from "jacobi-forcing/oracle";',
      'import { webgpuRunner, type WebGpuRunner } from "jacobi-forcing/webgpu";',
      'const { config, params, tokenizer } = loadCheckpoint("node_modules/jacobi-forcing/models/math-teacher");',
      "const shape: ModelConfig = config;",
      'const prompt = tokenizer!.encodePrompt("914+169\\n");',
      "const expected: number[] = arGreedyReference(shape, params, prompt, { maxNewTokens: 16 }).tokens;",
      "export const diff: TokenDifference | null = firstDifference(expected, jacobi(config, params, prompt, { maxNewTokens: 16, blockSize: 8 }).tokens);",
      "export const runner: Promise<WebGpuRunner> = webgpuRunner(config, params);",
    ].join("\n"));
    // typescript is this repository's (the consumer has none); skipLibCheck off, so the declarations are checked too
    expect(() => createRequire(join(consumer, "x.js")).resolve("typescript")).toThrow();
    const configs = [["node16", "node16"], ["esnext", "bundler"]].map(([module, moduleResolution]) => {
      const file = join(consumer, `tsconfig.${moduleResolution}.json`);
      writeFileSync(file, JSON.stringify({
        compilerOptions: { module, moduleResolution, target: "es2022", strict: true, noEmit: true, skipLibCheck: false, types: ["node"], typeRoots: [join(repo, "node_modules", "@types")] },
        files: ["consumer.ts"],
      }));
      return file;
    });
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
    const results = await Promise.all(configs.map((c) => promisify(execFile)(process.execPath, [tsc, "-p", c], { cwd: consumer }).then(() => "", (e) => `${c}: ${e.stdout}`)));
    expect(results).toEqual(["", ""]);
  });

  it("the CLI runs from the install with no development tool in reach, and writes nothing into the install", async () => {
    for (const tool of ["tsx", "typescript", "esbuild", "vitest"]) expect(() => createRequire(join(consumer, "x.js")).resolve(tool), tool).toThrow();
    const before = listing(installed);
    const npx = (...args: string[]): string => run(npm, ["exec", "--no", "--", "jacobi-forcing", ...args], consumer);
    expect(npx("--version")).toBe(`${JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version}\n`);
    npx("init", "--preset", "tiny", "--seed", "3", "--out", join(work, "tiny"));
    const tiny = JSON.parse(npx("generate", "--model", join(work, "tiny"), "--prompt-ids", "1,40,41", "--max-new-tokens", "6", "--json"));
    const shipped = ["--model", join(installed, "models", "math-teacher"), "--prompt", "914+169\n", "--method", "jacobi", "--json"];
    const generated = JSON.parse(npx("generate", ...shipped));
    const fromSources = JSON.parse((await cli("generate", ...shipped)).out);           // this checkout's sources, in-process
    expect([generated.tokens, generated.text]).toEqual([fromSources.tokens, fromSources.text]);
    expect(tiny.tokens.length).toBe(6);
    // the demo reads the shipped models and the code corpus from the install
    const demo = npx("demo");
    expect(demo).toMatch(/code: 3 held-out TypeScript declaration prefixes/);
    expect(demo).not.toMatch(/DIFFERS/);
    expect(listing(installed)).toBe(before);
  });
});
