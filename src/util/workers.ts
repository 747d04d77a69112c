/**
 * Starting worker threads that run this project's modules, from the TypeScript sources or the build.
 *
 * A `worker_threads` Worker is a fresh JavaScript realm: it does not inherit the tsx loader that vitest
 * (or `npx tsx`) installed in the main thread, so `new Worker("x.ts")` fails. Every worker therefore
 * starts `worker-bootstrap.mjs`, a plain JavaScript file that registers tsx when the module is
 * TypeScript, then imports the worker module by URL and calls its `workerMain()`. In the built package
 * (`npm run build`: `dist/`, JavaScript beside this file) a caller's `x.ts` is the compiled `x.js`.
 *
 * A worker module exports `workerMain(): void` and reads its start-up data from `workerData.data`.
 *
 * @module
 */
import { Worker } from "node:worker_threads";

/**
 * Starts a worker thread running the `workerMain` of the module at `moduleUrl`, with `data` as its
 * start-up data (structured-cloned; SharedArrayBuffers are shared, not copied).
 *
 * @param moduleUrl - the worker module, e.g. `new URL("./gradient-worker.ts", import.meta.url)`
 * @example
 * ```ts
 * const worker = spawnWorker(new URL("./gradient-worker.ts", import.meta.url), { config });
 * worker.postMessage({ type: "step" });
 * ```
 * @category Utilities
 */
export function spawnWorker(moduleUrl: URL, data: unknown): Worker {
  const built = !import.meta.url.endsWith(".ts");                     // running dist/*.js: the worker is compiled too
  const module = built ? moduleUrl.href.replace(/\.ts$/, ".js") : moduleUrl.href;
  return new Worker(new URL("./worker-bootstrap.mjs", import.meta.url), { workerData: { module, data } });
}
