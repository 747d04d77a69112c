import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commonPrefixLength } from "../src/util/sequences.ts";

describe("commonPrefixLength", () => {
  it("is the first differing index, or the shorter length", () => {
    expect(commonPrefixLength([5, 6, 9, 9], [5, 6, 7, 8])).toBe(2);
    expect(commonPrefixLength([5, 6, 7, 8], [5, 6, 7, 8])).toBe(4);
    expect(commonPrefixLength([5, 6], [5, 6, 7])).toBe(2);
    expect(commonPrefixLength([1], [2])).toBe(0);
    expect(commonPrefixLength([], [])).toBe(0);
  });

  it("a shared prefix followed by a differing token is measured exactly", () => {
    fc.assert(fc.property(fc.array(fc.nat(9)), fc.nat(9), fc.array(fc.nat(9)), fc.array(fc.nat(9)), (prefix, x, restA, restB) => {
      const a = [...prefix, x, ...restA], b = [...prefix, x + 1, ...restB];
      expect(commonPrefixLength(a, b)).toBe(prefix.length);
      expect(commonPrefixLength(b, a)).toBe(prefix.length);
      expect(commonPrefixLength(prefix, a)).toBe(prefix.length);
    }));
  });
});
