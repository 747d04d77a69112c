import { defineConfig } from "vitest/config";

// A timeout catches a hang, not a slow machine: the suite must pass on a loaded 2-core machine, where
// the heaviest specs (the WebGPU ones under SwiftShader, a CPU Vulkan) take minutes. Speed is measured
// by the benchmarks (`npm run bench`), never asserted here.
// The specs that start `bin/jacobi-forcing.js` run the compiled CLI: `spec/setup/build.ts` builds dist/
// once before them.
export default defineConfig({
  test: {
    include: ["spec/**/*.spec.ts"],
    globalSetup: ["spec/setup/build.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
