/**
 * Stopping a long run honestly: the first Ctrl-C (SIGINT) or SIGTERM asks the run to stop at the next
 * step boundary, after it has saved a checkpoint; the command then exits with 128 + the signal's number,
 * as a shell reports a process ended by that signal (130 for SIGINT, 143 for SIGTERM), so scripts can
 * tell an interrupted run from a finished one. A second signal exits at once, without saving.
 *
 * Used by `train` and `distill`; their loop polls `requested()` between steps.
 *
 * @module
 */
import { constants } from "node:os";
import type { Io } from "./command.ts";

/**
 * The signals a run stops on, and how one was received.
 *
 * @category CLI
 */
export interface StopRequest {
  /** True once a signal has been received: the loop saves and returns. */
  readonly requested: () => boolean;
  /** The exit code for the signal received (130 SIGINT, 143 SIGTERM), or undefined when none was. */
  readonly exitCode: () => number | undefined;
  /** Stops listening for the signals. */
  readonly dispose: () => void;
}

/**
 * Listens for SIGINT and SIGTERM until `dispose()`: the first one is noted (and said on stderr), a second
 * one exits the process at once with the first one's code.
 *
 * @param command - the command's name, for the message
 * @example
 * ```ts
 * const stop = stopOnSignals("train", io);
 * try { await train(dataset, options, { outDir, shouldStop: stop.requested }); } finally { stop.dispose(); }
 * return stop.exitCode();   // undefined (0) when the run finished, 130 after Ctrl-C
 * ```
 * @category CLI
 */
export function stopOnSignals(command: string, io: Io): StopRequest {
  let code: number | undefined;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = (): void => {
      if (code !== undefined) process.exit(code);
      code = 128 + constants.signals[signal];
      const again = signal === "SIGINT" ? " (Ctrl-C again to abort)" : "";
      io.err(`\n${command}: ${signal}: saving a checkpoint, then exiting with code ${code}${again}\n`);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    requested: () => code !== undefined,
    exitCode: () => code,
    dispose: () => handlers.forEach(([signal, handler]) => process.off(signal, handler)),
  };
}
