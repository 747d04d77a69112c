/**
 * What a CLI command is: its flag specification and a `run` function that writes to the given streams.
 * Commands never call `process.exit` or read `process.argv`, so specs can run them in-process.
 *
 * @module
 */
import type { CommandSpec, Flags } from "./args.ts";

/**
 * Where a command writes.
 *
 * @example
 * ```ts
 * let out = "";
 * const io: Io = { out: (t) => { out += t; }, err: () => {}, isTTY: false };   // what specs pass to capture output
 * ```
 * @category CLI
 */
export interface Io {
  /** Writes to standard output (the command adds its own newlines). */
  readonly out: (text: string) => void;
  /** Writes to standard error. */
  readonly err: (text: string) => void;
  /** True when standard output is a terminal (colour and progress bars allowed). */
  readonly isTTY: boolean;
}

/**
 * A CLI command.
 *
 * @example
 * ```ts
 * const hello: Command = { summary: "say hello", flags: {}, run: (_flags, io) => io.out("hello\n") };
 * ```
 * @category CLI
 */
export interface Command extends CommandSpec {
  /** Runs the command with parsed flags. */
  readonly run: (flags: Flags, io: Io) => void | Promise<void>;
}
