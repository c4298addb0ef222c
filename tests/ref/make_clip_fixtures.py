#!/usr/bin/python3
"""Independent PyTorch reference of the CLIP text encoder and of CoOp, used to
record the fixtures under tests/fixtures/clip/ that tests/test_clip.c reads.

The transformer is written here from plain tensor operations, following the
Hugging Face CLIPTextModel as documented (pre-LayerNorm blocks, causal
self-attention with queries scaled by head_dim ** -0.5, quick_gelu or erf
GELU, final LayerNorm, pooling at the argmax of the ids, then the text
projection without bias).  Every prompt runs over all 77 positions, as CoOp
does; gradients come from autograd.  Arithmetic is float64, on weights that
are exactly the float32 values the C code reads (F16 and BF16 tensors are
rounded first), so the C results can be held to float32 rounding.

Models are tiny and random (vocabulary of 64 ids: start 62, end 63) so the
committed files stay small; the tokenizer is not involved.

Usage: make_clip_fixtures.py OUTDIR  (run from anywhere; Debian's python3-torch)
The module also serves bench/bench_coop.py: write_model(), TextModel and
coop_step().
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

CONTEXT = 77

DTYPE_CODES = {"F32": np.float32, "F16": np.float16}


def write_safetensors(path, tensors):
    """Writes {name: (dtype, numpy array)} in the safetensors layout.

    dtype is "F32", "F16", "BF16" or "I64"; BF16 arrays are given as float32
    and truncated to their upper 16 bits after rounding to nearest even."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, (dtype, array) in tensors.items():
        if dtype == "BF16":
            bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
            rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
            blob = rounded.tobytes()
        elif dtype == "I64":
            blob = np.ascontiguousarray(array, dtype="<i8").tobytes()
        else:
            blob = np.ascontiguousarray(array, dtype=DTYPE_CODES[dtype]).astype(
                np.dtype(DTYPE_CODES[dtype]).newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def stored_value(dtype, array):
    """The float32 values a reader gets back from array stored as dtype."""
    a = np.asarray(array, dtype=np.float32)
    if dtype == "F16":
        return a.astype(np.float16).astype(np.float32)
    if dtype == "BF16":
        bits = a.view(np.uint32)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
        return rounded.astype(np.uint32).view(np.float32)
    return a


def random_model(rng, vocab, width, layers, heads, mlp, proj, act, dtypes):
    """Returns (config dict, {name: (dtype, array)}) of a random CLIP model.

    dtypes maps a tensor class ("emb", "weight", "norm") to its stored dtype."""
    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    t = {}
    t["text_model.embeddings.token_embedding.weight"] = (dtypes["emb"], normal((vocab, width), 0.5))
    t["text_model.embeddings.position_embedding.weight"] = (dtypes["emb"], normal((CONTEXT, width), 0.2))
    t["text_model.embeddings.position_ids"] = ("I64", np.arange(CONTEXT, dtype=np.int64)[None, :])
    for i in range(layers):
        p = "text_model.encoder.layers.%d." % i
        for n in ("q", "k", "v", "out"):
            t[p + "self_attn.%s_proj.weight" % n] = (dtypes["weight"], normal((width, width), 1.0 / math.sqrt(width)))
            t[p + "self_attn.%s_proj.bias" % n] = (dtypes["weight"], normal((width,), 0.1))
        for n in ("layer_norm1", "layer_norm2"):
            t[p + n + ".weight"] = (dtypes["norm"], 1.0 + normal((width,), 0.1))
            t[p + n + ".bias"] = (dtypes["norm"], normal((width,), 0.1))
        t[p + "mlp.fc1.weight"] = (dtypes["weight"], normal((mlp, width), 1.0 / math.sqrt(width)))
        t[p + "mlp.fc1.bias"] = (dtypes["weight"], normal((mlp,), 0.1))
        t[p + "mlp.fc2.weight"] = (dtypes["weight"], normal((width, mlp), 1.0 / math.sqrt(mlp)))
        t[p + "mlp.fc2.bias"] = (dtypes["weight"], normal((width,), 0.1))
    t["text_model.final_layer_norm.weight"] = (dtypes["norm"], 1.0 + normal((width,), 0.1))
    t["text_model.final_layer_norm.bias"] = (dtypes["norm"], normal((width,), 0.1))
    t["text_projection.weight"] = (dtypes["weight"], normal((proj, width), 1.0 / math.sqrt(width)))
    # a sliver of the image side, which the text loader skips
    t["visual_projection.weight"] = ("F32", normal((proj, 16), 0.1))
    t["logit_scale"] = ("F32", np.array(math.log(100.0), dtype=np.float32))
    config = {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": proj,
        "logit_scale_init_value": 2.6592,
        "text_config": {
            "vocab_size": vocab, "hidden_size": width, "intermediate_size": mlp,
            "num_attention_heads": heads, "num_hidden_layers": layers,
            "max_position_embeddings": CONTEXT, "hidden_act": act,
            "layer_norm_eps": 1e-5, "projection_dim": proj,
            # outdated, as in the published configs: pooling ignores it
            "bos_token_id": 0, "eos_token_id": 2,
        },
        "vision_config": {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                          "intermediate_size": 32, "image_size": 32, "patch_size": 16},
    }
    return config, t


def write_model(folder, config, tensors):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors)


