/**
 * The messages between the page and its decoding worker. Every request carries an id; the worker answers
 * each with `{id, ok: true, value}` or `{id, ok: false, error}`, the error's message in one line.
 */
import type { DecodeRequest, Decoded, TracedRow } from "./decode.ts";

/** Where a model comes from: a shipped folder of the site, or files a user dropped (bytes by file name). */
export type ModelSource =
  | { readonly kind: "shipped"; readonly name: string }
  | { readonly kind: "dropped"; readonly name: string; readonly files: Readonly<Record<string, ArrayBuffer>> };

/** A model as the page describes it once loaded. */
export interface ModelInfo {
  /** Its name: the folder's. */
  readonly name: string;
  /** The Hugging Face architecture and sizes, in one line. */
  readonly summary: string;
}

/** The backend a decode runs on: the CPU core, or the WebGPU backend once `gpu` has started it for the model. */
export type Backend = "cpu" | "webgpu";

/** What the page asks. */
export type Request =
  | { readonly id: number; readonly type: "load"; readonly model: ModelSource }
  | { readonly id: number; readonly type: "gpu"; readonly model: string }
  | { readonly id: number; readonly type: "decode"; readonly model: string; readonly backend: Backend; readonly request: DecodeRequest }
  | { readonly id: number; readonly type: "trace"; readonly model: string; readonly backend: Backend; readonly request: Omit<DecodeRequest, "method"> };

/** What each request type answers. */
export interface Answers {
  /** The loaded model. */
  readonly load: ModelInfo;
  /** The GPU adapter the model's WebGPU backend runs on. */
  readonly gpu: string;
  /** The decode. */
  readonly decode: Decoded;
  /** Every Jacobi iteration. */
  readonly trace: TracedRow[];
}

/** The worker's answer to request `id`. */
export type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: string };
