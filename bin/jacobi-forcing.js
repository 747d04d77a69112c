#!/usr/bin/env node
// Entry point of the `jacobi-forcing` command: registers tsx so the TypeScript sources run as they are
// (no build step), then hands over to the CLI in src/cli/main.ts.
import { register } from "tsx/esm/api";
register();
await import("../src/cli/main.ts");
