/**
 * Spec helpers for sampling: Pearson's chi-square goodness-of-fit test against an exact distribution,
 * and the chi-square tail probability it needs (the regularised upper incomplete gamma function).
 *
 * @module
 */
import { lgamma } from "mathjs";

/**
 * Q(a, x) = Γ(a, x) / Γ(a), the regularised upper incomplete gamma function: by its series for
 * x < a + 1 and by Lentz's continued fraction otherwise (Numerical Recipes §6.2).
 */
export function upperGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - lgamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && term > sum * 1e-16; n++) sum += (term *= x / (a + n));
    return 1 - front * sum;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return front * h;
}

/** P(χ²_df ≥ statistic). */
export function chiSquarePValue(statistic: number, df: number): number {
  return upperGammaQ(df / 2, statistic / 2);
}

/** What {@link chiSquareTest} found. */
export interface ChiSquareResult {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
  /** Observed outcomes that have probability 0: each one alone refutes the distribution. */
  readonly impossible: string[];
}

/**
 * Pearson's chi-square test of `observed` counts against exact probabilities. Outcomes expected fewer
 * than 5 times are pooled into one bin (the usual validity rule), so the statistic is close to χ².
 */
export function chiSquareTest(observed: ReadonlyMap<string, number>, expected: ReadonlyMap<string, number>, samples: number): ChiSquareResult {
  const impossible = [...observed.keys()].filter((k) => !((expected.get(k) ?? 0) > 0));
  const bins: { observed: number; expected: number }[] = [];
  const rare = { observed: 0, expected: 0 };
  for (const [outcome, p] of expected) {
    if (p <= 0) continue;
    const bin = { observed: observed.get(outcome) ?? 0, expected: p * samples };
    if (bin.expected >= 5) bins.push(bin);
    else {
      rare.observed += bin.observed;
      rare.expected += bin.expected;
    }
  }
  if (rare.expected > 0) bins.push(rare);
  const statistic = bins.reduce((sum, b) => sum + (b.observed - b.expected) ** 2 / b.expected, 0);
  const df = bins.length - 1;
  return { statistic, df, pValue: chiSquarePValue(statistic, df), impossible };
}
