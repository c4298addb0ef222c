#!/usr/bin/python3
"""Independent reference of CLIP's image side, used to record the fixtures
under tests/fixtures/clip/vision/ that tests/test_vision.c reads.

Preprocessing is the pipeline of Hugging Face's CLIPImageProcessor, done
with PIL (Pillow 9.4, Debian's python3-pil): convert to RGB, resize the
shorter side to image_size with Image.BICUBIC (the other side becomes
int(image_size * long / short)), centre crop with the offset
(size - image_size) // 2, scale to [0, 1] and normalise with CLIP's mean and
standard deviation.  The vision transformer is written from plain tensor
operations after the Hugging Face CLIPVisionModel: the patch embedding is
torch's conv2d with stride patch_size, then class token, position
embeddings, pre_layrnorm, pre-LayerNorm blocks with full self-attention,
post_layernorm of the class token and the visual projection.  Arithmetic is
float64 on the float32 values the C loader reads (F16 and BF16 tensors are
rounded first).

Written under OUTDIR:
  images/           a.png RGB 45x30, b.png greyscale 37x53, c.jpg RGB JPEG
                    64x50, d.png palette 20x26 (upscaled), e.png RGBA 40x40
  decoded/NAME.npy  the image as PIL decodes it to RGB, float32 (h, 3w)
  resize/NAME_WxH.npy  PIL's bicubic resize to W x H, float32 (H, 3W)
  vis_a/, vis_b/    random models (config.json, model.safetensors) with
                    images.txt (the image order), pixels.npy (n, 3 S S),
                    the preprocessed images, and features.npy (n, P), the
                    image features of those pixels, not normalised

Usage: make_vision_fixtures.py OUTDIR
The module also serves bench/bench_vision.py: vision_tensors() and
VisionModel.
"""
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_clip_fixtures as ref  # noqa: E402

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def vision_tensors(rng, width, layers, mlp, image_size, patch, proj, dtypes):
    """{name: (dtype, array)} of a random CLIP image encoder."""
    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    grid = image_size // patch
    t = {}
    t["vision_model.embeddings.class_embedding"] = (dtypes["emb"], normal((width,), 0.5))
    t["vision_model.embeddings.patch_embedding.weight"] = (
        dtypes["weight"], normal((width, 3, patch, patch), 1.0 / math.sqrt(3 * patch * patch)))
    t["vision_model.embeddings.position_embedding.weight"] = (dtypes["emb"], normal((grid * grid + 1, width), 0.2))
    t["vision_model.embeddings.position_ids"] = ("I64", np.arange(grid * grid + 1, dtype=np.int64)[None, :])
    t["vision_model.pre_layrnorm.weight"] = (dtypes["norm"], 1.0 + normal((width,), 0.1))
    t["vision_model.pre_layrnorm.bias"] = (dtypes["norm"], normal((width,), 0.1))
    for i in range(layers):
        p = "vision_model.encoder.layers.%d." % i
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
    t["vision_model.post_layernorm.weight"] = (dtypes["norm"], 1.0 + normal((width,), 0.1))
    t["vision_model.post_layernorm.bias"] = (dtypes["norm"], normal((width,), 0.1))
    t["visual_projection.weight"] = (dtypes["weight"], normal((proj, width), 1.0 / math.sqrt(width)))
    return t


class VisionModel:
    """The CLIP vision transformer on given weights, in float64 (or float32)."""

    def __init__(self, config, tensors, dtype=torch.float64):
        vc = config["vision_config"]
        self.width = vc["hidden_size"]
        self.heads = vc["num_attention_heads"]
        self.layers = vc["num_hidden_layers"]
        self.patch = vc["patch_size"]
        self.eps = vc.get("layer_norm_eps", 1e-5)
        self.act = vc.get("hidden_act", "quick_gelu")
        self.w = {name: torch.tensor(ref.stored_value(d, a), dtype=dtype)
                  for name, (d, a) in tensors.items() if d != "I64" and "text_model" not in name}

    def layernorm(self, x, name):
        return torch.nn.functional.layer_norm(x, (self.width,), self.w[name + ".weight"],
                                              self.w[name + ".bias"], self.eps)

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def activation(self, x):
        if self.act == "quick_gelu":
            return x * torch.sigmoid(1.702 * x)
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))

    def forward(self, pixels):
        """pixels (n, 3, S, S) -> features (n, P), not normalised."""
        n = pixels.shape[0]
        hd = self.width // self.heads
        e = "vision_model.embeddings."
        x = torch.nn.functional.conv2d(pixels, self.w[e + "patch_embedding.weight"], stride=self.patch)
        x = x.flatten(2).transpose(1, 2)
        cls = self.w[e + "class_embedding"].expand(n, 1, self.width)
        x = torch.cat([cls, x], dim=1) + self.w[e + "position_embedding.weight"]
        x = self.layernorm(x, "vision_model.pre_layrnorm")
        length = x.shape[1]
        for i in range(self.layers):
            p = "vision_model.encoder.layers.%d." % i
            h = self.layernorm(x, p + "layer_norm1")
            q = self.linear(h, p + "self_attn.q_proj") * hd ** -0.5
            k = self.linear(h, p + "self_attn.k_proj")
            v = self.linear(h, p + "self_attn.v_proj")
            q, k, v = (t.view(n, length, self.heads, hd).transpose(1, 2) for t in (q, k, v))
            att = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
            out = (att @ v).transpose(1, 2).reshape(n, length, self.width)
            x = x + self.linear(out, p + "self_attn.out_proj")
            h = self.layernorm(x, p + "layer_norm2")
            x = x + self.linear(self.activation(self.linear(h, p + "mlp.fc1")), p + "mlp.fc2")
        pooled = self.layernorm(x[:, 0], "vision_model.post_layernorm")
        return pooled @ self.w["visual_projection.weight"].T


