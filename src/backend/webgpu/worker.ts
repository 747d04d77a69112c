/**
 * The GPU worker thread: owns the WebGPU device and the {@link GpuModel}, and answers the main thread.
 *
 * Why a thread: WebGPU returns results through promises (a buffer read-back resolves later, in this
 * thread's event loop), while the decoders call `forward` synchronously. The main thread posts a
 * request and blocks in `Atomics.wait` on a shared flag; this thread runs the request, writes the answer
 * into shared memory and wakes it (`runner.ts`). Requests are handled one at a time, in order.
 *
 * Protocol: `init` is answered by a message (the main thread awaits it: the worker may fail to start);
 * every later request but the posted ones ({@link POSTED_OPS}) by {@link writeAnswer}: a status, a JSON
 * text, and for `forward` the token ids. Big results (logits, cache rows) go into a SharedArrayBuffer the
 * request brings.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import type { ModelConfig } from "../../model/config.ts";
import { filesReader } from "./folder.ts";
import { GpuModel, weightReader, type GpuForwardInput, type GpuModelOptions, type WeightSource } from "./gpu-model.ts";

// ---------------------------------------------------------------- the shared answer buffer

/**
 * Layout of the answer buffer: [flag, status, text bytes, id count] as int32, then the JSON text, then the ids.
 *
 * @category WebGPU
 */
export const ANSWER = {
  /** Int32 slot the main thread waits on: 0 pending, 1 answered. */
  flag: 0,
  /** Int32 slot: 0 ok, 1 error (the text is the message). */
  status: 1,
  /** Int32 slot: bytes of JSON text. */
  textBytes: 2,
  /** Int32 slot: number of token ids. */
  idCount: 3,
  /** Byte offset of the JSON text. */
  textOffset: 16,
  /** Bytes kept for the JSON text. */
  textCapacity: 1 << 16,
  /** Byte offset of the ids (int32), after the text. */
  idsOffset: 16 + (1 << 16),
} as const;

/**
 * Bytes of an answer buffer for forwards of up to `rows` tokens.
 *
 * @example
 * ```ts
 * answerBytes(2048); // 73744
 * ```
 * @category WebGPU
 */
export function answerBytes(rows: number): number {
  return ANSWER.idsOffset + 4 * rows;
}

/**
 * Writes an answer and wakes the main thread.
 *
 * @example
 * ```ts
 * writeAnswer(shared, { status: 0, json: null, ids: Int32Array.of(47, 83) }); // wakes the main thread with two token ids
 * ```
 * @category WebGPU
 */
export function writeAnswer(shared: SharedArrayBuffer, reply: Reply): void {
  const header = new Int32Array(shared, 0, 4);
  const text = new TextEncoder().encode(JSON.stringify(reply.json ?? null)).subarray(0, ANSWER.textCapacity);
  new Uint8Array(shared, ANSWER.textOffset, ANSWER.textCapacity).set(text);
  if (reply.ids !== null) new Int32Array(shared, ANSWER.idsOffset, reply.ids.length).set(reply.ids);
  header[ANSWER.status] = reply.status;
  header[ANSWER.textBytes] = text.length;
  header[ANSWER.idCount] = reply.ids?.length ?? 0;
  Atomics.store(header, ANSWER.flag, 1);
  Atomics.notify(header, ANSWER.flag);
}

// ---------------------------------------------------------------- requests

/**
 * What the main thread asks: `op` names a {@link GpuModel} method, the other fields are its arguments
 * (see there). `init` also brings the answer buffer; `logits` and `readCache` bring a buffer for the result.
 *
 * @category WebGPU
 */
export interface Request {
  /** Which operation. */
  readonly op: "init" | "forward" | "logits" | "newCache" | "free" | "keepRows" | "readCache" | "close";
  /** init: the model's blueprint. */
  readonly config?: ModelConfig;
  /** init: where its weights come from. */
  readonly weights?: WeightSource;
  /** init: the model's options (tiles, cache pool, buffer size), and the Dawn toggles to enable (e.g. `disable_robustness`). */
  readonly options?: GpuModelOptions & { readonly dawnToggles?: readonly string[] };
  /** init: the shared buffer every answer is written to. */
  readonly answer?: SharedArrayBuffer;
  /** forward: the inputs. */
  readonly input?: GpuForwardInput;
  /** The cache operated on. */
  readonly cache?: number;
  /** newCache: tokens in the first forward after the prompt (`NewCacheOptions.firstStep`). */
  readonly firstStep?: number;
  /** logits, readCache: how many rows (tokens). */
  readonly rows?: number;
  /** logits, readCache: where the float32 result goes. */
  readonly out?: SharedArrayBuffer;
  /** keepRows: rows kept in place. */
  readonly length?: number;
  /** keepRows: first row moved. */
  readonly from?: number;
  /** keepRows: rows moved. */
  readonly count?: number;
  /** readCache: which layer. */
  readonly layer?: number;
}

/**
 * The requests the main thread posts without waiting for an answer: they carry no result, and the worker
 * runs them in order with the rest, so the next request sees their effect.
 *
 * @category WebGPU
 */
export const POSTED_OPS: ReadonlySet<Request["op"]> = new Set(["free", "keepRows"]);

/**
 * A device opened by {@link openDevice}.
 *
 * @category WebGPU
 */
export interface OpenedDevice {
  /** Dawn's instance: it lives only while referenced, so keep it as long as the device. */
  readonly gpu: GPU;
  /** The device. */
  readonly device: GPUDevice;
  /** The adapter's vendor, architecture and driver. */
  readonly adapter: string;
}

