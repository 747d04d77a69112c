/**
 * Entry of the self-contained bundle `dist/cli.mjs` (`npm run bundle`): the CLI for machines that have a
 * Node.js binary but no `node_modules` (the lent GPU machine runs it from the carried working tree).
 * In the main thread it runs the CLI; in a worker thread started by `spawnWorker` it runs that worker.
 *
 * What it is not: part of the CLI a user runs (`bin/jacobi-forcing.js` runs the sources through tsx).
 * It is the build entry of a copy for the project's own machines.
 *
 * @module
 */
import { isMainThread } from "node:worker_threads";
import { runFromProcess } from "../src/cli/main.ts";
import { workerMain as kernelWorker } from "../src/tensor/kernel-worker.ts";
import { workerMain as gradientWorker } from "../src/training/gradient-worker.ts";
import { registerBundledWorkers, runBundledWorker } from "../src/util/workers.ts";

registerBundledWorkers(new URL(import.meta.url), { "gradient-worker": gradientWorker, "kernel-worker": kernelWorker });
if (isMainThread) await runFromProcess();
else runBundledWorker();
