#!/usr/bin/env python3
"""PyTorch peer of the benchmark's workloads (bench `peer` suite), the same shapes and work as AdaptSharp's.

A timm-layout ViT with deep prompts (each block's prompt tokens follow the class token; the block's output drops
them), normalisation inside the model. Workloads, as bench/AdaptSharp.Bench/Workloads.cs times them:
  forward      eval mode, no autograd
  attack       forward + per-sample CE summed + gradient with respect to the input only (frozen weights)
  adaptce      ADAPT-CE training step: PGD-k through the prompts (random start, sign steps, projection), then
               CE(clean) + CE(adversarial) from one batched forward, backward into prompts + head + patch embedding,
               global gradient clipping at 1.0, SGD momentum 0.9 step.
Protocol (one process, driven by the bench so the two sides' rounds interleave): read JSON lines on stdin,
  {"op": "shape", "width":..,"depth":..,"heads":..,"mlp":..,"patch":..,"img":..,"chans":..,"classes":..,
   "prompts":..,"batch":..,"pgd":..}            -> {"ok": true}
  {"op": "time", "workload": "forward|attack|adaptce", "repeats": n} -> {"seconds": [...]}  (one warm-up first)
and answer with one JSON line each. Needs torch (Debian python3-torch; with libopenblas0-pthread for its BLAS).
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, hidden):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if n > 64 and hasattr(F, "scaled_dot_product_attention"):  # PyTorch >= 2.0, as AdaptSharp for long sequences
            a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        else:
            a = ((qkv[0] @ qkv[1].transpose(-2, -1)) * (d // self.heads) ** -0.5).softmax(-1) @ qkv[2]
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class PromptedVit(nn.Module):
    def __init__(self, s):
        super().__init__()
        d, self.patch = s["width"], s["patch"]
        self.patch_embed = nn.Conv2d(s["chans"], d, self.patch, self.patch)
        grid = s["img"] // self.patch
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.randn(1, grid * grid + 1, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, s["heads"], int(d * s["mlp"])) for _ in range(s["depth"]))
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, s["classes"])
        self.n_prompts = s["prompts"]
        self.prompts = nn.Parameter(torch.randn(s["depth"], s["prompts"], d) * 0.02) if s["prompts"] else None
        self.register_buffer("mean", torch.full((1, s["chans"], 1, 1), 0.5))
        self.register_buffer("std", torch.full((1, s["chans"], 1, 1), 0.5))

    def forward(self, images):
        x = self.patch_embed((images - self.mean) / self.std).flatten(2).transpose(1, 2)
        b = x.shape[0]
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], 1) + self.pos_embed
        for i, block in enumerate(self.blocks):
            if self.prompts is not None:
                x = torch.cat([x[:, :1], self.prompts[i].expand(b, -1, -1), x[:, 1:]], 1)
                x = block(x)
                x = torch.cat([x[:, :1], x[:, 1 + self.n_prompts:]], 1)
            else:
                x = block(x)
        return self.head(self.norm(x)[:, 0])


class Peer:
    def shape(self, s):
        torch.manual_seed(0)
        self.s = s
        self.model = PromptedVit(s)
        g = torch.Generator().manual_seed(1)
        self.x = torch.rand(s["batch"], s["chans"], s["img"], s["img"], generator=g)
        self.y = torch.randint(0, s["classes"], (s["batch"],), generator=g)
        trainable = [p for n, p in self.model.named_parameters() if n == "prompts" or n.startswith(("head.", "patch_embed."))]
        for p in self.model.parameters():
            p.requires_grad_(False)
        for p in trainable:
            p.requires_grad_(True)
        self.trainable = trainable
        self.optimizer = torch.optim.SGD(trainable, lr=0.01, momentum=0.9)

    def forward(self):
        self.model.eval()
        with torch.no_grad():
            self.model(self.x)

    def attack(self):
        self.model.eval()
        x = self.x.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(self.model(x), self.y, reduction="sum")
        torch.autograd.grad(loss, [x])

    def adaptce(self):
        eps, alpha = 0.1, 0.025
        self.model.train()
        x, y = self.x, self.y
        delta = (torch.rand_like(x) * 2 - 1) * eps
        for _ in range(self.s["pgd"]):
            adv = (x + delta).clamp(0, 1).requires_grad_(True)
            loss = F.cross_entropy(self.model(adv), y, reduction="sum")
            g, = torch.autograd.grad(loss, [adv])
            delta = (adv.detach() + alpha * g.sign() - x).clamp(-eps, eps)
        adv = (x + delta).clamp(0, 1).detach()
        logits = self.model(torch.cat([x, adv]))
        n = x.shape[0]
        loss = F.cross_entropy(logits[:n], y) + F.cross_entropy(logits[n:], y)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.trainable, 1.0)
        self.optimizer.step()


def main():
    peer = Peer()
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "threads":
            torch.set_num_threads(request["n"])
            answer = {"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}
        elif request["op"] == "shape":
            peer.shape(request)
            answer = {"ok": True}
        else:
            work = getattr(peer, request["workload"])
            work()
            seconds = []
            for _ in range(request["repeats"]):
                start = time.perf_counter()
                work()
                seconds.append(time.perf_counter() - start)
            answer = {"seconds": seconds}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
