/// <reference lib="dom" />
/**
 * The page: pick a model and a prompt, decode it three ways (AR greedy, Jacobi, multi-block) in a Web
 * Worker, compare what each cost, and watch every Jacobi iteration of a block — the AR-trained teacher
 * beside its Jacobi Forcing student, on the same prompt.
 *
 * Deep links run on load: `?model=math-jf&prompt=914%2B169%0A&method=jacobi|mr|ar&block=16&backend=cpu`
 * (optional `max` new tokens, default 64, and `speed`, ms per animation step). When the run is done,
 * `#result` holds `{tokens, text, stats}` of `method`'s decode as JSON in `data-json`, and `data-state`
 * is `done` (or `error`, with the message in `data-error`).
 */
import type { Decoded, Method, TracedRow } from "./decode.ts";
import type { Answers, Backend, ModelInfo, ModelSource, Reply, Request } from "./protocol.ts";

// ---------------------------------------------------------------- the worker

const worker = new Worker("decode-worker.js", { type: "module" });
const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextId = 0;

worker.addEventListener("message", (event: MessageEvent<Reply>) => {
  const reply = event.data, waiting = pending.get(reply.id);
  pending.delete(reply.id);
  if (reply.ok) waiting?.resolve(reply.value);
  else waiting?.reject(new Error(reply.error));
});

type Body<R> = R extends Request ? Omit<R, "id"> : never;

/** Sends one request to the worker; resolves to its answer. */
function call<R extends Request>(request: Body<R>, transfer: Transferable[] = []): Promise<Answers[R["type"]]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    worker.postMessage({ ...request, id }, transfer);
  });
}

// ---------------------------------------------------------------- the page's elements

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const modelSelect = $<HTMLSelectElement>("model"), promptInput = $<HTMLTextAreaElement>("prompt");
const methodSelect = $<HTMLSelectElement>("method"), blockInput = $<HTMLInputElement>("block");
const maxInput = $<HTMLInputElement>("max"), backendSelect = $<HTMLSelectElement>("backend");
const runButton = $<HTMLButtonElement>("run"), status = $("status"), result = $("result");
/** The page's words on the teacher beside its student, for a run of a shipped pair. */
const PAIR_EXPLAIN = $("pair-explain").textContent ?? "";

/** One line of text in a new element. */
function element<K extends keyof HTMLElementTagNameMap>(tag: K, text = "", className = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className !== "") e.className = className;
  return e;
}

// ---------------------------------------------------------------- models

/** A task's shipped pair, from `models/index.json`. */
interface ShippedTask {
  readonly task: string;
  readonly teacher: string;
  readonly jf: string;
}

const EXAMPLES: Record<string, readonly string[]> = {
  math: ["914+169\n", "27+385\n", "4+9+1\n"],
  code: ["function add(a: number, b: number) {", "interface Point {\n", "const xs = [1, 2, 3].map("],
};

let tasks: ShippedTask[] = [];
/** A dropped folder's files, kept until it is loaded into the worker. */
let dropped: { name: string; files: Record<string, ArrayBuffer> } | null = null;
const loadedModels = new Map<string, ModelInfo>();

async function readShippedModels(): Promise<void> {
  const index = await (await fetch("models/index.json")).json() as { tasks: ShippedTask[] };
  tasks = index.tasks;
  for (const t of tasks) {
    modelSelect.append(new Option(`${t.jf} — ${t.task}, Jacobi Forcing student`, t.jf), new Option(`${t.teacher} — ${t.task}, AR-trained teacher`, t.teacher));
  }
}

/** The task whose shipped pair holds `name`, or undefined for a dropped folder. */
const taskOf = (name: string): ShippedTask | undefined => tasks.find((t) => t.teacher === name || t.jf === name);

async function ensureLoaded(name: string): Promise<ModelInfo> {
  const known = loadedModels.get(name);
  if (known !== undefined) return known;
  let source: ModelSource = { kind: "shipped", name };
  let transfer: ArrayBuffer[] = [];
  if (dropped !== null && dropped.name === name) {
    source = { kind: "dropped", name, files: dropped.files };
    transfer = Object.values(dropped.files);
  }
  const info = await call<Extract<Request, { type: "load" }>>({ type: "load", model: source }, transfer);
  if (source.kind === "dropped") dropped = null;                // its buffers went to the worker, which now holds the model
  loadedModels.set(name, info);
  return info;
}