class TextModel:
    """The CLIP text transformer on given weights, in float64 (or float32)."""

    def __init__(self, config, tensors, dtype=torch.float64):
        tc = config["text_config"]
        self.width = tc["hidden_size"]
        self.heads = tc["num_attention_heads"]
        self.layers = tc["num_hidden_layers"]
        self.eps = tc["layer_norm_eps"]
        self.act = tc["hidden_act"]
        self.w = {name: torch.tensor(stored_value(d, a), dtype=dtype)
                  for name, (d, a) in tensors.items() if d != "I64"}

    def layernorm(self, x, name):
        return torch.nn.functional.layer_norm(x, (self.width,), self.w[name + ".weight"],
                                              self.w[name + ".bias"], self.eps)

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def activation(self, x):
        if self.act == "quick_gelu":
            return x * torch.sigmoid(1.702 * x)
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))

    def embed(self, ids):
        return self.w["text_model.embeddings.token_embedding.weight"][ids]

    def forward(self, tokens, ids):
        """tokens (n, L, W) token embeddings; ids (n, L) for the pooling."""
        n, length, width = tokens.shape
        hd = width // self.heads
        x = tokens + self.w["text_model.embeddings.position_embedding.weight"][:length]
        mask = torch.full((length, length), float("-inf"), dtype=x.dtype).triu(1)
        for i in range(self.layers):
            p = "text_model.encoder.layers.%d." % i
            h = self.layernorm(x, p + "layer_norm1")
            q = self.linear(h, p + "self_attn.q_proj") * hd ** -0.5
            k = self.linear(h, p + "self_attn.k_proj")
            v = self.linear(h, p + "self_attn.v_proj")
            q, k, v = (t.view(n, length, self.heads, hd).transpose(1, 2) for t in (q, k, v))
            att = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
            out = (att @ v).transpose(1, 2).reshape(n, length, width)
            x = x + self.linear(out, p + "self_attn.out_proj")
            h = self.layernorm(x, p + "layer_norm2")
            x = x + self.linear(self.activation(self.linear(h, p + "mlp.fc1")), p + "mlp.fc2")
        x = self.layernorm(x, "text_model.final_layer_norm")
        pooled = x[torch.arange(n), ids.argmax(dim=-1)]
        return pooled @ self.w["text_projection.weight"].T


def coop_prompts(model, ctx, names, tail, position, sot, eot, placeholder):
    """Builds the 77-token prompts of CoOp: ids (C, 77) and embeddings.

    ctx is (M, W) unified or (C, M, W) class-specific."""
    n_classes = len(names)
    m = ctx.shape[-2]
    half = m // 2
    rows, embs = [], []
    for c, name in enumerate(names):
        cc = ctx if ctx.dim() == 2 else ctx[c]
        if position == "end":
            parts = [("ctx", cc), ("ids", name + tail)]
        elif position == "middle":
            parts = [("ctx", cc[:half]), ("ids", name), ("ctx", cc[half:]), ("ids", tail)]
        else:
            parts = [("ids", name), ("ctx", cc), ("ids", tail)]
        ids = [sot]
        pieces = [model.embed(torch.tensor([sot]))]
        for kind, value in parts:
            if kind == "ctx":
                ids += [placeholder] * value.shape[0]
                pieces.append(value)
            else:
                ids += value
                pieces.append(model.embed(torch.tensor(value, dtype=torch.long)))
        ids.append(eot)
        pieces.append(model.embed(torch.tensor([eot])))
        pad = CONTEXT - len(ids)
        ids += [0] * pad
        pieces.append(model.embed(torch.zeros(pad, dtype=torch.long)))
        rows.append(ids)
        embs.append(torch.cat(pieces))
    return torch.tensor(rows), torch.stack(embs)


