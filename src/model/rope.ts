/**
 * Rotary position embedding's frequencies: one inverse frequency per pair of a head's D dimensions,
 * rescaled for a longer context as the config's `ropeScaling` says — exactly as Hugging Face
 * transformers computes them (`modeling_rope_utils.py`), in float64.
 *
 * Position p turns pair j of every query and key head by the angle `p * inverse[j]`; YaRN also scales
 * the rotated vectors (cos and sin) by `scale`. Without scaling, `inverse[j] = theta^(-2j/D)`: the first
 * pairs turn fast (short wavelengths, local order), the last ones slowly (long wavelengths, far context).
 * The scalings slow the long-wavelength pairs down so that positions past the trained context look like
 * ones the model has seen:
 *
 * - `linear`: every frequency divided by `factor`.
 * - `llama3`: wavelengths longer than `originalMaxPositions / lowFreqFactor` divided by `factor`, those
 *   shorter than `originalMaxPositions / highFreqFactor` kept, a linear blend (in 1/wavelength) between.
 * - `yarn`: by the number of turns a pair makes over the original context, pairs that turn more than
 *   `betaFast` times are kept, fewer than `betaSlow` divided by `factor`, a linear ramp over the pair
 *   index between; cos and sin are scaled by `attentionFactor`.
 *
 * Read next: `transformer.ts`, where q and k are rotated.
 *
 * @module
 */
import { headDim, type ModelConfig } from "./config.ts";

/**
 * The rotary frequencies of a config.
 *
 * @category Model
 */
export interface RopeFrequencies {
  /** [D/2] inverse frequency of each pair: position p turns pair j by `p * inverse[j]` radians. */
  readonly inverse: Float64Array;
  /** Factor on cos and sin (YaRN's attention factor; 1 otherwise). */
  readonly scale: number;
}

/**
 * The inverse frequencies and cos/sin scale of `config`'s RoPE.
 *
 * @example
 * ```ts
 * ropeFrequencies(PRESETS.tiny).inverse;  // [1, 0.01]: D = 4, theta 10000
 * ropeFrequencies({ ...PRESETS.tiny, ropeScaling: { type: "linear", factor: 4 } }).inverse; // [0.25, 0.0025]
 * ```
 * @category Model
 */
export function ropeFrequencies(config: ModelConfig): RopeFrequencies {
  const D = headDim(config);
  const base = Float64Array.from({ length: D / 2 }, (_, j) => 1 / Math.pow(config.ropeTheta, (2 * j) / D));
  const s = config.ropeScaling;
  if (s === undefined) return { inverse: base, scale: 1 };
  if (s.type === "linear") return { inverse: base.map((f) => f / s.factor), scale: 1 };
  if (s.type === "llama3") {
    const longest = s.originalMaxPositions / s.lowFreqFactor;   // wavelengths above: divided by factor
    const shortest = s.originalMaxPositions / s.highFreqFactor; // wavelengths below: kept
    const inverse = base.map((f) => {
      const wavelength = (2 * Math.PI) / f;
      if (wavelength > longest) return f / s.factor;
      if (wavelength < shortest) return f;
      const smooth = (s.originalMaxPositions / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      return (1 - smooth) * (f / s.factor) + smooth * f;
    });
    return { inverse, scale: 1 };
  }
  // yarn: the pair index at which a pair makes `turns` rotations over the original context
  const pairAt = (turns: number): number => (D * Math.log(s.originalMaxPositions / (turns * 2 * Math.PI))) / (2 * Math.log(config.ropeTheta));
  let low = pairAt(s.betaFast), high = pairAt(s.betaSlow);
  if (s.truncate) [low, high] = [Math.floor(low), Math.ceil(high)];
  [low, high] = [Math.max(low, 0), Math.min(high, D - 1)];
  if (low === high) high += 0.001;                                      // transformers' guard against 0 / 0
  const inverse = base.map((f, j) => {
    const kept = 1 - Math.min(1, Math.max(0, (j - low) / (high - low))); // 1: extrapolate (keep), 0: interpolate (divide)
    return (f / s.factor) * (1 - kept) + f * kept;
  });
  return { inverse, scale: s.attentionFactor };
}
