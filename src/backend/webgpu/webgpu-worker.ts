/**
 * The entry point of the GPU worker thread's bundle: starts {@link workerMain}. A separate file so that
 * importing `worker.ts` (for its protocol constants) never starts a loop.
 *
 * @module
 */
import { workerMain } from "./worker.ts";

workerMain();
