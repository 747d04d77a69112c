/**
 * What a CLI command is: its flag specification and a `run` function that writes to the given streams.
 * Commands never read `process.argv`, and call `process.exit` only on a second Ctrl-C (the user insists),
 * so specs can run them in-process.
 *
 * @module
 */
import type { CommandSpec, Flags } from "./args.ts";

/**
 * Where a command writes.
 *
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
 * @category CLI
 */
export interface Command extends CommandSpec {
  /**
   * Runs the command with parsed flags. It returns nothing when it did its work (exit code 0), or the
   * exit code of a run stopped by a signal (130 for SIGINT, 143 for SIGTERM); failures are thrown.
   */
  readonly run: (flags: Flags, io: Io) => void | number | Promise<void | number>;
}
