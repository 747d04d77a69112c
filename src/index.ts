/**
 * `jacobi-forcing`: the library as one import — tensors, the model and its checkpoints, the decoders,
 * datasets, training and evaluation. Two entries sit beside it: `jacobi-forcing/oracle` (the reference
 * functions to test another implementation against, `docs/oracle.md`) and `jacobi-forcing/webgpu` (the
 * GPU backend; it needs the optional package `webgpu`).
 *
 * ```ts
 * import { jacobi, loadCheckpoint } from "jacobi-forcing";
 * ```
 * Left out: the gradient workers and the CLI's progress line and loss plot (`src/` has them, for
 * reading); the CLI itself is `npx jacobi-forcing`.
 *
 * @module jacobi-forcing
 */

// tensors: Float64 tensors, operations with their gradients, losses, seeded randomness, the kernels
// beside their reference twins, the kernel threads
export * from "./tensor/tensor.ts";
export * from "./tensor/ops.ts";
export * from "./tensor/autograd.ts";
export * from "./tensor/losses.ts";
export * from "./tensor/random.ts";
export * from "./tensor/kernels.ts";
export * from "./tensor/threads.ts";

// the model: config and presets, weights, the forward, KV cache, runners, checkpoints, tokenizer
export * from "./model/config.ts";
export * from "./model/params.ts";
export * from "./model/transformer.ts";
export * from "./model/rope.ts";
export * from "./model/cache.ts";
export * from "./model/runner.ts";
export * from "./model/checkpoint.ts";
export * from "./model/safetensors.ts";
export * from "./model/tokenizer.ts";
export * from "./model/hf-tokenizer.ts";

// decoders: the acceptance rule, AR greedy, Jacobi, multi-block with rejection recycling, sampling,
// trajectories, block-size choice, draft initialisation, candidate pools
export * from "./decoding/acceptance.ts";
export * from "./decoding/greedy.ts";
export * from "./decoding/jacobi.ts";
export * from "./decoding/multiblock.ts";
export * from "./decoding/sampling.ts";
export * from "./decoding/types.ts";
export * from "./decoding/trajectory.ts";
export * from "./decoding/block-size.ts";
export * from "./decoding/draft.ts";
export * from "./decoding/recycling.ts";

// datasets: synthetic arithmetic, the pinned code corpus, any UTF-8 file
export * from "./data/dataset.ts";
export * from "./data/math.ts";
export * from "./data/text.ts";

// training: the Jacobi Forcing objective, its noise schedule and packing, AdamW, the resumable trainer
// and its run folder, distillation
export * from "./training/jacobi-forcing.ts";
export * from "./training/noise-schedule.ts";
export * from "./training/packing.ts";
export * from "./training/optimizer.ts";
export * from "./training/trainer.ts";
export * from "./training/distill.ts";
export * from "./training/distill-loss.ts";
export * from "./training/state.ts";

// evaluation: task metrics with the decoder passed in
export * from "./evaluation/tasks.ts";

// Node only: checkpoint folders and trajectory files on disk, kernel threads on worker threads (the
// layers above run anywhere: a page bundles them for the browser)
export * from "./node/checkpoint-folder.ts";
export * from "./node/trajectory-file.ts";
export * from "./node/kernel-threads.ts";
