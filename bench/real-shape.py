"""The PyTorch side of the real-size benchmark (`bench/real-shape.sh`): a random Qwen2 folder of
Qwen2.5-7B's shape written by transformers itself, and what PyTorch does with it on the same GPU.

    python3 bench/real-shape.py write DIR PROMPTS.json        # the folder (bf16, sharded) and three prompts
    python3 bench/real-shape.py torch DIR PROMPTS.json OUT.json   # generate, eager forwards, float32 greedy
    python3 bench/real-shape.py compiled DIR PROMPTS.json OUT.json
    python3 bench/real-shape.py merge WORK RESULT.json   # WORK's write/ours/torch/compiled.json into one

`REAL_SHAPE=small` in the environment writes a small model of the same family instead (a try-out).

`write` builds the model with transformers' own initialisation (in bf16, on the GPU), randomises the
q/k/v biases and the norm gains as well (initialisation zeroes the former and sets the latter to one,
which would leave them untested), and saves it with `save_pretrained` in shards; the prompts are three
seeded lists of 64 random token ids, read by both sides.

`torch` measures, on that folder: `generate` in bf16 (greedy, 64 new tokens a prompt, after a warm-up:
tokens/s), one eager bf16 forward of T = 1, 16 and 64 tokens after a 32-token cache (median of 25,
CUDA-synchronised), and the reference: the same weights upcast to float32, greedy with a KV cache, 64
tokens a prompt, with the smallest top-1/top-2 logit gap on the way (how close the reference came to a
tie). `compiled` (a process of its own, as compiling can take minutes) times greedy `generate` with a
static cache, which transformers compiles with `torch.compile` (mode "reduce-overhead": CUDA graphs).
"""
import json
import os
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

NEW_TOKENS = 64
PROMPT_TOKENS = 64


def shape_config():
    """Qwen2.5-7B's shape (its config.json), untied, bf16; or a small one of the same family."""
    small = os.environ.get("REAL_SHAPE") == "small"
    return Qwen2Config(
        hidden_size=256 if small else 3584, intermediate_size=768 if small else 18944,
        num_hidden_layers=2 if small else 28, num_attention_heads=4 if small else 28,
        num_key_value_heads=2 if small else 4, vocab_size=152064, max_position_embeddings=32768, rms_norm_eps=1e-6,
        tie_word_embeddings=False, bos_token_id=151643, eos_token_id=151645, hidden_act="silu",
        use_sliding_window=False, **({"rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}}
                                     if int(transformers.__version__.split(".")[0]) >= 5 else {"rope_theta": 1000000.0}))


def write(folder, prompts_path):
    torch.manual_seed(0)
    start = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(shape_config())
    torch.set_default_dtype(torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0.0, 0.02)
            elif name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    model.save_pretrained(folder, max_shard_size="4GB")
    generator = torch.Generator().manual_seed(1)
    prompts = [torch.randint(0, model.config.vocab_size, (PROMPT_TOKENS,), generator=generator).tolist() for _ in range(3)]
    with open(prompts_path, "w") as f:
        json.dump(prompts, f)
    print(json.dumps({"writeSeconds": time.perf_counter() - start,
                      "parameters": sum(p.numel() for p in model.parameters())}))


def timed(fn, repeats=25):
    """Median milliseconds of `fn`, CUDA-synchronised, after three warm-up calls."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def forward_times(model, prompt):
    """Eager forward of T tokens after a 32-token cache (as our bench's latency), cropped back after each call."""
    ids = torch.tensor([prompt], device="cuda")
    with torch.no_grad():
        cache = model(ids[:, :32], use_cache=True).past_key_values
        result = {}
        for T in (1, 16, 64):
            def step():
                model(ids[:, :T], past_key_values=cache, use_cache=True)
                cache.crop(-T)
            result[T] = timed(step)
    return result


def generate_rate(model, prompts):
    """Greedy `generate`, exactly NEW_TOKENS new tokens a prompt (no stop): tokens/s and the tokens."""
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    run = lambda p: model.generate(torch.tensor([p], device="cuda"), max_new_tokens=NEW_TOKENS,
                                   min_new_tokens=NEW_TOKENS, do_sample=False)
    run(prompts[0])
    torch.cuda.synchronize()
    start = time.perf_counter()
    outs = [run(p)[0, len(p):].tolist() for p in prompts]
    torch.cuda.synchronize()
    return NEW_TOKENS * len(prompts) / (time.perf_counter() - start), outs


def compiled(folder, prompts_path, out_path):
    """Per-token milliseconds of greedy `generate` with a static cache, which transformers compiles
    (`torch.compile`, mode "reduce-overhead"), after two warm-up runs: a T = 1 forward plus the loop's work."""
    prompts = json.load(open(prompts_path))
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16, device_map="cuda")
    model.eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    model.generation_config.cache_implementation = "static"
    run = lambda p: model.generate(torch.tensor([p], device="cuda"), max_new_tokens=NEW_TOKENS,
                                   min_new_tokens=NEW_TOKENS, do_sample=False)
    start = time.perf_counter()
    for p in prompts[:2]:
        run(p)
    warmup = time.perf_counter() - start
    torch.cuda.synchronize()
    start = time.perf_counter()
    tokens = run(prompts[2])[0, len(prompts[2]):].tolist()
    torch.cuda.synchronize()
    result = {"compiledT1Ms": (time.perf_counter() - start) * 1000 / NEW_TOKENS, "compileWarmupSeconds": warmup,
              "compiledTokens": tokens}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "compiledTokens"}))