/**
 * Opens Dawn's GPU (with the Dawn `toggles` enabled) and a device of its high-performance adapter with
 * the adapter's largest buffers and workgroup memory: what the worker runs a model on, and what a
 * benchmark opens to time kernels on a device of its own (`bench/gpu-probe.ts`).
 *
 * @returns the opened device — or, as a string, why WebGPU cannot run, in words a user can act on
 * @example
 * ```ts
 * const opened = await openDevice(["disable_robustness"]);
 * if (typeof opened === "string") throw new Error(opened); // "Dawn found no GPU adapter (...)" on a machine without Vulkan
 * ```
 * @category WebGPU
 */
export async function openDevice(toggles: readonly string[]): Promise<OpenedDevice | string> {
  let webgpu: { create(options: string[]): GPU };
  try {
    webgpu = await import("webgpu");
  } catch (error) {
    return `the optional package "webgpu" (Dawn for Node) could not be loaded (${(error as Error).message.split("\n")[0]}); install it with npm install webgpu`;
  }
  const gpu = webgpu.create(toggles.length > 0 ? [`enable-dawn-features=${toggles.join(",")}`] : []);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) {
    return "Dawn found no GPU adapter (no Vulkan driver with a device; on a CPU-only machine point VK_ICD_FILENAMES at SwiftShader's ICD, see docs/webgpu.md)";
  }
  const { maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupStorageSize } = adapter.limits;
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupStorageSize } });
  const info = adapter.info;
  return { gpu, device, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim() };
}

/**
 * The worker's main loop: handles requests one after another.
 *
 * @example
 * ```ts
 * workerMain(); // what webgpu-worker.ts, the worker thread's entry point, does
 * ```
 * @category WebGPU
 */
export function workerMain(): void {
  const port = parentPort;
  if (port === null) throw new Error("workerMain: not in a worker thread");
  let model: GpuModel | null = null;
  let device: GPUDevice | null = null;
  let gpu: GPU | null = null;                                 // Dawn's instance lives only while referenced
  let answer: SharedArrayBuffer | null = null;
  let queue = Promise.resolve();

  const answerFor = answering(async (request) => {
    const r = request as Required<Request>;                   // each op reads only the fields it is sent with
    if (r.op === "init") {
      answer = r.answer;
      const opened = await openDevice(r.options.dawnToggles ?? []);
      if (typeof opened === "string") throw new Error(opened);
      ({ gpu, device } = opened);
      model = await GpuModel.create(device, r.config, r.weights.kind === "files" ? filesReader(r.weights) : weightReader(r.weights), r.options);
      return { json: { adapter: opened.adapter, weightBytes: model.weightBytes } };
    }
    if (model === null) throw new Error(`GPU worker: "${r.op}" before a successful init`);
    switch (r.op) {
      case "forward": {
        const ids = await model.forward(r.input);
        return { json: model.lastTiming, ids };
      }
      case "logits": new Float32Array(r.out).set(await model.readLogits(r.rows)); break;
      case "newCache": return { json: model.newCache(r.firstStep) };
      case "free": model.freeCache(r.cache); break;
      case "keepRows": model.keepRows(r.cache, r.length, r.from, r.count); break;
      case "readCache": new Float32Array(r.out).set(await model.readCache(r.cache, r.layer, r.rows)); break;
      case "close": device?.destroy(); model = null; gpu = null; break;
    }
    return { json: null };
  });
  port.on("message", (request: Request) => {
    queue = queue.then(async () => {
      const reply = await answerFor(request);
      if (request.op === "init") port.postMessage(reply);                // the main thread awaits init, it does not block
      else if (reply !== null && answer !== null) writeAnswer(answer, reply);
    });
  });
}

/**
 * What the worker writes back for one request.
 *
 * @category WebGPU
 */
export interface Reply {
  /** 0: the request ran; 1: it failed. */
  readonly status: 0 | 1;
  /** The result (status 0) or the error message (status 1). */
  readonly json: unknown;
  /** A forward's greedy token ids, or null. */
  readonly ids: Int32Array | null;
}

/**
 * Wraps the worker's request handler with the rules of answering, requests taken one at a time in
 * arrival order. An answered request gets its result, or its error as status 1. A posted request
 * ({@link POSTED_OPS}: nobody waits) gets no reply, whatever the handler returned; if it fails, the next
 * answered request fails with its message instead of running (the cache may be in a bad state) —
 * except `close`, which always runs.
 *
 * @example
 * ```ts
 * const answerFor = answering(handle);
 * await answerFor({ op: "keepRows", cache: 1, length: 0, from: 2, count: 1 }); // null: posted
 * ```
 * @category WebGPU
 */
export function answering(handle: (request: Request) => Promise<{ json: unknown; ids?: Int32Array }>): (request: Request) => Promise<Reply | null> {
  let postedFailure: string | null = null;
  return async (request) => {
    const posted = POSTED_OPS.has(request.op);
    try {
      if (!posted && request.op !== "close" && postedFailure !== null) {
        const failure = postedFailure;
        postedFailure = null;
        throw new Error(failure);
      }
      const result = await handle(request);
      return posted ? null : { status: 0, json: result.json, ids: result.ids ?? null };
    } catch (error) {
      if (posted) {
        postedFailure ??= `GPU worker: an earlier "${request.op}" failed: ${(error as Error).message}`;
        return null;
      }
      return { status: 1, json: (error as Error).message, ids: null };
    }
  };
}
