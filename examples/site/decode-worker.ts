/// <reference lib="dom" />
/**
 * The page's decoding worker: loads models (the site's shipped folders by fetch, or a folder the user
 * dropped, as bytes) with the library's own checks (`readCheckpoint`), and decodes on the pure-TypeScript
 * CPU core or on the WebGPU backend. It runs off the page's thread, so a long decode never freezes the page.
 *
 * WebGPU: the decoders are synchronous and a GPU answers through promises, so the backend's runner starts
 * a second worker that owns the GPU and blocks this one in `Atomics.wait` on shared memory until each
 * forward is done — the very runner the CLI uses, on Web Workers instead of Node's threads
 * (`shims/worker-threads.ts`). Shared memory needs a cross-origin isolated page (COOP and COEP headers,
 * which `npm run site:serve` sends).
 */
import { webgpuRunner } from "../../src/backend/webgpu/runner.ts";
import { readCheckpoint, type Checkpoint } from "../../src/model/checkpoint.ts";
import type { ModelRunner } from "../../src/model/runner.ts";
import { CheckpointError } from "../../src/model/safetensors.ts";
import { decode, traceJacobi } from "./decode.ts";
import type { Backend, ModelInfo, ModelSource, Reply, Request } from "./protocol.ts";

const models = new Map<string, Checkpoint>();
/** Each model's WebGPU runner, once started, with the adapter it runs on. */
const gpuRunners = new Map<string, { runner: ModelRunner; adapter: string }>();

/** The files of a shipped model, as `models/index.json` lists them. */
async function shippedFiles(name: string): Promise<Map<string, Uint8Array>> {
  const index = await (await fetch("models/index.json")).json() as { models: { name: string; files: string[] }[] };
  const entry = index.models.find((m) => m.name === name);
  if (entry === undefined) throw new Error(`no shipped model "${name}" (the site has ${index.models.map((m) => m.name).join(", ")})`);
  const files = await Promise.all(entry.files.map(async (file) => {
    const response = await fetch(`models/${name}/${file}`);
    if (!response.ok) throw new Error(`models/${name}/${file}: ${response.status} ${response.statusText}`);
    return [file, new Uint8Array(await response.arrayBuffer())] as const;
  }));
  return new Map(files);
}

async function load(source: ModelSource): Promise<ModelInfo> {
  const files = source.kind === "shipped" ? await shippedFiles(source.name)
    : new Map(Object.entries(source.files).map(([file, bytes]) => [file, new Uint8Array(bytes)]));
  const model = readCheckpoint({
    path: (file) => `${source.name}/${file}`,
    has: (file) => files.has(file),
    read: (file) => {
      const bytes = files.get(file);
      if (bytes === undefined) throw new CheckpointError(`${source.name}/${file}`, "cannot be read (it is not in the folder)");
      return bytes;
    },
  });
  models.set(source.name, model);
  gpuRunners.get(source.name)?.runner.close();          // a folder dropped again: its old weights' GPU runner goes
  gpuRunners.delete(source.name);
  const c = model.config;
  return { name: source.name, summary: `${c.architecture}: ${c.numLayers} layers, width ${c.hiddenSize}, ${c.numHeads} heads, vocabulary ${c.vocabSize}` };
}

function loaded(name: string): Checkpoint {
  const model = models.get(name);
  if (model === undefined) throw new Error(`model "${name}" is not loaded`);
  return model;
}

/** Starts the model's WebGPU backend (once); resolves to its adapter, or rejects saying why it cannot run. */
async function startGpu(name: string): Promise<string> {
  const known = gpuRunners.get(name);
  if (known !== undefined) return known.adapter;
  if (!crossOriginIsolated) throw new Error("the page is not cross-origin isolated (no COOP and COEP headers), so it cannot share memory with a GPU worker");
  const model = loaded(name);
  const runner = await webgpuRunner(model.config, model.params);
  gpuRunners.set(name, { runner, adapter: runner.adapter });
  return runner.adapter;
}

/** The runner of `backend` for a model; undefined for the CPU (the decoders' default). */
function runnerFor(name: string, backend: Backend): ModelRunner | undefined {
  if (backend === "cpu") return undefined;
  const gpu = gpuRunners.get(name);
  if (gpu === undefined) throw new Error(`model "${name}" has no WebGPU backend started`);
  return gpu.runner;
}

async function answer(request: Request): Promise<unknown> {
  if (request.type === "load") return load(request.model);
  if (request.type === "gpu") return startGpu(request.model);
  if (request.type === "decode") return decode(loaded(request.model), request.request, runnerFor(request.model, request.backend));
  return traceJacobi(loaded(request.model), request.request, runnerFor(request.model, request.backend));
}

self.addEventListener("message", (event: MessageEvent<Request>) => {
  const request = event.data;
  answer(request).then(
    (value) => self.postMessage({ id: request.id, ok: true, value } satisfies Reply),
    (error: unknown) => self.postMessage({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies Reply),
  );
});