/** A dropped or chosen folder: its top-level files by name (sub-folders are ignored), as the model "`folder` (your folder)". */
async function takeFolder(files: readonly File[], folder: string): Promise<void> {
  const name = `${folder} (your folder)`;
  const wanted = files.filter((f) => /\.(json|safetensors|jinja)$/.test(f.name));
  if (!wanted.some((f) => f.name === "config.json")) throw new Error(`${name}: no config.json at the top of the folder`);
  const contents = await Promise.all(wanted.map(async (f) => [f.name, await f.arrayBuffer()] as const));
  dropped = { name, files: Object.fromEntries(contents) };
  loadedModels.delete(name);
  if (![...modelSelect.options].some((o) => o.value === name)) modelSelect.append(new Option(name, name));
  modelSelect.value = name;
  status.textContent = `${name}: ${wanted.length} files ready; press Decode`;
}

/** The files of a dropped directory entry (top level only). */
function entryFiles(directory: FileSystemDirectoryEntry): Promise<File[]> {
  return new Promise((resolve, reject) => {
    const reader = directory.createReader(), entries: FileSystemEntry[] = [];
    const more = (): void => reader.readEntries((batch) => {
      if (batch.length > 0) { entries.push(...batch); more(); return; }
      Promise.all(entries.filter((e): e is FileSystemFileEntry => e.isFile)
        .map((e) => new Promise<File>((done, fail) => e.file(done, fail)))).then(resolve, reject);
    }, reject);
    more();
  });
}

// ---------------------------------------------------------------- decoding three ways

const METHODS: readonly { method: Method; label: string; what: string }[] = [
  { method: "ar", label: "AR greedy", what: "one token per forward: the reference every other method must equal" },
  { method: "jacobi", label: "Jacobi", what: "n tokens per block, refined in parallel until the block stops changing" },
  { method: "mr", label: "multi-block", what: "Jacobi on several blocks at once, reusing rejected drafts (rejection recycling)" },
];

function methodRow(label: string, what: string, d: Decoded, ar: Decoded): HTMLTableRowElement {
  const row = element("tr");
  const name = element("td");
  name.append(element("strong", label), element("div", what, "what"));
  const same = d.tokens.length === ar.tokens.length && d.tokens.every((t, i) => t === ar.tokens[i]);
  const text = element("td", "", "output");
  text.append(element("code", d.text ?? d.tokens.join(",")));
  row.append(name, element("td", String(d.stats.forwards), "num"), element("td", d.stats.tokensPerForward.toFixed(2), "num"),
    element("td", Math.round(d.stats.tokensPerSecond).toLocaleString("en"), "num"), element("td", same ? "yes" : "NO", same ? "same" : "differs"), text);
  row.dataset.method = label;
  return row;
}

// ---------------------------------------------------------------- the animation

interface Panel {
  readonly title: string;
  readonly role: string;
  readonly rows: TracedRow[];
  readonly element: HTMLElement;
}

let panels: Panel[] = [];
let shownBlock = 0, frame = 0, timer: number | undefined;
/** Milliseconds per animation step: the deep link's `speed` (read once: the page rewrites its query), default 700. */
const STEP_MS = Number(new URLSearchParams(location.search).get("speed") ?? 700);

function blockRows(panel: Panel, block: number): TracedRow[] {
  return panel.rows.filter((r) => r.block === block);
}

function drawPanels(): void {
  for (const panel of panels) {
    const rows = blockRows(panel, shownBlock);
    const body = element("div", "", "rows");
    rows.forEach((row, i) => {
      const line = element("div", "", i < frame ? (i === frame - 1 ? "row current" : "row") : "row pending");
      line.dataset.block = String(row.block);
      line.dataset.iteration = String(row.iteration);
      line.dataset.tokens = row.state.join(",");
      line.append(element("span", `iteration ${row.iteration}`, "it"));
      const cells = element("span", "", "cells");
      row.labels.forEach((label, k) => {
        const cell = element("span", label, `tok ${row.marks[k]}`);
        cell.dataset.mark = row.marks[k];
        cell.title = `token ${row.state[k]}: ${row.marks[k]}`;
        cells.append(cell);
      });
      line.append(cells, element("span", `+${row.accepted}`, "acc"));
      body.append(line);
    });
    const done = frame >= rows.length;
    const head = element("div", "", "panel-head");
    head.append(element("strong", panel.title), element("span", ` ${panel.role}`, "role"));
    const summary = element("div", done ? `block ${shownBlock}: converged in ${rows.length} iteration${rows.length === 1 ? "" : "s"} (${rows.at(-1)?.committed ?? 0} tokens)` : `block ${shownBlock}: iteration ${Math.min(frame, rows.length)} of …`, "summary");
    panel.element.replaceChildren(head, body, summary);
    panel.element.dataset.done = String(done);
  }
}

