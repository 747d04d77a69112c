import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { forward } from "../src/model/transformer.ts";
import { Rng } from "../src/tensor/random.ts";
import { arTargets, attentionMask, consistencyRows, packSequence, type BlockPair } from "../src/training/packing.ts";
import { blockTargets, noiseRatio, selectState, windowTargets } from "../src/training/noise-schedule.ts";
import { expectBitIdentical, tinyModelArb } from "./helpers/models.ts";

const tokenArb = fc.integer({ min: 0, max: 63 });
/** Random blocks of random lengths 1..5: a noisy state and a clean block of the same length. */
const blocksArb = fc.array(
  fc.integer({ min: 1, max: 5 }).chain((m) => fc.record({ noisy: fc.array(tokenArb, { minLength: m, maxLength: m }), clean: fc.array(tokenArb, { minLength: m, maxLength: m }) })),
  { minLength: 1, maxLength: 4 },
);

describe("packing", () => {
  it("has length P + 2·Σm and noisy_j / clean_j share positions", () => {
    fc.assert(fc.property(fc.array(tokenArb, { minLength: 1, maxLength: 6 }), blocksArb, (prompt, blocks) => {
      const p = packSequence(prompt, blocks);
      const total = blocks.reduce((s, b) => s + b.clean.length, 0);
      expect(p.tokens.length).toBe(prompt.length + 2 * total);
      expect(p.positions.length).toBe(p.tokens.length);
      let position = prompt.length;
      p.blocks.forEach((b, j) => {
        expect(p.tokens.slice(b.noisyStart, b.noisyStart + b.length)).toEqual(blocks[j].noisy);
        expect(p.tokens.slice(b.cleanStart, b.cleanStart + b.length)).toEqual(blocks[j].clean);
        for (let o = 0; o < b.length; o++) {
          expect(p.positions[b.noisyStart + o]).toBe(position + o);
          expect(p.positions[b.cleanStart + o]).toBe(position + o);
        }
        position += b.length;
      });
    }));
  });

  /** Logits rows of one packed forward vs a plain causal forward of the chain it should equal. */
  function checkChain(label: string, packedLogits: Float64Array, rows: number[], plain: Float64Array, plainRows: number[], V: number): void {
    rows.forEach((r, i) => expectBitIdentical(`${label}, packed row ${r}`, packedLogits.subarray(r * V, (r + 1) * V), plain.subarray(plainRows[i] * V, (plainRows[i] + 1) * V), V));
  }

  it("one forward under the noise-conditioned mask equals plain causal forwards of the clean and the noisy chains, bit for bit", () => {
    fc.assert(fc.property(tinyModelArb, fc.array(tokenArb, { minLength: 1, maxLength: 5 }), blocksArb, ({ config, params }, prompt, blocks) => {
      const p = packSequence(prompt, blocks);
      const logits = forward(config, params, p.tokens, { positions: p.positions, mask: attentionMask(p, "noise-conditioned") }).data;
      const V = config.vocabSize;
      const P = prompt.length;
      const cleanChain = forward(config, params, [...prompt, ...blocks.flatMap((b) => b.clean)]).data;
      const noisyChain = forward(config, params, [...prompt, ...blocks.flatMap((b) => b.noisy)]).data;
      checkChain("prompt", logits, [...Array(P).keys()], cleanChain, [...Array(P).keys()], V);
      p.blocks.forEach((b, j) => {
        const offset = b.position;
        const rows = (start: number) => Array.from({ length: b.length }, (_, o) => start + o);
        checkChain(`clean_${j}`, logits, rows(b.cleanStart), cleanChain, rows(offset), V);
        checkChain(`noisy_${j}`, logits, rows(b.noisyStart), noisyChain, rows(offset), V);
      });
    }), { numRuns: 25 });
  });

  it("under the clean-context mask noisy_j equals a plain forward of prompt ++ y*_<j ++ ỹ_j", () => {
    fc.assert(fc.property(tinyModelArb, fc.array(tokenArb, { minLength: 1, maxLength: 5 }), blocksArb, ({ config, params }, prompt, blocks) => {
      const p = packSequence(prompt, blocks);
      const logits = forward(config, params, p.tokens, { positions: p.positions, mask: attentionMask(p, "clean-context") }).data;
      const V = config.vocabSize;
      p.blocks.forEach((b, j) => {
        const chain = forward(config, params, [...prompt, ...blocks.slice(0, j).flatMap((x) => x.clean), ...blocks[j].noisy]).data;
        const rows = (start: number) => Array.from({ length: b.length }, (_, o) => start + o);
        checkChain(`noisy_${j}`, logits, rows(b.noisyStart), chain, rows(b.position), V);
      });
    }), { numRuns: 20 });
  });

  it("AR targets follow the clean chain across bridges and stop after EOS; consistency rows start at the first mismatch", () => {
    const blocks: BlockPair[] = [{ noisy: [5, 9, 9], clean: [5, 6, 7] }, { noisy: [8, 2], clean: [8, 2] }, { noisy: [4, 4], clean: [2, 3] }];
    const p = packSequence([1, 7], blocks);
    // rows: prompt 0-1, noisy_0 2-4, clean_0 5-7, noisy_1 8-9, clean_1 10-11, noisy_2 12-13, clean_2 14-15
    expect(Array.from(arTargets(p, null))).toEqual([7, 5, -1, -1, -1, 6, 7, 8, -1, -1, 2, 2, -1, -1, 3, -1]);
    expect(Array.from(arTargets(p, 2))).toEqual([7, 5, -1, -1, -1, 6, 7, 8, -1, -1, 2, -1, -1, -1, -1, -1]);
    expect(Array.from(arTargets(p, null, false))).toEqual([-1, 5, -1, -1, -1, 6, 7, 8, -1, -1, 2, 2, -1, -1, 3, -1]);
    expect(consistencyRows(p)).toEqual({ student: [3, 4, 12, 13], teacher: [6, 7, 14, 15], block: [0, 0, 2, 2] });
  });

  it("rejects blocks whose noisy and clean lengths differ", () => {
    expect(() => packSequence([1], [{ noisy: [1, 2], clean: [1] }])).toThrow(/block 0 has a noisy state of 2 tokens and a clean block of 1/);
  });
});

