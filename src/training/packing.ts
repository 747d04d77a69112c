/**
 * Noise-conditioned sequence packing: one training sequence per prompt that holds, for every block, a
 * noisy trajectory state next to its clean fixed point — and the attention mask that lets ONE forward
 * compute the teacher (clean) and student (noisy) predictions of every block.
 *
 * ```text
 * tokens     prompt | noisy_0 | clean_0 | noisy_1 | clean_1 | ... | noisy_T-1 | clean_T-1
 * positions  0..P-1 | P+0..   | P+0..   | P+n..   | P+n..   |     (noisy_j and clean_j SHARE positions)
 * ```
 *
 * Masks (query row → keys it may see; within a block, causal):
 * - `noise-conditioned` (the released recipe, default): noisy_j sees the prompt, noisy_<j and noisy_j;
 *   clean_j sees the prompt, clean_<j and clean_j. Noisy never sees clean, clean never sees noisy: the
 *   clean chain is an ordinary causal LM over the AR output, the noisy chain one over the noisy blocks.
 * - `clean-context` (the CLLM-style baseline, paper Fig. 2a): noisy_j sees the prompt, clean_<j and
 *   noisy_j; clean_j as above.
 *
 * Because the kernels are batch-invariant and visit visible keys in ascending order, the logits at
 * clean_j are bit-identical to a plain causal forward of `prompt ++ y*_0 .. y*_j`, and those at noisy_j
 * to one of `prompt ++ ỹ_0 .. ỹ_j` at the same positions — the specs check exactly that.
 *
 * Paper: §3.1 Fig. 2, App. C Fig. 6; public code: `complete_training_sequence_ids`, `traj_position_indices`.
 *
 * Read next: `jacobi-forcing.ts`, which reads these rows.
 *
 * @module
 */
import { commonPrefixLength } from "../util/sequences.ts";
import { isEos, type Eos } from "../model/config.ts";

// ---------------------------------------------------------------- the packed sequence

/**
 * Lays out `prompt ++ noisy_0 ++ clean_0 ++ ... ++ noisy_{T-1} ++ clean_{T-1}` with shared positions.
 *
 * @example
 * ```ts
 * const p = packSequence([1, 7], [{ noisy: [9, 9], clean: [5, 6] }]);
 * p.tokens;    // [1, 7, 9, 9, 5, 6]
 * p.positions; // [0, 1, 2, 3, 2, 3]
 * ```
 * @category Jacobi Forcing
 */
export function packSequence(prompt: readonly number[], blocks: readonly BlockPair[]): PackedSequence {
  if (prompt.length === 0) throw new PackingError("packSequence: the prompt must hold at least one token");
  const tokens = [...prompt];
  const positions = prompt.map((_, i) => i);
  const packed: PackedBlock[] = [];
  let position = prompt.length;
  blocks.forEach(({ noisy, clean }, j) => {
    if (noisy.length !== clean.length || clean.length === 0) {
      throw new PackingError(`packSequence: block ${j} has a noisy state of ${noisy.length} tokens and a clean block of ${clean.length}; they must be equal and non-zero`);
    }
    const m = clean.length;
    const noisyStart = tokens.length;
    tokens.push(...noisy);
    const cleanStart = tokens.length;
    tokens.push(...clean);
    for (let copy = 0; copy < 2; copy++) for (let o = 0; o < m; o++) positions.push(position + o);
    packed.push({ noisyStart, cleanStart, length: m, position });
    position += m;
  });
  return { tokens, positions, promptLength: prompt.length, blocks: packed };
}

// ---------------------------------------------------------------- the masks

/**
 * The `[L, L]` visibility mask of a packed sequence (1 = query row may attend to key column).
 *
 * @example
 * ```ts
 * const mask = attentionMask(packSequence([1], [{ noisy: [9], clean: [5] }]), "noise-conditioned");
 * // rows: prompt [1 0 0], noisy_0 [1 1 0], clean_0 [1 0 1]
 * ```
 * @category Jacobi Forcing
 */