function longest(): number {
  return Math.max(0, ...panels.map((p) => blockRows(p, shownBlock).length));
}

/** Plays the shown block from its first iteration, one iteration per step; resolves when all are shown. */
function play(): Promise<void> {
  window.clearInterval(timer);
  frame = STEP_MS <= 0 ? longest() : 1;
  drawPanels();
  $("animation").dataset.playing = "true";
  return new Promise((resolve) => {
    const finish = (): void => { window.clearInterval(timer); $("animation").dataset.playing = "false"; resolve(); };
    if (frame >= longest()) { finish(); return; }
    timer = window.setInterval(() => {
      frame++;
      drawPanels();
      if (frame >= longest()) finish();
    }, STEP_MS);
  });
}

function drawBlockButtons(): void {
  const blocks = [...new Set(panels.flatMap((p) => p.rows.map((r) => r.block ?? 0)))].sort((a, b) => a - b);
  const holder = $("blocks");
  holder.replaceChildren(...blocks.map((b) => {
    const button = element("button", String(b), b === shownBlock ? "block-button selected" : "block-button");
    button.addEventListener("click", () => { shownBlock = b; drawBlockButtons(); void play(); });
    return button;
  }));
}

// ---------------------------------------------------------------- one run

function settings(): { model: string; prompt: string; method: Method; block: number; max: number; backend: string } {
  return {
    model: modelSelect.value, prompt: promptInput.value, method: methodSelect.value as Method,
    block: Number(blockInput.value), max: Number(maxInput.value), backend: backendSelect.value,
  };
}

/** Says which backend runs, and why when it is not the one asked for. */
function describeBackend(backend: Backend, text: string): void {
  const note = $("backend-note");
  note.textContent = text;
  note.dataset.backend = backend;
}

const CPU_NOTE = "Running on the CPU: the library's pure-TypeScript core, in a Web Worker, so the page stays responsive.";

/**
 * The backend the run will use: WebGPU when asked for and it starts for every model of the run (the
 * backend's own runner, in the decode worker), else the CPU, saying why.
 */
async function chooseBackend(asked: string, names: readonly string[]): Promise<Backend> {
  if (asked !== "webgpu") {
    describeBackend("cpu", CPU_NOTE);
    return "cpu";
  }
  status.textContent = "starting WebGPU …";
  try {
    const adapters = await Promise.all(names.map((name) => call<Extract<Request, { type: "gpu" }>>({ type: "gpu", model: name })));
    describeBackend("webgpu", `Running on WebGPU (adapter: ${adapters[0] || "unnamed"}): the library's float32 WGSL kernels, driven by a GPU worker beside the decode worker.`);
    return "webgpu";
  } catch (error) {
    describeBackend("cpu", `Running on the CPU: WebGPU could not start (${error instanceof Error ? error.message : String(error)}). The CPU path gives the same tokens.`);
    return "cpu";
  }
}