describe("the noise schedule", () => {
  it("window targets: the code's linspace and the paper's k/w", () => {
    expect(windowTargets(5, "linspace")).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(windowTargets(4, "paper")).toEqual([0, 0.25, 0.5, 0.75]);
    expect(windowTargets(1)).toEqual([0]);
    expect(() => windowTargets(0)).toThrow(/window must be a positive integer, got 0/);
  });

  it("progressive rises through each window, reverse falls, random draws from the window", () => {
    const rng = new Rng(1);
    expect(blockTargets(7, { window: 3 }, rng)).toEqual([0, 0.5, 1, 0, 0.5, 1, 0]);
    expect(blockTargets(4, { window: 3, strategy: "reverse" }, rng)).toEqual([1, 0.5, 0, 1]);
    const random = blockTargets(200, { window: 3, strategy: "random" }, rng);
    expect(new Set(random)).toEqual(new Set([0, 0.5, 1]));
    expect(blockTargets(50, { window: 4, strategy: "random" }, new Rng(5))).toEqual(blockTargets(50, { window: 4, strategy: "random" }, new Rng(5)));
    expect(() => blockTargets(1, { window: 2, strategy: "sideways" as never }, rng)).toThrow(/strategy must be one of/);
  });

  it("a random window phase shifts the progressive (and reverse) order by one draw per sequence, and reaches every phase", () => {
    const W = [0, 1 / 3, 2 / 3, 1];
    const firsts = new Set<number>();
    const rng = new Rng(2);
    for (let k = 0; k < 100; k++) {
      const t = blockTargets(6, { window: 4, windowPhase: "random" }, rng);
      const phase = W.indexOf(t[0]);
      expect(t).toEqual(Array.from({ length: 6 }, (_, b) => W[(b + phase) % 4]));
      firsts.add(t[0]);
      const r = blockTargets(5, { window: 4, windowPhase: "random", strategy: "reverse" }, rng);
      const rp = 3 - W.indexOf(r[0]);
      expect(r).toEqual(Array.from({ length: 5 }, (_, b) => W[3 - ((b + rp) % 4)]));
    }
    expect(firsts).toEqual(new Set(W));
    expect(() => blockTargets(1, { window: 2, windowPhase: "late" as never }, rng)).toThrow(/windowPhase must be one of zero, random, got "late"/);
  });

  it("noise ratio and the state closest to a target, ties to the noisier", () => {
    const y = [5, 6, 7, 8];
    expect(noiseRatio([5, 6, 9, 9], y)).toBe(0.5);
    expect(noiseRatio(y, y)).toBe(0);
    expect(noiseRatio([5, 0, 7, 8], y)).toBe(0.75);
    const states = [[5, 0, 0, 0], [5, 6, 0, 0], [5, 6, 7, 0], y]; // ratios 0.75, 0.5, 0.25, 0
    expect(selectState(states, y, 1)).toBe(0);
    expect(selectState(states, y, 0)).toBe(3);
    expect(selectState(states, y, 0.6)).toBe(1);
    expect(selectState(states, y, 0.375)).toBe(1); // equally close to 0.5 and 0.25: the noisier
    fc.assert(fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (t) => {
      const chosen = selectState(states, y, t);
      const best = Math.min(...states.map((s) => Math.abs(noiseRatio(s, y) - t)));
      expect(Math.abs(noiseRatio(states[chosen], y) - t)).toBe(best);
    }));
  });
});
