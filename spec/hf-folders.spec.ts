/**
 * Folders written by Hugging Face transformers itself (spec/fixtures/hf/make.py, run once on a machine
 * that has torch and transformers; the outputs are committed beside the folders, so no Python is needed
 * here). For each folder, what transformers computed in float64 from the very files on disk:
 * - logits of a few prompts, which ours must match within 1e-5 relative to the largest — transformers
 *   computes RMSNorm and the rotary angles in float32 even in a float64 model, so bit equality is not
 *   the claim; the differences are of float32's size;
 * - 48-token greedy continuations, which AR, Jacobi and multi-block must equal token for token.
 * The tokenizer's ids, decoded text and chat template are checked in spec/hf-tokenizer.spec.ts.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { forward } from "../src/model/transformer.ts";

/** What make.py records for one prompt. */
interface ExpectedPrompt {
  readonly text: string;
  readonly ids: number[];
  readonly logitRows: number[];
  readonly logits: number[][];
  readonly greedy: number[];
  readonly smallestMargin: number;
}

const FIXTURES = join(import.meta.dirname, "fixtures", "hf");
const FOLDERS = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

it("the fixture folders are all there", () => {
  expect(FOLDERS).toEqual(["llama-f16-llama3", "llama-f32-yarn", "mistral-f32", "qwen2-bf16-tied-sharded", "qwen3-bf16"]);
});

describe.each(FOLDERS)("%s, as transformers wrote it", (name) => {
  const dir = join(FIXTURES, name);
  const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as { prompts: ExpectedPrompt[] };
  const { config, params } = loadCheckpoint(dir);

  it("logits of every prompt within 1e-5 of transformers' float64 ones, relative to the largest", () => {
    for (const p of expected.prompts) {
      const logits = forward(config, params, p.ids);
      const V = config.vocabSize;
      p.logitRows.forEach((row, r) => {
        const want = p.logits[r];
        const largest = Math.max(...want.map(Math.abs));
        const worst = Math.max(...want.map((w, v) => Math.abs(logits.data[row * V + v] - w)));
        expect(worst / largest, `${JSON.stringify(p.text)} row ${row}`).toBeLessThan(1e-5);
      });
    }
  });

  it("AR, Jacobi and multi-block give transformers' 48-token greedy continuation", () => {
    for (const p of expected.prompts) {
      const stop = { maxNewTokens: p.greedy.length, eosTokenId: null };
      expect(arGreedy(config, params, p.ids, stop).tokens, `AR after ${JSON.stringify(p.text)}`).toEqual(p.greedy);
      expect(jacobi(config, params, p.ids, { ...stop, blockSize: 8 }).tokens, "Jacobi").toEqual(p.greedy);
      expect(multiBlock(config, params, p.ids, { ...stop, blockSize: 8, maxBlocks: 2 }).tokens, "multi-block").toEqual(p.greedy);
    }
  });
});
