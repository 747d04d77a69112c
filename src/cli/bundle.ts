/**
 * Entry of the self-contained bundle `dist/cli.mjs` (`npm run bundle`): the CLI for machines that have a
 * Node.js binary but no `node_modules` (the lent GPU machine runs it from the carried working tree).
 * In the main thread it runs the CLI; in a worker thread started by `spawnWorker` it runs that worker.
 *
 * @module
 */
import { isMainThread } from "node:worker_threads";
import { workerMain as kernelWorker } from "../tensor/kernel-worker.ts";
import { workerMain as gradientWorker } from "../training/gradient-worker.ts";
import { registerBundledWorkers, runBundledWorker } from "../util/workers.ts";
import { runFromProcess } from "./main.ts";

registerBundledWorkers(new URL(import.meta.url), { "gradient-worker": gradientWorker, "kernel-worker": kernelWorker });
if (isMainThread) await runFromProcess();
else runBundledWorker();