export function attentionMask(packed: PackedSequence, kind: MaskKind): Uint8Array {
  if (!MASK_KINDS.includes(kind)) throw new PackingError(`attentionMask: kind must be one of ${MASK_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
  const L = packed.tokens.length;
  const P = packed.promptLength;
  const mask = new Uint8Array(L * L);
  const allow = (row: number, from: number, to: number) => mask.fill(1, row * L + from, row * L + to);
  for (let i = 0; i < P; i++) allow(i, 0, i + 1);                          // the prompt: causal
  packed.blocks.forEach((block, j) => {
    for (let o = 0; o < block.length; o++) {
      const noisyRow = block.noisyStart + o;
      const cleanRow = block.cleanStart + o;
      allow(noisyRow, 0, P);
      allow(cleanRow, 0, P);
      for (let k = 0; k < j; k++) {
        const earlier = packed.blocks[k];
        const source = kind === "noise-conditioned" ? earlier.noisyStart : earlier.cleanStart;
        allow(noisyRow, source, source + earlier.length);                  // noisy_<j, or clean_<j for the baseline
        allow(cleanRow, earlier.cleanStart, earlier.cleanStart + earlier.length); // clean_<j
      }
      allow(noisyRow, block.noisyStart, noisyRow + 1);                      // noisy_j up to the query
      allow(cleanRow, block.cleanStart, cleanRow + 1);                      // clean_j up to the query
    }
  });
  return mask;
}

// ---------------------------------------------------------------- rows the losses read

/**
 * Next-token targets of the clean chain for the AR loss: row i of `prompt ++ clean_0 ++ clean_1 ...`
 * predicts the chain's next token (through the prompt, inside clean blocks, and across the bridges
 * between them); every other row, the chain's last row and rows after an EOS get `-1` (ignored).
 * With `promptRows` false the rows inside the prompt are ignored too (only the last prompt row, which
 * predicts the first output token, is trained).
 *
 * @example
 * ```ts
 * arTargets(packSequence([1, 7], [{ noisy: [9, 9], clean: [5, 6] }]), 2); // [7, 5, -1, -1, 6, -1]
 * ```
 * @category Jacobi Forcing
 */
export function arTargets(packed: PackedSequence, eosTokenId: Eos, promptRows = true): Int32Array {
  const targets = new Int32Array(packed.tokens.length).fill(-1);
  const chain: number[] = [];                                               // row indices of the clean chain, in order
  for (let i = 0; i < packed.promptLength; i++) chain.push(i);
  for (const b of packed.blocks) for (let o = 0; o < b.length; o++) chain.push(b.cleanStart + o);
  const first = promptRows ? 0 : packed.promptLength - 1;                  // the last prompt row predicts the first output token
  for (let c = first; c + 1 < chain.length; c++) {
    if (c >= packed.promptLength && isEos(eosTokenId, packed.tokens[chain[c]])) break; // stop after EOS
    targets[chain[c]] = packed.tokens[chain[c + 1]];
  }
  return targets;
}

/**
 * For each block j, positions `o` from `firstMismatch(noisy_j, clean_j)` to `m-1`: the noisy row
 * `noisyStart + o` (student) is trained towards the clean row `cleanStart + o` (teacher). Positions
 * before the first mismatch are already right and add nothing; a block whose noisy state equals its
 * clean one contributes no pair.
 *
 * @example
 * ```ts
 * consistencyRows(packSequence([1], [{ noisy: [5, 9, 9], clean: [5, 6, 7] }]));
 * // { student: [2, 3], teacher: [5, 6], block: [0, 0] }
 * ```
 * @category Jacobi Forcing
 */
export function consistencyRows(packed: PackedSequence): ConsistencyRows {
  const rows: ConsistencyRows = { student: [], teacher: [], block: [] };
  const t = packed.tokens;
  packed.blocks.forEach((b, j) => {
    const noisy = t.slice(b.noisyStart, b.noisyStart + b.length);
    const clean = t.slice(b.cleanStart, b.cleanStart + b.length);
    for (let o = commonPrefixLength(noisy, clean); o < b.length; o++) {     // from the first mismatch on
      rows.student.push(b.noisyStart + o);
      rows.teacher.push(b.cleanStart + o);
      rows.block.push(j);
    }
  });
  return rows;
}

// ---------------------------------------------------------------- types and errors

/**
 * A noisy state and the clean block it should agree with: `{ noisy: [5, 9, 9], clean: [5, 6, 7] }` is a
 * state that converged as far as index 1, and y*.
 *
 * @category Jacobi Forcing
 */
export interface BlockPair {
  /** [m] the trajectory state chosen by the noise schedule. */
  readonly noisy: readonly number[];
  /** [m] the fixed point y* of the same block (the AR output). */
  readonly clean: readonly number[];
}

/**
 * Where one block's two copies sit in a {@link PackedSequence}: the one block of
 * `packSequence([1, 7], [{ noisy: [9, 9], clean: [5, 6] }])` is
 * `{ noisyStart: 2, cleanStart: 4, length: 2, position: 2 }`.
 *
 * @category Jacobi Forcing
 */
export interface PackedBlock {
  /** Index of noisy_j's first token in the packed sequence. */
  readonly noisyStart: number;
  /** Index of clean_j's first token in the packed sequence. */
  readonly cleanStart: number;
  /** m, the block's length (n, or less for a final block cut by EOS or the budget). */
  readonly length: number;
  /** Position of the block's first token (shared by both copies). */
  readonly position: number;
}

/**
 * A packed training sequence ({@link packSequence}).
 *
 * @category Jacobi Forcing
 */
export interface PackedSequence {
  /** [P + 2Σm] token ids. */
  readonly tokens: number[];
  /** [P + 2Σm] RoPE positions; noisy_j and clean_j share theirs. */
  readonly positions: number[];
  /** P, the prompt length. */
  readonly promptLength: number;
  /** The blocks in order. */
  readonly blocks: readonly PackedBlock[];
}

/**
 * Which attention mask to train with: `noise-conditioned` (the default) or `clean-context` (the
 * CLLM-style ablation).
 *
 * @category Jacobi Forcing
 */
export type MaskKind = "noise-conditioned" | "clean-context";

/**
 * All mask kinds, for option checking.
 *
 * @category Jacobi Forcing
 */
export const MASK_KINDS: readonly MaskKind[] = ["noise-conditioned", "clean-context"];

/**
 * Row pairs for the consistency loss ({@link consistencyRows}).
 *
 * @category Jacobi Forcing
 */
export interface ConsistencyRows {
  /** Rows of noisy tokens: the student predictions. */
  readonly student: number[];
  /** Matching rows of clean tokens: the (stop-gradient) teacher predictions. */
  readonly teacher: number[];
  /** Block index of each pair. */
  readonly block: number[];
}

/**
 * Thrown for blocks that cannot be packed.
 *
 * @example
 * ```ts
 * packSequence([1], [{ noisy: [9], clean: [5, 6] }]);
 * // throws PackingError: packSequence: block 0 has a noisy state of 1 tokens and a clean block of 2; they must be equal and non-zero
 * ```
 * @category Jacobi Forcing
 */
export class PackingError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "PackingError";
}
