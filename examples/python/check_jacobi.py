"""Test a Jacobi decoder written elsewhere against jacobi-forcing, on the same checkpoint.

This is "your implementation": a Llama-family forward in numpy, AR greedy, and block Jacobi decoding,
written from the paper and docs/ARCHITECTURE.md without importing anything from this repository. It is
checked against the reference through the CLI's JSON output only, the way any other language would:

  1. the forward:  `jacobi-forcing logits --json`    -> [T][V] float64 logits, compared to 1e-9
  2. AR greedy:    `jacobi-forcing generate --json`  -> the tokens, compared token for token
  3. Jacobi:       `generate --json --method jacobi --init repeat-last`
                   -> the tokens AND the forwards spent on each block: drafts that repeat the anchor
                      (the first token of a block, the model's token after the text so far) are
                      deterministic, so a correct Jacobi decoder needs exactly as many iterations as ours.

Run from anywhere:  python3 examples/python/check_jacobi.py [MODEL_DIR] [PROMPT]
Needs: python3, numpy, node (for the CLI). Exit status 0 when everything matches, 1 otherwise.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "models", "math-teacher")
PROMPT = sys.argv[2] if len(sys.argv) > 2 else "914+169\n"
BLOCK_SIZE = 16
MAX_NEW_TOKENS = 48


def ours(*args):
    """Runs the jacobi-forcing CLI and parses the JSON it prints."""
    cli = ["node", os.path.join(REPO, "bin", "jacobi-forcing.js")]
    return json.loads(subprocess.run(cli + list(args), check=True, capture_output=True, text=True).stdout)


# ---------------------------------------------------------------- the checkpoint

def load_safetensors(path):
    """name -> float64 array. Layout: u64 little-endian header size N, N bytes of JSON, raw data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    tensors = {}
    for name, info in json.loads(data[8:8 + n]).items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": "<f4", "F64": "<f8"}[info["dtype"]]
        raw = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtype)
        tensors[name] = raw.astype(np.float64).reshape(info["shape"])
    return tensors


config = json.load(open(os.path.join(MODEL, "config.json")))
W = load_safetensors(os.path.join(MODEL, "model.safetensors"))
vocab = json.load(open(os.path.join(MODEL, "tokenizer.json")))["model"]["vocab"]   # Hugging Face's format
BOS, EOS = config["bos_token_id"], config["eos_token_id"]
prompt = [BOS] + [vocab[c] for c in PROMPT]                    # one id per character after PAD 0, BOS 1, EOS 2


# ---------------------------------------------------------------- the forward

def rms_norm(x, w):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + config["rms_norm_eps"]) * w


