/**
 * `node:fs` and `node:url` for the page's bundle: the runner uses them only to build its GPU worker from
 * TypeScript sources, which never happens in a bundle. Each throws if called.
 */
const unavailable = (name: string) => (): never => {
  throw new Error(`${name} is not available in a browser`);
};

export const existsSync = unavailable("existsSync");
export const mkdirSync = unavailable("mkdirSync");
export const rmSync = unavailable("rmSync");
export const fileURLToPath = unavailable("fileURLToPath");
export const pathToFileURL = unavailable("pathToFileURL");
