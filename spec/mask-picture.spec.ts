/**
 * `docs/jacobi-forcing-mask.svg` cannot rot: the committed picture is exactly what
 * `bench/mask-picture.ts` draws now from the real `buildExample` and `attentionMask`, and it draws one
 * filled cell per visible (query, key) pair of each mask. Regenerate with `npm run mask-picture`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { maskPictureExample, maskPictureSvg } from "../bench/mask-picture.ts";

describe("bench/mask-picture.ts", () => {
  const svg = maskPictureSvg();

  it("the committed docs/jacobi-forcing-mask.svg equals what the script draws (npm run mask-picture)", () => {
    const committed = readFileSync(join(import.meta.dirname, "..", "docs", "jacobi-forcing-mask.svg"), "utf8");
    expect(committed === svg, "docs/jacobi-forcing-mask.svg is stale: run `npm run mask-picture` and commit it").toBe(true);
  });

  it("draws the packed example of P + 2Tn = 3 + 2·2·4 = 19 tokens, both masks, one cell per visible pair", () => {
    const noise = maskPictureExample("noise-conditioned");
    const clean = maskPictureExample("clean-context");
    expect(noise.packed.tokens).toHaveLength(19);
    expect(noise.targets.every((t) => t > 0)).toBe(true);                     // both blocks carry noise
    const visible = (mask: Uint8Array) => mask.reduce((s, v) => s + v, 0);
    const cells = svg.match(/<rect x="\d+" y="\d+" width="14" height="14" fill="#(?:90a4ae|ffb74d|4caf50)"\/>/g) ?? [];
    expect(cells.length - 3).toBe(visible(noise.mask) + visible(clean.mask)); // less the 3 legend swatches
    for (const name of ["prompt", "noisy_0", "clean_0", "noisy_1", "clean_1"]) expect(svg).toContain(`>${name}</text>`);
  });
});
