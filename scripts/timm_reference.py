#!/usr/bin/env python3
"""Cross-framework check: a timm-architecture ViT written directly in PyTorch.

Writes OUT/model.safetensors (timm names, as timm/PyTorch users have them), OUT/input.npy
(float32 NCHW in [0,1]) and OUT/logits.npy (what PyTorch computes), so AdaptSharp's import
and forward can be compared against an independent implementation.
With --pth it also writes OUT/model.pth (torch.save of the same state dict, as PyTorch users have it) and
OUT/evil.pth (a state dict with a __reduce__ payload that would create OUT/pwned if a loader ran it).
Usage: timm_reference.py OUT [--width 192 --depth 2 --heads 3 --img 32 --patch 16 --classes 10] [--pth]
Needs only torch and numpy (Debian: python3-torch).
"""
import argparse, collections, json, os, struct
import numpy as np
import torch
import torch.nn.functional as F


def vit_forward(sd, x, heads, patch, mean, std):
    x = (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
    x = F.conv2d(x, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=patch)
    x = x.flatten(2).transpose(1, 2)
    b = x.shape[0]
    x = torch.cat([sd["cls_token"].expand(b, -1, -1), x], 1) + sd["pos_embed"]
    depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    d = x.shape[-1]
    for i in range(depth):
        p = f"blocks.{i}."
        h = F.layer_norm(x, (d,), sd[p + "norm1.weight"], sd[p + "norm1.bias"], eps=1e-6)
        qkv = F.linear(h, sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"])
        n = qkv.shape[1]
        qkv = qkv.reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)) * (d // heads) ** -0.5
        a = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + F.linear(a, sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])
        h = F.layer_norm(x, (d,), sd[p + "norm2.weight"], sd[p + "norm2.bias"], eps=1e-6)
        h = F.gelu(F.linear(h, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"]))
        x = x + F.linear(h, sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
    x = F.layer_norm(x, (d,), sd["norm.weight"], sd["norm.bias"], eps=1e-6)
    return F.linear(x[:, 0], sd["head.weight"], sd["head.bias"])


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = tensors[name].detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


class Payload:
    """What a malicious checkpoint carries: unpickling it with Python's pickle runs os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_pth(out, sd):
    state = collections.OrderedDict((k, sd[k].clone()) for k in sorted(sd))
    state._metadata = collections.OrderedDict({"": {"version": 1}})  # as module.state_dict() has
    torch.save(state, os.path.join(out, "model.pth"))
    evil = collections.OrderedDict(state)
    evil["payload"] = Payload(os.path.join(out, "pwned"))
    torch.save(evil, os.path.join(out, "evil.pth"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=192)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--img", type=int, default=32)
    ap.add_argument("--patch", type=int, default=16)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--pth", action="store_true")
    a = ap.parse_args()
    torch.manual_seed(0)
    d, c, g = a.width, 3, a.img // a.patch
    sd = {
        "cls_token": torch.randn(1, 1, d) * 0.5,
        "pos_embed": torch.randn(1, 1 + g * g, d) * 0.5,
        "patch_embed.proj.weight": torch.randn(d, c, a.patch, a.patch) * 0.05,
        "patch_embed.proj.bias": torch.randn(d) * 0.1,
        "norm.weight": 1 + 0.1 * torch.randn(d), "norm.bias": 0.1 * torch.randn(d),
        "head.weight": torch.randn(a.classes, d) * 0.2, "head.bias": torch.randn(a.classes) * 0.1,
    }
    for i in range(a.depth):
        p = f"blocks.{i}."
        for name, shape, scale in [("norm1.weight", (d,), None), ("norm1.bias", (d,), 0.1),
                                   ("attn.qkv.weight", (3 * d, d), 0.1), ("attn.qkv.bias", (3 * d,), 0.1),
                                   ("attn.proj.weight", (d, d), 0.1), ("attn.proj.bias", (d,), 0.1),
                                   ("norm2.weight", (d,), None), ("norm2.bias", (d,), 0.1),
                                   ("mlp.fc1.weight", (4 * d, d), 0.1), ("mlp.fc1.bias", (4 * d,), 0.1),
                                   ("mlp.fc2.weight", (d, 4 * d), 0.05), ("mlp.fc2.bias", (d,), 0.1)]:
            sd[p + name] = 1 + 0.1 * torch.randn(shape) if scale is None else torch.randn(shape) * scale
    x = torch.rand(a.n, c, a.img, a.img)
    mean = std = torch.full((3,), 0.5)
    with torch.no_grad():
        logits = vit_forward(sd, x, a.heads, a.patch, mean, std)
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "model.safetensors"), sd)
    np.save(os.path.join(a.out, "input.npy"), x.numpy().astype("<f4"))
    if a.pth:
        write_pth(a.out, sd)
    np.save(os.path.join(a.out, "logits.npy"), logits.numpy().astype("<f4"))
    print(f"wrote {a.out}: logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()
