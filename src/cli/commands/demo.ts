/**
 * `jacobi-forcing demo` (what `npm start` runs): initialises the `small` model with a fixed seed and
 * generates a few tokens with AR greedy, saying what it does at each step.
 *
 * @module
 */
import { arGreedy, arGreedyReference } from "../../decoding/greedy.ts";
import { PRESETS } from "../../model/config.ts";
import { initParams } from "../../model/params.ts";
import { CharTokenizer, SPECIAL_TOKENS } from "../../model/tokenizer.ts";
import type { Command } from "../command.ts";

/** The `demo` command. @category CLI */
export const demoCommand: Command = {
  summary: "a short demonstration on the random small model",
  flags: {},
  run(_flags, io) {
    const config = PRESETS.small;
    io.out(`1. Initialise the 'small' model (${config.numLayers} layers, width ${config.hiddenSize}, ` +
      `${config.numHeads} heads / ${config.numKeyValueHeads} KV heads, vocab ${config.vocabSize}) with seed 0.\n`);
    const params = initParams(config, { seed: 0, std: 0.1 });
    const tokenizer = CharTokenizer.ascii();
    const text = "Jacobi";
    const prompt = [SPECIAL_TOKENS.bos, ...tokenizer.encode(text)];
    io.out(`2. Encode the prompt ${JSON.stringify(text)} as BOS + characters: [${prompt.join(", ")}].\n`);
    io.out("   (EOS is ignored here so that the random model writes all 24 tokens.)\n");
    const t0 = performance.now();
    const fast = arGreedy(config, params, prompt, { maxNewTokens: 24, eosTokenId: null });
    const ms = performance.now() - t0;
    io.out(`3. AR greedy with a KV cache: ${fast.stats.committedTokens} tokens in ${fast.stats.forwards} decode forwards ` +
      `(+1 prefill), ${ms.toFixed(0)} ms.\n   tokens: [${fast.tokens.join(", ")}]\n   text:   ${JSON.stringify(tokenizer.decode(fast.tokens))}\n`);
    const reference = arGreedyReference(config, params, prompt, { maxNewTokens: 24, eosTokenId: null });
    const same = reference.tokens.length === fast.tokens.length && reference.tokens.every((t, i) => t === fast.tokens[i]);
    io.out(`4. The oracle (full recompute at every step, no cache) gives ${same ? "the identical" : "a DIFFERENT"} output.\n`);
    io.out("   The weights are random, so the text is noise: the trained models and the Jacobi speedup come with later work.\n");
    if (!same) throw new Error("demo: cached AR greedy differs from the reference — a bug");
  },
};
