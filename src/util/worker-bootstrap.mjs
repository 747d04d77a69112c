// The first file a development worker thread runs (see workers.ts): a worker does not inherit the main
// thread's TypeScript loader, so register tsx here, then import the worker module and run it.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const worker = await import(workerData.module);
worker.workerMain();