async function run(): Promise<void> {
  const s = settings();
  runButton.disabled = true;
  result.dataset.state = "running";
  const query = new URLSearchParams({ model: s.model, prompt: s.prompt, method: s.method, block: String(s.block), backend: s.backend, max: String(s.max) });
  if (taskOf(s.model) !== undefined) history.replaceState(null, "", `?${query}`);
  try {
    const task = taskOf(s.model);
    const pair = task === undefined ? [{ name: s.model, role: "your model" }]
      : [{ name: task.teacher, role: "AR-trained teacher" }, { name: task.jf, role: "Jacobi Forcing student" }];
    status.textContent = `loading ${s.model} …`;
    const info = await ensureLoaded(s.model);
    for (const p of pair) await ensureLoaded(p.name);
    $("model-info").textContent = info.summary;
    const backend = await chooseBackend(s.backend, [...new Set([s.model, ...pair.map((p) => p.name)])]);
    const body = $("methods").querySelector("tbody")!;
    body.replaceChildren();
    const results = new Map<Method, Decoded>();
    for (const m of METHODS) {
      status.textContent = `decoding with ${m.label} …`;
      const decoded = await call<Extract<Request, { type: "decode" }>>({ type: "decode", model: s.model, backend, request: { prompt: s.prompt, method: m.method, blockSize: s.block, maxNewTokens: s.max } });
      results.set(m.method, decoded);
      body.append(methodRow(m.label, m.what, decoded, results.get("ar")!));
    }
    $("prompt-tokens").textContent = `prompt: ${results.get("ar")!.promptTokens.length} tokens; block size n = ${s.block}; at most ${s.max} new tokens`;

    status.textContent = "recording every Jacobi iteration …";
    const traces = await Promise.all(pair.map((p) =>
      call<Extract<Request, { type: "trace" }>>({ type: "trace", model: p.name, backend, request: { prompt: s.prompt, blockSize: s.block, maxNewTokens: s.max } })));
    $("pair-explain").textContent = task !== undefined ? PAIR_EXPLAIN
      : "Your model has no teacher or student beside it here: watch how many tokens settle per pass. "
        + "A model trained only on the next token accepts about one per pass; a Jacobi Forcing model, several.";
    const holder = $("pair");
    panels = pair.map((p, i) => ({ title: p.name, role: p.role, rows: traces[i], element: element("div", "", "panel") }));
    panels.forEach((p, i) => { p.element.id = `trace-${i}`; p.element.dataset.model = p.title; });
    holder.replaceChildren(...panels.map((p) => p.element));
    shownBlock = 0;
    drawBlockButtons();
    status.textContent = "done";
    const chosen = results.get(s.method)!;
    result.dataset.json = JSON.stringify({ tokens: chosen.tokens, text: chosen.text, stats: chosen.stats });
    result.dataset.state = "done";
    runButton.disabled = false;
    await play();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    status.textContent = message;
    result.dataset.error = message;
    result.dataset.state = "error";
  } finally {
    runButton.disabled = false;
  }
}

// ---------------------------------------------------------------- start

function examples(): void {
  const task = taskOf(modelSelect.value)?.task;
  $("examples").replaceChildren(...(task === undefined ? [] : EXAMPLES[task]).map((text) => {
    const button = element("button", JSON.stringify(text).slice(1, -1), "example");
    button.addEventListener("click", () => { promptInput.value = text; });
    return button;
  }));
}

async function start(): Promise<void> {
  await readShippedModels();
  const params = new URLSearchParams(location.search);
  modelSelect.value = params.get("model") ?? tasks[0]?.jf ?? "";
  promptInput.value = params.get("prompt") ?? EXAMPLES[taskOf(modelSelect.value)?.task ?? "math"][0];
  methodSelect.value = params.get("method") ?? "jacobi";
  blockInput.value = params.get("block") ?? "16";
  maxInput.value = params.get("max") ?? "64";
  backendSelect.value = params.get("backend") ?? "cpu";
  describeBackend("cpu", backendSelect.value === "webgpu" ? "WebGPU starts when you press Decode (the CPU runs if it cannot)." : CPU_NOTE);
  examples();
  modelSelect.addEventListener("change", () => {
    examples();
    const task = taskOf(modelSelect.value)?.task;
    if (task !== undefined && !EXAMPLES[task].includes(promptInput.value)) promptInput.value = EXAMPLES[task][0];
  });
  runButton.addEventListener("click", () => void run());
  $("replay").addEventListener("click", () => void play());
  $("folder").addEventListener("change", (event) => {
    // a folder picker names each file folder/name (folder/sub/name below it); a plain file list, just name
    const files = [...((event.target as HTMLInputElement).files ?? [])];
    const path = (f: File): string[] => (f.webkitRelativePath || f.name).split("/");
    const name = files.length > 0 && path(files[0]).length > 1 ? path(files[0])[0] : "model";
    takeFolder(files.filter((f) => path(f).length <= 2), name).catch((e: Error) => { status.textContent = e.message; });
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const entry = event.dataTransfer?.items[0]?.webkitGetAsEntry();
    if (entry?.isDirectory) entryFiles(entry as FileSystemDirectoryEntry).then((files) => takeFolder(files, entry.name)).catch((e: Error) => { status.textContent = e.message; });
    else status.textContent = "drop a folder (config.json, tokenizer.json, model.safetensors ...), not single files";
  });
  if (params.has("model") || params.has("prompt")) await run();
}

start().catch((error: Error) => { status.textContent = error.message; result.dataset.state = "error"; result.dataset.error = error.message; });
