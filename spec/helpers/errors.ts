/**
 * Catching a particular error in a spec.
 *
 * @module
 */
import { expect } from "vitest";

/** Runs `call` and returns the error of class `kind` it throws (failing if it throws anything else or nothing). */
export function errorOf<E extends Error>(kind: new (...args: never[]) => E, call: () => unknown): E {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(kind);
    return error as E;
  }
  throw new Error(`expected a ${kind.name}, but nothing was thrown`);
}
