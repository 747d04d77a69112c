#!/usr/bin/env node
// Entry point of the `jacobi-forcing` command: registers tsx so that the TypeScript sources run as they
// are (no build step), then hands over to the CLI in src/cli/main.ts.
import { register } from "tsx/esm/api";

register();
const { runFromProcess } = await import("../src/cli/main.ts");
await runFromProcess();
