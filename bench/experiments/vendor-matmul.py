"""The vendor library's matrix products at the realistic model's shapes: a reference for `bench:gpu`.

`bench/gpu.ts` measures the WGSL matmuls of a forward of the realistic random model (hidden 2048,
16 layers, MLP 5632, vocabulary 32000, float32) and the floor that the card's copy bandwidth and
multiply-add rate put under t(64)/t(1). This script answers the practical question next to that floor:
how fast are the same products on the same card with NVIDIA's own library (cuBLAS, through PyTorch),
in float32 (tensor cores off), and, for context only, with TF32 and bfloat16 tensor cores, which
change the numbers and are out of reach from WGSL.

It times, for T in (1, 16, 64), the 65 products of one forward (per layer q/k/v, output, gate/up and
down, each layer with its own weights so the L2 cache does not flatter a matrix, then the LM head),
captured once in a CUDA graph and replayed, so no CPU launch overhead is counted: the sum is what
the products cost on the GPU, gaps between them included. cuBLAS picks its kernel by shape, so its products are not batch-invariant: a
reference for speed, not for the project's exactness.

Run on the lent GPU, where `python3` has PyTorch (nothing else here needs Python), in the same call as
`bench:gpu` (the bundle `dist/webgpu/gpu.mjs --realistic-only`), so both come from one card and run:

    python3 bench/experiments/vendor-matmul.py > $OUT/vendor.json

It prints one JSON object. Then, anywhere (no PyTorch needed), put the two side by side:

    python3 bench/experiments/vendor-matmul.py --compare GPU_JSON VENDOR_JSON

which prints t(64)/t(1) as `bench:gpu` measured it and as it would be with the vendor's products in
place of the WGSL ones, everything else as measured — the same substitution as `bench:gpu`'s
"measured wall times with T=64's matmuls at that floor". docs/webgpu.md reads the results.
"""

import json
import sys
import time

LAYERS, HIDDEN, MLP, VOCAB, HEADS, KV_HEADS, HEAD_SIZE = 16, 2048, 5632, 32000, 32, 4, 64
QKV = (HEADS + 2 * KV_HEADS) * HEAD_SIZE
# Weights [N, K], as the project stores them.
LAYER_MATRICES = {"qkv": (QKV, HIDDEN), "wo": (HIDDEN, HIDDEN), "gu": (2 * MLP, HIDDEN), "down": (HIDDEN, MLP)}
LM_HEAD = (VOCAB, HIDDEN)
ROWS = (1, 16, 64)
REPLAYS = 50


def set_mode(mode: str) -> None:
    """float32 (tensor cores off), tf32 or bf16 (the dtype is chosen by the caller)."""
    import torch
    torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
    torch.set_float32_matmul_precision("high" if mode == "tf32" else "highest")


def graph_ms(products) -> float:
    """Milliseconds one replay of a CUDA graph of `products` (a list of (x, w, out)) takes: median of 5 x REPLAYS."""
    import torch
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for x, w, out in products:  # warm up outside the capture (cuBLAS workspaces, kernel choice)
            torch.matmul(x, w.t(), out=out)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for x, w, out in products:
            torch.matmul(x, w.t(), out=out)
    for _ in range(10):
        graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(5):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(REPLAYS):
            graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / REPLAYS)
    return sorted(times)[len(times) // 2]


def warm_up(seconds: float = 1.0) -> None:
    """An idle GPU lowers its clock; keep it busy first (docs/webgpu.md, 'Warm the GPU up')."""
    import torch
    a = torch.randn(4096, 4096, device="cuda")
    end = time.time() + seconds
    while time.time() < end:
        a = (a @ a).clamp_(-1, 1)
        torch.cuda.synchronize()


def measure() -> None:
    """Times the products on this machine's GPU and prints the JSON object."""
    import torch
    torch.manual_seed(1)
    device = torch.device("cuda")
    f32 = {
        name: [torch.randn(shape, device=device) * 0.02 for _ in range(LAYERS)]
        for name, shape in LAYER_MATRICES.items()
    }
    f32["lmHead"] = [torch.randn(LM_HEAD, device=device) * 0.02]
    flops_per_row = 2 * sum(LAYERS * n * k for n, k in LAYER_MATRICES.values()) + 2 * LM_HEAD[0] * LM_HEAD[1]
    warm_up()
    results = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "products per forward": 4 * LAYERS + 1,
        "flops per row": flops_per_row,
        "modes": {},
    }
    for mode in ("float32", "tf32", "bf16"):
        set_mode(mode)
        dtype = torch.bfloat16 if mode == "bf16" else torch.float32
        weights = {name: [w.to(dtype) for w in ws] for name, ws in f32.items()} if dtype != torch.float32 else f32
        rows = []
        for T in ROWS:
            xs = {k: torch.randn(T, k, device=device, dtype=dtype) for k in {HIDDEN, MLP}}
            per_matrix = {}
            forward = []
            for name, ws in weights.items():
                products = [(xs[w.shape[1]], w, torch.empty(T, w.shape[0], device=device, dtype=dtype)) for w in ws]
                per_matrix[name] = graph_ms(products) / len(products) * 1e3  # microseconds a product
                forward += products
            ms = graph_ms(forward)
            rows.append({"T": T, "matmulsMs": ms, "tflops": flops_per_row * T / ms / 1e9, "perProductUs": per_matrix})
            print(f"{mode:8} T={T:3}: {ms:.3f} ms for the forward's products, {flops_per_row * T / ms / 1e9:.1f} TFLOP/s; "
                  + ", ".join(f"{n} {us:.1f} us" for n, us in per_matrix.items()), file=sys.stderr)
        results["modes"][mode] = rows
        del weights
        torch.cuda.empty_cache()
    print(json.dumps(results, indent=1))


def compare(gpu_path: str, vendor_path: str) -> None:
    """Prints t(64)/t(1) with the WGSL products, and with the vendor's in their place (both runs' files)."""
    with open(gpu_path) as f:
        bench = json.load(f)
    realistic = bench["realistic"]
    with open(vendor_path) as f:
        vendor = json.load(f)
    wall = {row["T"]: row["ms"] for row in realistic["forwardLatency"]}
    ours = {row["T"]: row["matmulMs"] for row in realistic["gpuForward"]}
    print(f"{vendor['device']}, products timed {vendor['date']}, bench:gpu {bench.get('date', '?')}: wall t(1) {wall[1]:.3f} ms, t(64) {wall[64]:.3f} ms, "
          f"of which the WGSL products {ours[1]:.3f} and {ours[64]:.3f} ms (GPU time): t(64)/t(1) {wall[64] / wall[1]:.2f}")
    for mode, rows in vendor["modes"].items():
        theirs = {row["T"]: row["matmulsMs"] for row in rows}
        tflops = {row["T"]: row["tflops"] for row in rows}
        t64 = wall[64] - ours[64] + theirs[64]
        t1 = wall[1] - ours[1] + theirs[1]
        # float32 products are the same arithmetic at every T, so one may swap T = 64's alone; a
        # precision mode must be the same at T = 1 and 64, so it is swapped at both.
        alone = f"{t64 / wall[1]:.2f} with them at T=64 only, " if mode == "float32" else ""
        print(f"  {mode:8} products {theirs[1]:.3f} ms at T=1, {theirs[64]:.3f} ms at T=64 ({tflops[64]:.1f} TFLOP/s): "
              f"t(64)/t(1) {alone}{t64 / t1:.2f} with them at both")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 1:
        measure()
    else:
        sys.exit("usage: python3 bench/experiments/vendor-matmul.py [--compare GPU_JSON VENDOR_JSON]")
