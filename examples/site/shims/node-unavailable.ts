/**
 * `node:fs` and `node:url` for the page's bundle: the runner uses them only to build its GPU worker from
 * TypeScript sources, and the backend's `folder.ts` to stream a model folder from disk; neither happens in
 * a browser (the page hands the runner weights it has read). Each throws if called.
 */
const unavailable = (name: string) => (): never => {
  throw new Error(`${name} is not available in a browser`);
};

export const existsSync = unavailable("existsSync");
export const mkdirSync = unavailable("mkdirSync");
export const rmSync = unavailable("rmSync");
export const fileURLToPath = unavailable("fileURLToPath");
export const pathToFileURL = unavailable("pathToFileURL");
export const closeSync = unavailable("closeSync");
export const fstatSync = unavailable("fstatSync");
export const openSync = unavailable("openSync");
export const readFileSync = unavailable("readFileSync");
export const readSync = unavailable("readSync");
export const statSync = unavailable("statSync");
