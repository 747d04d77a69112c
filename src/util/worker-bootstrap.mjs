// The first file a worker thread runs (see workers.ts): a worker does not inherit the main thread's
// TypeScript loader, so a TypeScript worker module registers tsx here first (a development dependency:
// the built package's workers are JavaScript); then import the worker module and run it.
import { workerData } from "node:worker_threads";

if (workerData.module.endsWith(".ts")) (await import("tsx/esm/api")).register();
const worker = await import(workerData.module);
worker.workerMain();
