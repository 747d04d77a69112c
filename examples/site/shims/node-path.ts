/**
 * `node:path` for the page's bundle: the runner names its GPU worker's file by the extension of its own
 * URL (`extname`); nothing else of it runs in a browser.
 */
export function extname(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot);
}

export function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : path.slice(0, Math.max(1, slash));
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function join(...parts: string[]): string {
  return parts.filter((part) => part !== "").join("/").replace(/\/+/g, "/");
}