def rope(x, heads):
    """Rotary embedding, Hugging Face layout: the two halves of each head are rotated as pairs."""
    T = x.shape[0]
    D = x.shape[1] // heads
    inv_freq = 1.0 / config["rope_theta"] ** (np.arange(0, D, 2) / D)            # [D/2]
    angle = np.arange(T)[:, None] * inv_freq[None, :]                            # [T, D/2]
    cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    x = x.reshape(T, heads, D)
    x1, x2 = x[..., :D // 2], x[..., D // 2:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1).reshape(T, heads * D)


def forward(tokens):
    """[T] token ids -> [T, V] logits; causal, positions 0..T-1, no cache."""
    H, Hkv = config["num_attention_heads"], config["num_key_value_heads"]
    C = config["hidden_size"]
    D = config.get("head_dim", C // H)
    T = len(tokens)
    bias = config.get("attention_bias", False)
    x = W["model.embed_tokens.weight"][tokens]                                   # [T, C]
    causal = np.tril(np.ones((T, T), dtype=bool))
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        lin = lambda h, name: h @ W[p + name + ".weight"].T + (W[p + name + ".bias"] if bias and name[-6:] != "o_proj" else 0)
        h = rms_norm(x, W[p + "input_layernorm.weight"])
        q = rope(lin(h, "self_attn.q_proj"), H).reshape(T, H, D)
        k = rope(lin(h, "self_attn.k_proj"), Hkv).reshape(T, Hkv, D)
        v = lin(h, "self_attn.v_proj").reshape(T, Hkv, D)
        k, v = np.repeat(k, H // Hkv, axis=1), np.repeat(v, H // Hkv, axis=1)    # grouped-query attention
        scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(D)                    # [H, T, T]
        scores = np.where(causal, scores, -np.inf)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        att = scores / scores.sum(axis=-1, keepdims=True)
        x = x + np.einsum("hts,shd->thd", att, v).reshape(T, H * D) @ W[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, W[p + "post_attention_layernorm.weight"])
        gate, up = m @ W[p + "mlp.gate_proj.weight"].T, m @ W[p + "mlp.up_proj.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ W[p + "mlp.down_proj.weight"].T
    head = W["model.embed_tokens.weight"] if config.get("tie_word_embeddings") else W["lm_head.weight"]
    return rms_norm(x, W["model.norm.weight"]) @ head.T


def greedy(logits):
    return [int(t) for t in np.argmax(logits, axis=-1)]   # np.argmax keeps the FIRST maximum, as ours does


# ---------------------------------------------------------------- the decoders

def ar_greedy(prompt, max_new):
    out = []
    while len(out) < max_new:
        out.append(greedy(forward(prompt + out))[-1])
        if out[-1] == EOS:
            break
    return out


def jacobi(prompt, max_new, n):
    """Block Jacobi, full recompute, drafts = the anchor repeated. Returns tokens, iterations per block."""
    out, iterations = [], []
    anchor = greedy(forward(prompt))[-1]                                # the prefill: the first anchor
    while len(out) < max_new:
        m = min(n, max_new - len(out))
        y = [anchor] * m                                                # y(0)
        for it in range(1, m + 1):
            context = prompt + out
            g = greedy(forward(context + y))[len(context) - 1:]         # g[i]: the token after y[:i]
            fixed = 1                                                   # y[0] is the anchor: always right
            while fixed < m and y[fixed] == g[fixed]:
                fixed += 1
            if EOS in y[:fixed]:
                fixed = y.index(EOS) + 1                                # keep through the first EOS
            if fixed == m or y[fixed - 1] == EOS:
                break
            y = g[:m]                                                   # the Jacobi update: y(j+1)
        out += y[:fixed]
        iterations.append(it)
        anchor = g[fixed]                                               # the token after the block
        if out[-1] == EOS:
            break
    return out, iterations


# ---------------------------------------------------------------- the checks

ok = True
ids = ",".join(map(str, prompt))
print(f"checkpoint {os.path.relpath(MODEL)}: {config['model_type']}, {config['num_hidden_layers']} layers, "
      f"width {config['hidden_size']}, vocab {config['vocab_size']}; prompt {PROMPT!r} = [{ids}]")

theirs = np.array(ours("logits", "--model", MODEL, "--prompt-ids", ids, "--json"))
mine = forward(prompt)
diff = np.abs(theirs - mine).max()
same_rows = greedy(theirs) == greedy(mine)
print(f"1. logits {list(mine.shape)}: largest |ours - numpy| = {diff:.1e} (logits up to {np.abs(theirs).max():.1f}); "
      f"argmax of every row identical: {same_rows}")
ok &= diff < 1e-9 and same_rows

ar = ours("generate", "--model", MODEL, "--prompt-ids", ids, "--max-new-tokens", str(MAX_NEW_TOKENS), "--json")
mine = ar_greedy(prompt, MAX_NEW_TOKENS)
print(f"2. AR greedy: {len(mine)} tokens, identical to ours: {mine == ar['tokens']}  {ar['text']!r}")
ok &= mine == ar["tokens"]

jf = ours("generate", "--model", MODEL, "--prompt-ids", ids, "--max-new-tokens", str(MAX_NEW_TOKENS), "--json",
          "--method", "jacobi", "--block-size", str(BLOCK_SIZE), "--init", "repeat-last")
mine, iterations = jacobi(prompt, MAX_NEW_TOKENS, BLOCK_SIZE)
print(f"3. Jacobi n={BLOCK_SIZE}: tokens identical to ours: {mine == jf['tokens']}; iterations per block "
      f"numpy {iterations}, ours {jf['stats']['iterationsPerBlock']}; TPF {jf['stats']['tokensPerForward']:.2f}")
ok &= mine == jf["tokens"] and iterations == jf["stats"]["iterationsPerBlock"] and mine == ar["tokens"]

print("OK: this implementation agrees with jacobi-forcing" if ok else "MISMATCH: see above")
sys.exit(0 if ok else 1)
