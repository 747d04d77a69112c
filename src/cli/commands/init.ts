/**
 * `jacobi-forcing init`: writes a randomly initialised checkpoint of a preset size.
 *
 * @module
 */
import { statSync } from "node:fs";
import { PRESETS, type PresetName } from "../../model/config.ts";
import { saveCheckpoint } from "../../node/checkpoint-folder.ts";
import { initParams } from "../../model/params.ts";
import { CharTokenizer } from "../../model/tokenizer.ts";
import { CliError, type Command } from "../args.ts";

/**
 * The `init` command, e.g. `jacobi-forcing init --preset tiny --seed 3 --out /tmp/tiny`.
 *
 * @category CLI
 */
export const initCommand: Command = {
  summary: "write a random checkpoint (config.json, model.safetensors, tokenizer.json)",
  flags: {
    preset: { type: "string", choices: Object.keys(PRESETS), default: "tiny", help: "model size" },
    seed: { type: "int", default: 0, help: "seed of the weights" },
    std: { type: "number", default: 0.02, positive: true, help: "standard deviation of the random weights" },
    out: { type: "string", help: "folder to write" },
  },
  run(flags, io) {
    if (statSync(flags.out as string, { throwIfNoEntry: false })?.isFile()) throw new CliError(`init: --out ${flags.out} is a file; it must be a folder`);
    const config = PRESETS[flags.preset as PresetName];
    const params = initParams(config, { seed: flags.seed as number, std: flags.std as number });
    saveCheckpoint(flags.out as string, { config, params, tokenizer: CharTokenizer.ascii() });
    io.out(`wrote ${flags.preset} model (seed ${flags.seed}) to ${flags.out}\n`);
  },
};