def coop_step(model, ctx, names, tail, position, sot, eot, placeholder, x, labels, scale):
    """Cross-entropy of CoOp's cosine logits and its gradient on ctx."""
    ctx = ctx.detach().clone().requires_grad_(True)
    ids, emb = coop_prompts(model, ctx, names, tail, position, sot, eot, placeholder)
    w = model.forward(emb, ids)
    wn = w / w.norm(dim=-1, keepdim=True)
    xn = x / x.norm(dim=-1, keepdim=True)
    logits = scale * xn @ wn.T
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    return w.detach(), loss.item(), ctx.grad.detach()


def save(folder, name, array):
    np.save(os.path.join(folder, name), np.ascontiguousarray(array))


def write_encode_case(folder, model, rng, vocab, sot, eot):
    """Token sequences padded to 77 (one filling all 77) and their features."""
    lengths = [1, 3, 7, 75]
    ids = np.zeros((len(lengths), CONTEXT), dtype=np.int64)
    for i, n in enumerate(lengths):
        ids[i, 0] = sot
        ids[i, 1:n + 1] = rng.integers(0, vocab - 2, n)
        ids[i, n + 1] = eot
    feats = model.forward(model.embed(torch.tensor(ids)), torch.tensor(ids))
    with open(os.path.join(folder, "encode_ids.txt"), "w") as f:
        for row in ids:
            f.write(" ".join(str(v) for v in row) + "\n")
    save(folder, "encode_features.npy", feats.numpy())


def write_coop_case(folder, model, rng, case, width, proj, sot, eot, vocab):
    os.makedirs(folder, exist_ok=True)
    names = case["names"]
    m = case["n_ctx"]
    n_classes = len(names)
    shape = (n_classes, m, width) if case["csc"] else (m, width)
    ctx = torch.tensor(rng.standard_normal(shape) * 0.3)
    x = torch.tensor(rng.standard_normal((case["batch"], proj)))
    labels = torch.tensor(rng.integers(0, n_classes, case["batch"]))
    w, loss, grad = coop_step(model, ctx, names, case["tail"], case["position"], sot, eot,
                              case["placeholder"], x, labels, case["scale"])
    with open(os.path.join(folder, "case.txt"), "w") as f:
        f.write("n_ctx %d\ncsc %d\nposition %s\nscale %.17g\nsot %d\neot %d\nloss %.17g\n"
                % (m, case["csc"], case["position"], case["scale"], sot, eot, loss))
        f.write("tail %s\n" % " ".join(str(t) for t in case["tail"]))
        for name in names:
            f.write("class %s\n" % " ".join(str(t) for t in name))
    save(folder, "ctx.npy", ctx.reshape(-1, width).numpy().astype(np.float32))
    save(folder, "x.npy", x.numpy().astype(np.float32))
    save(folder, "labels.npy", labels.numpy().astype(np.int32))
    save(folder, "weights.npy", w.numpy())
    save(folder, "grad.npy", grad.reshape(-1, width).numpy())


MODELS = {
    # name: vocab, width, layers, heads, mlp, proj, act, dtypes
    "model_a": (64, 32, 2, 4, 64, 24, "quick_gelu", {"emb": "F32", "weight": "F32", "norm": "F32"}),
    "model_b": (64, 24, 3, 3, 40, 16, "gelu", {"emb": "F16", "weight": "BF16", "norm": "F32"}),
}

COOP_CASES = {
    "model_a": {
        "uni_end": {"n_ctx": 4, "csc": 0, "position": "end"},
        "uni_middle": {"n_ctx": 5, "csc": 0, "position": "middle"},
        "csc_front": {"n_ctx": 3, "csc": 1, "position": "front"},
        "csc_end": {"n_ctx": 4, "csc": 1, "position": "end"},
    },
    "model_b": {
        "uni_end": {"n_ctx": 6, "csc": 0, "position": "end"},
    },
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_clip_fixtures.py OUTDIR")
    out = sys.argv[1]
    rng = np.random.default_rng(20240521)
    for model_name, (vocab, width, layers, heads, mlp, proj, act, dtypes) in MODELS.items():
        folder = os.path.join(out, model_name)
        config, tensors = random_model(rng, vocab, width, layers, heads, mlp, proj, act, dtypes)
        write_model(folder, config, tensors)
        model = TextModel(config, tensors)
        sot, eot = vocab - 2, vocab - 1
        write_encode_case(folder, model, rng, vocab, sot, eot)
        for case_name, case in COOP_CASES[model_name].items():
            names = [list(rng.integers(0, vocab - 2, k)) for k in (1, 3, 2, 1, 4)]
            case = dict(case, names=[[int(t) for t in n] for n in names], tail=[5],
                        placeholder=7, batch=6, scale=20.0)
            write_coop_case(os.path.join(folder, case_name), model, rng, case, width, proj,
                            sot, eot, vocab)


if __name__ == "__main__":
    main()
