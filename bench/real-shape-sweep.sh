#!/usr/bin/env bash
# The matmul tiles and Dawn's toggles at the real size, after bench/real-shape.sh: the same random Qwen2 of
# Qwen2.5-7B's shape in bf16 (written here unless WORK/model exists), loaded once per choice by
# `node dist/webgpu/gpu.mjs --hf WORK/model --latency-only`, and t(1), t(16), t(64) of each appended to
# RESULT.jsonl as one line {name, card, tiles, dawnToggles, t1Ms, t16Ms, t64Ms, streamFloorMs, copyBandwidthGBs,
# forwardLatency}.
# The default comes first and last (drift), each choice changes one thing. Any tile gives the same bits.
#   npm run build:gpu && bash bench/real-shape-sweep.sh WORK RESULT.jsonl
set -uo pipefail
work=$1 result=$2
mkdir -p "$work"
if [ ! -f "$work/model/config.json" ]; then
  python3 bench/real-shape.py write "$work/model" "$work/prompts.json" > "$work/write.out" 2> "$work/write.log" || { tail -5 "$work/write.log" >&2; exit 1; }
fi
choice() {
  local name=$1; shift
  echo "== $name" >&2
  node dist/webgpu/gpu.mjs --hf "$work/model" --latency-only --reps 11 "$@" > "$work/choice.json" 2> "$work/choice.log" || { tail -3 "$work/choice.log" >&2; return; }
  tail -1 "$work/choice.log" >&2
  python3 -c 'import json, sys
r = json.load(open(sys.argv[2]))
print(json.dumps({"name": sys.argv[1], "card": r["card"], "tiles": r["tiles"], "dawnToggles": r["options"]["dawnToggles"], "t1Ms": r["t1Ms"], "t16Ms": r["t16Ms"],
                  "t64Ms": r["t64Ms"], "streamFloorMs": r["streamFloorMs"], "copyBandwidthGBs": r["copyBandwidthGBs"], "forwardLatency": r["forwardLatency"]}))' "$name" "$work/choice.json" >> "$result"
}
choice default
choice toggles --dawn-toggles disable_robustness,disable_workgroup_init,skip_validation
choice small-4-columns --tiles '{"small":{"TM":1,"TN":4,"GM":1,"GN":8}}'
choice small-128-threads --tiles '{"small":{"TM":1,"TN":2,"GM":1,"GN":4}}'
choice narrow-2-columns --tiles '{"narrow":{"TM":1,"TN":2,"GM":1,"GN":2,"U":4}}'
choice no-narrow --tiles '{"narrowColumns":0}'
choice large-8x4 --tiles '{"large":{"TM":8,"TN":4,"GM":1,"GN":8,"U":4}}'
choice large-4x8 --tiles '{"large":{"TM":4,"TN":8,"GM":2,"GN":4,"U":4}}'
choice large-2x8 --tiles '{"large":{"TM":2,"TN":8,"GM":2,"GN":4,"U":4}}'
choice large-4x4-U8 --tiles '{"large":{"TM":4,"TN":4,"GM":2,"GN":4,"U":8}}'
choice large-8x8 --tiles '{"large":{"TM":8,"TN":8,"GM":2,"GN":4,"U":2}}'
choice default-again
