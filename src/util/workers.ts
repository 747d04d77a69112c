/**
 * Starting worker threads that run TypeScript modules, the same way in development and in a bundle.
 *
 * A `worker_threads` Worker is a fresh JavaScript realm: it does not inherit the tsx loader that
 * `bin/jacobi-forcing.js` (or vitest) installed in the main thread, so `new Worker("x.ts")` fails. Two
 * ways of running are supported:
 *
 * - **Development** (tsx, vitest): the worker starts `worker-bootstrap.mjs`, a plain JavaScript file that
 *   registers tsx and then imports the worker module by URL and calls its `workerMain()`.
 * - **Bundle** (`npm run bundle`: one self-contained `dist/cli.mjs`, used on machines without
 *   `node_modules`): the bundle's entry calls {@link registerBundledWorkers} with its own URL and the
 *   worker mains it contains; a worker then starts the bundle itself, whose entry sees it is not the
 *   main thread and runs {@link runBundledWorker}.
 *
 * A worker module exports `workerMain(): void` and reads its start-up data from `workerData.data`.
 *
 * @module
 */
import { basename } from "node:path";
import { Worker, workerData } from "node:worker_threads";

/** Set by {@link registerBundledWorkers} when this process runs from a bundle. */
let bundle: { readonly url: URL; readonly mains: Readonly<Record<string, () => void>> } | null = null;

/**
 * Declares that this process runs from a bundle: workers start `bundleUrl` and run the main registered
 * under their module's file name (without extension).
 *
 * @example
 * ```ts
 * registerBundledWorkers(new URL(import.meta.url), { "gradient-worker": gradientWorkerMain });
 * ```
 * @category Utilities
 */
export function registerBundledWorkers(bundleUrl: URL, mains: Readonly<Record<string, () => void>>): void {
  bundle = { url: bundleUrl, mains };
}

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
  if (bundle !== null) {
    const key = basename(moduleUrl.pathname).replace(/\.[^.]*$/, "");   // the file name without extension
    if (!(key in bundle.mains)) throw new Error(`spawnWorker: the bundle registers no worker named ${JSON.stringify(key)}`);
    return new Worker(bundle.url, { workerData: { bundledWorker: key, data } });
  }
  return new Worker(new URL("./worker-bootstrap.mjs", import.meta.url), { workerData: { module: moduleUrl.href, data } });
}

/**
 * In a worker started from the bundle: runs the registered main the worker was started for.
 *
 * @throws Error when this thread was not started by {@link spawnWorker} from a bundle
 * @example
 * ```ts
 * // the bundle's entry, in a worker thread:
 * if (!isMainThread) runBundledWorker();
 * ```
 * @category Utilities
 */
export function runBundledWorker(): void {
  const key = (workerData as { bundledWorker?: string } | null)?.bundledWorker;
  const main = key === undefined ? undefined : bundle?.mains[key];
  if (main === undefined) throw new Error(`runBundledWorker: no registered worker named ${JSON.stringify(key)}`);
  main();
}
