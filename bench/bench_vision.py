#!/usr/bin/python3
"""Benchmark of the CLIP image encoder: the C forward pass against PyTorch.

Builds a random model with ViT-B/32's image sizes (width 768, 12 layers, 12
heads, MLP 3072, 224 pixels in patches of 32, projection 512; a one-layer
text encoder, which neither side runs) in the Hugging Face layout in a
temporary folder, then measures, on the same number of threads (default 2):
  - the C encoder (bench/bench_vision, built with `make bench/bench_vision`),
    with an OpenBLAS sgemm in the same process for the fraction of its rate;
  - the same forward pass in PyTorch (tests/ref/make_vision_fixtures.py's
    VisionModel: conv2d patch embedding, plain tensor operations, float32,
    torch.no_grad()).
Both encode batches of --batch random preprocessed images, time --repeats
batches after one untimed batch, and run in their own process.  Image
decoding and resizing are not included.

Usage: bench/bench_vision.py [--build DIR] [--threads 2] [--batch 32] [--repeats 3]
"""
import argparse
import json
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
import make_vision_fixtures as vref  # noqa: E402

VISION = dict(width=768, layers=12, heads=12, mlp=3072, image=224, patch=32, proj=512)


def build_model(folder):
    rng = np.random.default_rng(1)
    f32 = {"emb": "F32", "weight": "F32", "norm": "F32"}
    config, tensors = ref.random_model(rng, 64, 16, 1, 2, 32, VISION["proj"], "quick_gelu", f32)
    del tensors["visual_projection.weight"]
    tensors.update(vref.vision_tensors(rng, VISION["width"], VISION["layers"], VISION["mlp"],
                                       VISION["image"], VISION["patch"], VISION["proj"], f32))
    config["vision_config"] = {"hidden_size": VISION["width"], "num_hidden_layers": VISION["layers"],
                               "num_attention_heads": VISION["heads"], "intermediate_size": VISION["mlp"],
                               "image_size": VISION["image"], "patch_size": VISION["patch"],
                               "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
    ref.write_model(folder, config, tensors)


def torch_child(folder, threads, batch, repeats):
    """Runs in a child process: images per second of the PyTorch encoder."""
    import torch

    torch.set_num_threads(threads)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(folder, "model.safetensors"))
    model = vref.VisionModel(config, tensors, dtype=torch.float32)
    pixels = torch.randn(batch, 3, VISION["image"], VISION["image"])
    with torch.no_grad():
        model.forward(pixels)
        start = time.perf_counter()
        for _ in range(repeats):
            model.forward(pixels)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("images_per_s=%.3f peak_mb=%.0f" % (batch * repeats / seconds, peak))


def read_safetensors(path):
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
        out[name] = (entry["dtype"], np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"]))
    return out


def run(cmd, env):
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("bench_vision: %s failed: %s" % (cmd[0], result.stderr.strip()))
    line = result.stdout.strip().splitlines()[-1]
    return {k: float(v) for k, v in (item.split("=") for item in line.split())}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        torch_child(args.child[0], args.threads, args.batch, args.repeats)
        return

    binary = os.path.join(args.build, "bench", "bench_vision")
    if not os.path.exists(binary):
        sys.exit("bench_vision: %s not found: run 'make bench/bench_vision' in the build folder" % binary)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    folder = tempfile.mkdtemp(prefix="tp-bench-vision-")
    try:
        build_model(folder)
        c = run([binary, folder, str(args.batch), str(args.repeats)], env)
        py = run([sys.executable, os.path.abspath(__file__), "--child", folder, "--threads", str(args.threads),
                  "--batch", str(args.batch), "--repeats", str(args.repeats)], env)
    finally:
        shutil.rmtree(folder)
    print("ViT-B/32 image encoder, batches of %d, %d threads; sgemm 1024^3 at %.1f GFLOP/s"
          % (args.batch, args.threads, c["sgemm_gflops"]))
    print("| implementation | images/s | GFLOP/s | of sgemm | peak MB | speed-up over PyTorch |")
    print("|----------------|---------:|--------:|---------:|--------:|----------------------:|")
    print("| PyTorch %s, float32 | %.2f | - | - | %.0f | 1.0x |"
          % (__import__("torch").__version__, py["images_per_s"], py["peak_mb"]))
    print("| C, OpenBLAS | %.2f | %.1f | %.0f%% | %.0f | %.2fx |"
          % (c["images_per_s"], c["gflops"], 100.0 * c["gflops"] / c["sgemm_gflops"], c["peak_mb"],
             c["images_per_s"] / py["images_per_s"]))


if __name__ == "__main__":
    main()
