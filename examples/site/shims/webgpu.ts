/// <reference lib="dom" />
/**
 * The `webgpu` package (Dawn for Node) for the page's bundle: `create` gives the browser's own WebGPU,
 * `navigator.gpu`, which the backend's GPU worker then opens exactly as it opens Dawn's. Dawn's toggles
 * have no browser equivalent and are ignored.
 */
export function create(_toggles: readonly string[]): GPU {
  if (!("gpu" in navigator)) throw new Error("this browser offers no WebGPU (navigator.gpu is missing)");
  return navigator.gpu;
}