def greedy_float32(model, prompts):
    """The reference: float32 greedy with a KV cache, NEW_TOKENS a prompt; ties go to the lowest id."""
    tokens, gap = [], float("inf")
    with torch.no_grad():
        for p in prompts:
            out = model(torch.tensor([p], device="cuda"), use_cache=True)
            cache, row, mine = out.past_key_values, out.logits[0, -1], []
            for _ in range(NEW_TOKENS):
                top = torch.topk(row.double(), 2)
                gap = min(gap, (top.values[0] - top.values[1]).item())
                mine.append(int(torch.argmax(row).item()))
                out = model(torch.tensor([[mine[-1]]], device="cuda"), past_key_values=cache, use_cache=True)
                cache, row = out.past_key_values, out.logits[0, -1]
            tokens.append(mine)
    return tokens, gap


def measure(folder, prompts_path, out_path):
    prompts = json.load(open(prompts_path))
    result = {"torch": torch.__version__, "transformers": transformers.__version__,
              "card": torch.cuda.get_device_name(0)}
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16, device_map="cuda")
    model.eval()
    result["loadSeconds"] = time.perf_counter() - start
    result["parameters"] = sum(p.numel() for p in model.parameters())
    result["generateTokensPerSecond"], result["bf16Tokens"] = generate_rate(model, prompts)
    times = forward_times(model, prompts[0])
    result["eagerT1Ms"], result["eagerT16Ms"], result["eagerT64Ms"] = times[1], times[16], times[64]
    del model
    torch.cuda.empty_cache()
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, device_map="cuda")
    model.eval()
    result["float32Tokens"], result["float32SmallestTop2Gap"] = greedy_float32(model, prompts)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("Tokens")}))


def merge(work, out_path):
    """The result file: our bench's JSON (`ours.json`, from `npm run bench:gpu -- --hf`) beside PyTorch's."""
    read = lambda name: json.load(open(os.path.join(work, name)))
    ours, theirs, written = read("ours.json"), read("torch.json"), read("write.json")
    try:
        compiled_run = read("compiled.json")
    except (OSError, ValueError) as e:
        compiled_run = {"compiledT1Ms": None, "compiledError": str(e)}
    reference = theirs["float32Tokens"]
    result = {
        "date": ours.get("date"), "card": theirs["card"], "adapter": ours.get("adapter"),
        "copyBandwidthGBs": ours["copyBandwidthGBs"],
        "identicalTokens": ours["ar"]["tokens"] == reference,
        "identicalPerPrompt": [a == b for a, b in zip(ours["ar"]["tokens"], reference)],
        "jacobiIdenticalToAr": ours["jacobi"]["identicalTokens"],
        "float32SmallestTop2Gap": theirs["float32SmallestTop2Gap"],
        "bf16GenerateEqualsFloat32": theirs["bf16Tokens"] == reference,
        "model": {"architecture": ours["model"]["architecture"], "parameters": ours["model"]["parameters"],
                  "dtype": ours["model"]["dtype"], "writeSeconds": written["writeSeconds"]},
        "ours": {"loadSeconds": ours["loadSeconds"], "peakHostBytes": ours["peakHostBytes"],
                 "weightBytesOnGpu": ours["weightBytesOnGpu"], "t1Ms": ours["t1Ms"], "t16Ms": ours["t16Ms"],
                 "t64Ms": ours["t64Ms"], "streamFloorMs": ours["streamFloorMs"],
                 "t1OverStreamFloor": ours["t1Ms"] / ours["streamFloorMs"],
                 "t16OverT1": ours["t16Ms"] / ours["t1Ms"], "t64OverT1": ours["t64Ms"] / ours["t1Ms"],
                 "arTokensPerSecond": ours["ar"]["tokensPerSecond"],
                 "jacobi": {k: v for k, v in ours["jacobi"].items() if k != "tokens"}},
        "pytorch": {"torch": theirs["torch"], "transformers": theirs["transformers"],
                    "generateTokensPerSecond": theirs["generateTokensPerSecond"], "eagerT1Ms": theirs["eagerT1Ms"],
                    "eagerT16Ms": theirs["eagerT16Ms"], "eagerT64Ms": theirs["eagerT64Ms"],
                    "compiledT1Ms": compiled_run.get("compiledT1Ms"),
                    "compileWarmupSeconds": compiled_run.get("compileWarmupSeconds"),
                    **({"compiledError": compiled_run["compiledError"]} if "compiledError" in compiled_run else {}),
                    "loadSeconds": theirs["loadSeconds"]},
        "prompts": ours["prompts"], "arTokens": ours["ar"]["tokens"], "float32Tokens": reference,
        "oursBench": {k: v for k, v in ours.items() if k not in ("ar", "jacobi", "prompts")},
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: result[k] for k in ("card", "identicalTokens", "ours", "pytorch")}, indent=1))


if __name__ == "__main__":
    {"write": write, "torch": measure, "compiled": compiled, "merge": merge}[sys.argv[1]](*sys.argv[2:])
