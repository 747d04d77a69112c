#!/usr/bin/env node
// Entry point of the `jacobi-forcing` command: the CLI compiled to JavaScript in dist/ (`npm run build`,
// which `npm pack`, `npm start` and the tests run first), in plain Node — no TypeScript loader.
import { runFromProcess } from "../dist/cli/main.js";

await runFromProcess();
