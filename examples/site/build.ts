/**
 * `npm run site`: writes the static site to `dist/site/`:
 *
 * ```text
 * index.html, style.css        the page (examples/site/)
 * page.js, decode-worker.js    its scripts, bundled by esbuild for the browser from the library's core
 *                              (tensor, model, decoding: no Node inside, spec/browser-core.spec.ts);
 * webgpu-worker.js             and the WebGPU backend's GPU worker, with the backend's few Node seams
 *                              (worker threads, Dawn) replaced by their browser equivalents (shims/)
 * models/                      the four shipped models (SHIPPED_MODELS) and index.json listing them
 * api/                         the API reference (typedoc), with the narrative docs of docs/ rendered
 *                              beside it in api/documents/, their links to each other pointing at the pages
 * ```
 *
 * `--out DIR` writes elsewhere; `--no-api` leaves out the API reference (the page spec's quick build).
 * Open it with `npm run site:serve` (a page's worker cannot start from a file:// URL).
 *
 * Run: npm run site
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { SHIPPED_MODELS } from "../../src/cli/shipped-models.ts";

const root = join(import.meta.dirname, "..", "..");
const here = import.meta.dirname;
/** The files of a model folder the page reads (a shipped folder also holds logs and loss curves: left out). */
const MODEL_FILES = ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];

/**
 * The WebGPU backend (`src/backend/webgpu/runner.ts`, `worker.ts`) runs in Node on worker threads and Dawn;
 * in the page, the same code runs on Web Workers and `navigator.gpu` through these stand-ins.
 */
const SHIMS: Record<string, string> = {
  "node:worker_threads": "worker-threads.ts", webgpu: "webgpu.ts", "node:path": "node-path.ts",
  "node:fs": "node-unavailable.ts", "node:url": "node-unavailable.ts",
};
const shims: Plugin = {
  name: "browser-shims",
  setup(b) {
    b.onResolve({ filter: /^(node:(worker_threads|path|fs|url)|webgpu)$/ }, (args) => ({ path: join(here, "shims", SHIMS[args.path]) }));
  },
};

/** Options of {@link buildSite}. */
export interface SiteOptions {
  /** The folder to write; default `dist/site`. Emptied first. */
  readonly out?: string;
  /** Run typedoc into `api/` (default true; about 20 s). */
  readonly api?: boolean;
}

/** Builds the site; returns the folder it wrote. */
export async function buildSite(options: SiteOptions = {}): Promise<string> {
  const out = resolve(options.out ?? join(root, "dist", "site"));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  await build({
    entryPoints: {
      page: join(here, "page.ts"), "decode-worker": join(here, "decode-worker.ts"),
      "webgpu-worker": join(root, "src", "backend", "webgpu", "webgpu-worker.ts"),
    },
    bundle: true, platform: "browser", format: "esm", target: "es2022", outdir: out, sourcemap: true, logLevel: "warning",
    plugins: [shims], external: ["esbuild"],               // the runner imports esbuild only to build its worker from sources
  });
  for (const file of ["index.html", "style.css"]) copyFileSync(join(here, file), join(out, file));

  const models = SHIPPED_MODELS.flatMap((t) => [t.teacher, t.jf]).map((folder) => {
    const name = basename(folder);
    mkdirSync(join(out, "models", name), { recursive: true });
    const files = MODEL_FILES.filter((file) => existsSync(join(root, folder, file)));
    for (const file of files) copyFileSync(join(root, folder, file), join(out, "models", name, file));
    return { name, files };
  });
  const tasks = SHIPPED_MODELS.map((t) => ({ task: t.task, teacher: basename(t.teacher), jf: basename(t.jf) }));
  writeFileSync(join(out, "models", "index.json"), JSON.stringify({ tasks, models }, null, 2) + "\n");

  if (options.api ?? true) {
    execFileSync(process.execPath, [join(root, "node_modules", "typedoc", "bin", "typedoc"), "--out", join(out, "api")], { cwd: root, stdio: "inherit" });
    linkDocuments(join(out, "api"));
  }
  return out;
}

/**
 * The narrative docs name each other in plain text and code (`jacobi.md`, `docs/ALGORITHM.md`); typedoc
 * renders a bare `x.md` as a link to the web site http://x.md. Point both at the rendered page.
 */
export function linkDocuments(api: string): void {
  const documents = readdirSync(join(api, "documents")).filter((f) => f.endsWith(".html")).map((f) => f.slice(0, -5));
  const pages = [join(api, "index.html"), ...documents.map((d) => join(api, "documents", `${d}.html`))];
  for (const page of pages) {
    const prefix = page === join(api, "index.html") ? "documents/" : "";
    let html = readFileSync(page, "utf8");
    for (const d of documents) {
      html = html.replaceAll(`href="http://${d}.md"`, `href="${prefix}${d}.html"`)
        .replace(new RegExp(`<code>((?:docs/)?${d.replace(/[.-]/g, "\\$&")}\\.md)</code>`, "g"), `<a href="${prefix}${d}.html"><code>$1</code></a>`);
    }
    writeFileSync(page, html);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--out");
  const out = await buildSite({ out: at >= 0 ? args[at + 1] : undefined, api: !args.includes("--no-api") });
  console.log(`site: wrote ${out}; open it with npm run site:serve`);
}
