/// <reference lib="dom" />
/**
 * `node:worker_threads` for the page's bundle: the part of Node's worker API that the WebGPU backend's
 * runner and GPU worker use (`src/backend/webgpu/runner.ts`, `worker.ts`), over a browser's Web Workers.
 * With it, the backend's own code runs in the page unchanged: the decode worker plays Node's main thread
 * (it may block in `Atomics.wait`, a page's main thread may not) and a second worker owns the GPU.
 */

type Listener = (value: never) => void;

/** Node's `Worker` as the runner uses it: post, listen for "message" and "error", terminate. */
export class Worker {
  private readonly worker: globalThis.Worker;

  constructor(url: URL) {
    this.worker = new globalThis.Worker(url, { type: "module" });
  }

  postMessage(message: unknown): void {
    this.worker.postMessage(message);
  }

  on(event: "message" | "error" | "exit", listener: Listener): this {
    return this.listen(event, listener, false);
  }

  once(event: "message" | "error" | "exit", listener: Listener): this {
    return this.listen(event, listener, true);
  }

  /** A Web Worker never keeps anything alive: nothing to do. */
  unref(): void {}

  async terminate(): Promise<number> {
    this.worker.terminate();
    return 0;
  }

  /** "message" gives the data, "error" an Error; a Web Worker has no "exit" event. */
  private listen(event: string, listener: Listener, once: boolean): this {
    const call = listener as (value: unknown) => void;
    if (event === "message") this.worker.addEventListener("message", (e) => call(e.data), { once });
    if (event === "error") this.worker.addEventListener("error", (e) => call(new Error(e.message)), { once });
    return this;
  }
}

/** In a worker: its port to whoever started it (Node's `parentPort`); elsewhere null. */
export const parentPort = typeof document === "undefined" && typeof self !== "undefined"
  ? {
    on(event: "message", listener: (data: never) => void): void {
      self.addEventListener(event, (e: MessageEvent) => (listener as (data: unknown) => void)(e.data));
    },
    postMessage(message: unknown): void {
      self.postMessage(message);
    },
  }
  : null;
