/**
 * `npm run site:serve`: serves `dist/site/` (written by `npm run site`) on http://127.0.0.1:8080/, or
 * `--port N` (0: any free port) and `--dir DIR`. A small static file server, nothing more; the page spec
 * starts it too.
 *
 * It sends the cross-origin isolation headers (COOP and COEP), under which a page may share memory with
 * its workers (SharedArrayBuffer): what a page needs to wait on a GPU worker from a synchronous decoder.
 *
 * Run: npm run site:serve
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png", ".map": "application/json",
  ".safetensors": "application/octet-stream", ".md": "text/plain; charset=utf-8", ".jinja": "text/plain; charset=utf-8",
};

/** A running server: its URL, ending in "/", and how to stop it. */
export interface SiteServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the files of `dir` on `host`:`port` (0: a free port). */
export function serveSite(dir: string, port = 8080, host = "127.0.0.1"): Promise<SiteServer> {
  const base = resolve(dir);
  const server: Server = createServer((request, response) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    } catch {
      response.writeHead(400, { "content-type": "text/plain" }).end("bad request: the path is not valid percent-encoding\n");
      return;
    }
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + "/")) { response.writeHead(403).end(); return; }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) { response.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}\n`); return; }
    response.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cache-control": "no-cache",
    });
    createReadStream(file).on("error", () => response.destroy()).pipe(response);
  });
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const { port: bound } = server.address() as AddressInfo;
      done({ url: `http://${host}:${bound}/`, close: () => new Promise((closed) => server.close(() => closed())) });
    });
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const dir = flag("--dir") ?? join(import.meta.dirname, "..", "..", "dist", "site");
  if (!existsSync(join(dir, "index.html"))) {
    console.error(`site:serve: ${dir} has no index.html; build it first with npm run site`);
    process.exit(1);
  }
  const server = await serveSite(dir, Number(flag("--port") ?? 8080));
  console.log(`site: serving ${dir} at ${server.url} (Ctrl-C stops)`);
}