def clip_preprocess(image, size):
    """CLIPImageProcessor's steps on a PIL image: (3, size, size) float32."""
    image = image.convert("RGB")
    w, h = image.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    image = image.resize((new_w, new_h), Image.BICUBIC)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    image = image.crop((left, top, left + size, top + size))
    a = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    a = (a - CLIP_MEAN) / CLIP_STD
    return a.transpose(2, 0, 1).astype(np.float32)


def smooth_image(rng, w, h, channels):
    """Random smooth colour fields plus a little noise, as uint8 (h, w, channels)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.zeros((h, w, channels))
    for c in range(channels):
        for _ in range(3):
            fx, fy, phase = rng.uniform(0.05, 0.6), rng.uniform(0.05, 0.6), rng.uniform(0, 6.3)
            out[..., c] += np.sin(fx * x + fy * y + phase)
        out[..., c] = 128 + 40 * out[..., c] + rng.normal(0, 12, (h, w))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def write_images(folder, rng):
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(smooth_image(rng, 45, 30, 3), "RGB").save(os.path.join(folder, "a.png"))
    Image.fromarray(smooth_image(rng, 37, 53, 1)[..., 0], "L").save(os.path.join(folder, "b.png"))
    Image.fromarray(smooth_image(rng, 64, 50, 3), "RGB").save(os.path.join(folder, "c.jpg"), quality=90)
    palette_image = Image.fromarray(smooth_image(rng, 20, 26, 3), "RGB").quantize(colors=16)
    palette_image.save(os.path.join(folder, "d.png"))
    Image.fromarray(smooth_image(rng, 40, 40, 4), "RGBA").save(os.path.join(folder, "e.png"))
    return ["a.png", "b.png", "c.jpg", "d.png", "e.png"]


RESIZE_CASES = [("a.png", 17, 11), ("a.png", 90, 61), ("b.png", 20, 31), ("c.jpg", 13, 10),
                ("c.jpg", 64, 7), ("d.png", 48, 62), ("e.png", 40, 17)]

MODELS = {
    # name: text (vocab, width, layers, heads, mlp), vision (width, layers, heads, mlp,
    # image_size, patch), proj, act, layer_norm_eps, dtypes
    "vis_a": ((64, 16, 1, 2, 32), (32, 2, 4, 64, 32, 8), 24, "quick_gelu", 1e-5,
              {"emb": "F32", "weight": "F32", "norm": "F32"}),
    # 40 pixels in patches of 12: a 3 x 3 grid that leaves 4 pixels unused
    "vis_b": ((64, 16, 1, 2, 32), (24, 3, 3, 40, 40, 12), 16, "gelu", 1e-6,
              {"emb": "F16", "weight": "BF16", "norm": "F32"}),
}


def write_model_case(folder, rng, names, image_dir, spec):
    (vocab, tw, tl, th, tm), (vw, vl, vh, vm, size, patch), proj, act, eps, dtypes = spec
    config, tensors = ref.random_model(rng, vocab, tw, tl, th, tm, proj, "quick_gelu",
                                       {"emb": "F32", "weight": "F32", "norm": "F32"})
    del tensors["visual_projection.weight"]
    tensors.update(vision_tensors(rng, vw, vl, vm, size, patch, proj, dtypes))
    config["vision_config"] = {"hidden_size": vw, "num_hidden_layers": vl, "num_attention_heads": vh,
                               "intermediate_size": vm, "image_size": size, "patch_size": patch,
                               "hidden_act": act, "layer_norm_eps": eps, "projection_dim": proj}
    ref.write_model(folder, config, tensors)
    pixels = np.stack([clip_preprocess(Image.open(os.path.join(image_dir, n)), size) for n in names])
    model = VisionModel(config, tensors)
    features = model.forward(torch.tensor(pixels, dtype=torch.float64))
    with open(os.path.join(folder, "images.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    ref.save(folder, "pixels.npy", pixels.reshape(len(names), -1))
    ref.save(folder, "features.npy", features.numpy().astype(np.float32))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_vision_fixtures.py OUTDIR")
    out = sys.argv[1]
    rng = np.random.default_rng(20240607)
    image_dir = os.path.join(out, "images")
    names = write_images(image_dir, rng)

    os.makedirs(os.path.join(out, "decoded"), exist_ok=True)
    for n in names:
        a = np.asarray(Image.open(os.path.join(image_dir, n)).convert("RGB"), dtype=np.float32)
        ref.save(os.path.join(out, "decoded"), n.split(".")[0] + ".npy", a.reshape(a.shape[0], -1))
    os.makedirs(os.path.join(out, "resize"), exist_ok=True)
    for n, w, h in RESIZE_CASES:
        image = Image.open(os.path.join(image_dir, n)).convert("RGB").resize((w, h), Image.BICUBIC)
        a = np.asarray(image, dtype=np.float32)
        ref.save(os.path.join(out, "resize"), "%s_%dx%d.npy" % (n.split(".")[0], w, h), a.reshape(h, -1))

    for model_name, spec in MODELS.items():
        write_model_case(os.path.join(out, model_name), rng, names, image_dir, spec)


if __name__ == "__main__":
    main()
