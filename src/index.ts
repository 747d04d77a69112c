/**
 * `jacobi-forcing`: the library — tensors, the model and its checkpoints, the decoders, training and
 * evaluation — as one import. Two more entries sit beside it: `jacobi-forcing/oracle` (the reference
 * functions to test another implementation against, `docs/oracle.md`) and `jacobi-forcing/webgpu` (the
 * GPU backend, which needs the optional package `webgpu`).
 *
 * ```ts
 * import { jacobi, loadCheckpoint } from "jacobi-forcing";
 * ```
 * The worker threads' entry files, the training progress line and the loss plot are the CLI's and
 * internals, not exported here; the CLI itself is `npx jacobi-forcing`.
 *
 * @module jacobi-forcing
 */

// tensors: Float64 tensors, autograd, kernels, seeded randomness, the kernel threads
export * from "./tensor/autograd.ts";
export * from "./tensor/kernels.ts";
export * from "./tensor/losses.ts";
export * from "./tensor/ops.ts";
export * from "./tensor/random.ts";
export * from "./tensor/tensor.ts";
export * from "./tensor/threads.ts";

// the model: config and presets, weights, the forward, KV cache, runners, tokenizer, checkpoints
export * from "./model/cache.ts";
export * from "./model/checkpoint.ts";
export * from "./model/config.ts";
export * from "./model/params.ts";
export * from "./model/runner.ts";
export * from "./model/safetensors.ts";
export * from "./model/tokenizer.ts";
export * from "./model/transformer.ts";

// decoders: AR greedy, Jacobi, multi-block with rejection recycling, sampling, block-size choice
export * from "./decoding/acceptance.ts";
export * from "./decoding/block-size.ts";
export * from "./decoding/draft.ts";
export * from "./decoding/greedy.ts";
export * from "./decoding/jacobi-reference.ts";
export * from "./decoding/jacobi.ts";
export * from "./decoding/multiblock.ts";
export * from "./decoding/recycling.ts";
export * from "./decoding/sampling.ts";
export * from "./decoding/trajectory.ts";
export * from "./decoding/types.ts";

// datasets: synthetic arithmetic, the pinned code corpus, any UTF-8 file
export * from "./data/dataset.ts";
export * from "./data/math.ts";
export * from "./data/text.ts";

// training: the Jacobi Forcing objective, AdamW, the resumable trainer, distillation
export * from "./training/distill-loss.ts";
export * from "./training/distill.ts";
export * from "./training/jacobi-forcing.ts";
export * from "./training/noise-schedule.ts";
export * from "./training/optimizer.ts";
export * from "./training/packing.ts";
export * from "./training/state.ts";
export * from "./training/trainer.ts";

// evaluation: task metrics with the decoder passed in
export * from "./evaluation/tasks.ts";
