/**
 * `jacobi-forcing logits`: prints the next-token logits of a sequence, so any outside implementation
 * can be compared with ours on the same checkpoint.
 *
 * @module
 */
import { loadCheckpoint } from "../../node/checkpoint-folder.ts";
import { forward } from "../../model/transformer.ts";
import { argmax } from "../../tensor/ops.ts";
import { parseIds, type Command } from "../args.ts";

/**
 * The `logits` command, e.g. `jacobi-forcing logits --model models/math-teacher --prompt-ids 1,16,8 --json`.
 *
 * @category CLI
 */
export const logitsCommand: Command = {
  summary: "print the [T][V] logits of a causal forward over the given token ids",
  flags: {
    model: { type: "string", help: "checkpoint folder" },
    "prompt-ids": { type: "string", help: "comma-separated token ids, e.g. 1,40,41" },
    json: { type: "boolean", help: "print the logits as a JSON array [T][V] (full float64 precision)" },
  },
  run(flags, io) {
    const { config, params } = loadCheckpoint(flags.model as string);
    const ids = parseIds("logits", "prompt-ids", flags["prompt-ids"] as string);
    const logits = forward(config, params, ids);
    if (flags.json) {
      io.out(JSON.stringify(logits.toNested()) + "\n");
      return;
    }
    const greedy = argmax(logits);
    io.out(`logits [${logits.shape.join(", ")}]; greedy next token per position: ${Array.from(greedy).join(",")}\n`);
  },
};
