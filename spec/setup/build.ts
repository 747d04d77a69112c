/**
 * vitest's global set-up: builds `dist/` once before any spec runs (`npm run build`), so that the specs
 * that start `bin/jacobi-forcing.js` run the compiled CLI a user runs, from this checkout's sources.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export default function buildOnce(): void {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["run", "build", "--silent"], { cwd: join(import.meta.dirname, "..", ".."), stdio: "inherit" });
}
