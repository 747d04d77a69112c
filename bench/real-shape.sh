#!/usr/bin/env bash
# The real-size GPU benchmark, on a machine with one GPU, Python with torch + transformers, and Node with
# the `webgpu` package:  npm run build:gpu && bash bench/real-shape.sh WORK RESULT.json
# It writes a random Qwen2 folder of Qwen2.5-7B's shape with transformers (bench/real-shape.py write), runs
# our bench on it (bench:gpu --hf, from the bundle), then PyTorch on the same folder and the same prompts
# (bf16 generate, eager forwards, the float32 greedy reference, then compiled generate), and merges the
# JSON files into RESULT.json. WORK keeps the folder (15 GB) and every step's JSON and log.
set -uo pipefail
work=$1 result=$2
mkdir -p "$work"
rm -f "$work"/*.json "$work"/*.out "$work"/*.log     # a step that fails leaves no earlier run's JSON for merge to mix in
# step NAME COMMAND...: stdout to WORK/NAME.out, stderr to WORK/NAME.log (its tail echoed)
step() { local name=$1; shift; echo "== $name" >&2; "$@" > "$work/$name.out" 2> "$work/$name.log"; local rc=$?; tail -5 "$work/$name.log" >&2; return $rc; }
step write python3 bench/real-shape.py write "$work/model" "$work/prompts.json" || exit 1
cp "$work/write.out" "$work/write.json"
step ours node dist/webgpu/gpu.mjs --hf "$work/model" --prompts "$work/prompts.json" --new-tokens 64 --max-positions 1024 && cp "$work/ours.out" "$work/ours.json"
step torch python3 bench/real-shape.py torch "$work/model" "$work/prompts.json" "$work/torch.json" || exit 1
step compiled timeout 200 python3 bench/real-shape.py compiled "$work/model" "$work/prompts.json" "$work/compiled.json"
python3 bench/real-shape.py merge "$work" "$result"
