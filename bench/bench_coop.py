#!/usr/bin/python3
"""Benchmark of one CoOp training step: the C head against PyTorch.

Builds a random model with ViT-B/32's text sizes (vocabulary 49408, width
512, 12 layers, 8 heads, MLP 2048, projection 512) in the Hugging Face layout
in a temporary folder (about 250 MB, removed at the end), then times, on the
same number of threads (default 2):
  - the C step (bench/bench_coop, built with `make bench/bench_coop`) for
    each class count and mode: full 77 tokens, cut at EOT, shared prefix;
  - the same step as CoOp runs it in PyTorch: every prompt over all 77
    positions, autograd, frozen weights, float32;
  - an sgemm of OpenBLAS in the same run, for the fraction of its rate that
    the C step reaches (FLOPs of the linear layers, forward plus backward to
    the inputs, divided by the time).
Every configuration runs in its own process, so its peak resident memory is
its own, and each times its steps after one untimed warm-up step.  A step: 16 context vectors, batch 32 of cached image features,
cosine logits with scale 100, cross-entropy, gradient on the context.

Usage: bench/bench_coop.py [--build DIR] [--threads 2] [--classes 10,100,1000]
       [--torch-max 100] [--full-max 100]
Configurations above --torch-max (PyTorch) or --full-max (C full length)
classes are skipped and reported as such: at 1000 classes PyTorch's
full-length step needs tens of GB of activations.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "ref"))

import numpy as np  # noqa: E402

import make_clip_fixtures as ref  # noqa: E402

SIZES = dict(vocab=49408, width=512, layers=12, heads=8, mlp=2048, proj=512)


def build_model(folder):
    rng = np.random.default_rng(1)
    dtypes = {"emb": "F32", "weight": "F32", "norm": "F32"}
    config, tensors = ref.random_model(rng, SIZES["vocab"], SIZES["width"], SIZES["layers"],
                                       SIZES["heads"], SIZES["mlp"], SIZES["proj"],
                                       "quick_gelu", dtypes)
    ref.write_model(folder, config, tensors)


def torch_step(folder, n_classes, threads, repeats):
    """Runs in a child process: time and peak memory of PyTorch's CoOp step."""
    import json
    import torch

    torch.set_num_threads(threads)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(folder, "model.safetensors"))
    model = ref.TextModel(config, tensors, dtype=torch.float32)
    for t in model.w.values():
        t.requires_grad_(False)
    rng = np.random.default_rng(5)
    names = [[int(v) for v in rng.integers(1000, 41000, 1 + c % 3)] for c in range(n_classes)]
    ctx = torch.randn(16, SIZES["width"]) * 0.02
    x = torch.randn(32, SIZES["proj"])
    labels = torch.arange(32) % n_classes
    start = None
    for step in range(repeats + 1):
        if step == 1:
            # the first step warms up the allocator and the thread pool
            start = time.perf_counter()
        ctx_var = ctx.clone().requires_grad_(True)
        ids, emb = ref.coop_prompts(model, ctx_var, names, [269], "end", 49406, 49407, 343)
        w = model.forward(emb, ids)
        wn = w / w.norm(dim=-1, keepdim=True)
        xn = x / x.norm(dim=-1, keepdim=True)
        loss = torch.nn.functional.cross_entropy(100.0 * xn @ wn.T, labels)
        loss.backward()
    seconds = (time.perf_counter() - start) / repeats
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("seconds=%.4f peak_mb=%.0f loss=%.4f" % (seconds, peak, loss.item()))


def read_safetensors(path):
    import json
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[entry["dtype"]]
        array = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
        out[name] = (entry["dtype"], array)
    return out


def parse(line):
    return {k: float(v) for k, v in (item.split("=") for item in line.split())}


def run(cmd, env):
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        return None, result.stderr.strip()
    return parse(result.stdout.strip().splitlines()[-1]), None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--classes", default="10,100,1000")
    parser.add_argument("--torch-max", type=int, default=100)
    parser.add_argument("--full-max", type=int, default=100)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        torch_step(args.child[0], int(args.child[1]), args.threads, int(args.child[2]))
        return
    binary = os.path.join(args.build, "bench", "bench_coop")
    if not os.access(binary, os.X_OK):
        sys.exit("bench_coop.py: %s not found: run 'make bench/bench_coop' in the build folder" % binary)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    classes = [int(c) for c in args.classes.split(",")]
    folder = tempfile.mkdtemp(prefix="tp_bench_")
    try:
        print("building a random ViT-B/32-text-sized model in %s ..." % folder, flush=True)
        build_model(folder)
        rate, _ = run([binary, "sgemm", "1024"], env)
        print("OpenBLAS sgemm 1024^3 on %d threads: %.1f GFLOP/s" % (args.threads, rate["sgemm_gflops"]))
        print()
        print("%7s  %-7s  %9s  %9s  %8s  %9s  %9s" % ("classes", "mode", "step (s)", "GFLOP/s", "of sgemm",
                                                   "peak MB", "vs torch"))
        for c in classes:
            torch_res = None
            if c <= args.torch_max:
                torch_res, error = run([sys.executable, os.path.abspath(__file__), "--threads",
                                        str(args.threads), "--child", folder, str(c), "1"], env)
                if torch_res:
                    print("%7d  %-7s  %9.3f  %9s  %8s  %9.0f  %9s" % (c, "pytorch", torch_res["seconds"], "-", "-",
                                                                   torch_res["peak_mb"], "1.0x"), flush=True)
                else:
                    print("%7d  pytorch  failed: %s" % (c, error[-200:]), flush=True)
            else:
                print("%7d  pytorch  not run (above --torch-max %d)" % (c, args.torch_max), flush=True)
            for mode in ("full", "eot", "shared"):
                if mode == "full" and c > args.full_max:
                    print("%7d  %-7s  not run (above --full-max %d)" % (c, mode, args.full_max), flush=True)
                    continue
                repeats = 3 if c <= 100 and mode != "full" else 1
                res, error = run([binary, "step", folder, str(c), mode, str(repeats)], env)
                if not res:
                    print("%7d  %-7s  failed: %s" % (c, mode, error), flush=True)
                    continue
                gflops = res["gflop"] / res["seconds"]
                ratio = "%.1fx" % (torch_res["seconds"] / res["seconds"]) if torch_res else "-"
                print("%7d  %-7s  %9.3f  %9.1f  %7.0f%%  %9.0f  %9s" % (
                    c, mode, res["seconds"], gflops, 100.0 * gflops / rate["sgemm_gflops"],
                    res["peak_mb"], ratio), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
