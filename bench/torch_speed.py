#!/usr/bin/env python3
"""PyTorch reference for bench/engine-speed.js: the same work on the same machine, CPU only, random weights.

- forward (no_grad) of the OpenAI CLIP ViT image tower;
- forward+backward w.r.t. deep visual prompts in the RVPT setting (METHODS 1.6 / 4.1): prompts [L-D, b, W]
  replace the prompt slots before blocks D..L-1; loss = CE(exp(s) cos(img, classText), targets) + alpha * FR,
  FR = mean over images and blocks d >= D of cos(CLS_d prompted, CLS_d frozen), the frozen tower run without
  gradient, exactly as engine/defenses/rvpt/rvpt-objective.ts does;
- forward+backward w.r.t. pixels, loss = sum(image_embeds * r) for a fixed random r (all weights frozen);
- a full training step of a tiny CLIP (every weight, symmetric InfoNCE, gradients only, no optimizer update).

Prints one JSON object on stdout; progress goes to stderr. The JS runner passes every size; standalone:
  OMP_WAIT_POLICY=PASSIVE python3 bench/torch_speed.py --threads 2 --batches 1,8 --grad-batches 1
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """OpenAI CLIP's block: nn.MultiheadAttention on [T, N, W] (sequence first), pre-norm."""

    def __init__(self, width, heads, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [
                    ("c_fc", nn.Linear(width, width * 4)),
                    ("gelu", QuickGELU()),
                    ("c_proj", nn.Linear(width * 4, width)),
                ]
            )
        )
        self.ln_2 = nn.LayerNorm(width)
        self.attn_mask = attn_mask

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    def __init__(self, resolution, patch, width, layers, heads, embed):
        super().__init__()
        scale = width**-0.5
        grid = resolution // patch
        self.base_tokens = 1 + grid * grid
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(self.base_tokens, width))
        self.ln_pre = nn.LayerNorm(width)
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed))

    def forward(self, pixels, prompts=None, depth=0, collect_cls=False):
        """Image embeds [N, E]; with collect_cls also the class token after ln_pre and after every block."""
        x = self.conv1(pixels)  # [N, W, g, g]
        n, w = x.shape[0], x.shape[1]
        x = x.reshape(n, w, -1).permute(0, 2, 1)  # [N, g*g, W]
        cls = self.class_embedding.to(x.dtype) + torch.zeros(n, 1, w, dtype=x.dtype)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x).permute(1, 0, 2)  # [T, N, W]
        cls_tokens = [x[0]] if collect_cls else []
        for i, block in enumerate(self.resblocks):
            if prompts is not None and i >= depth:
                p = prompts[i - depth].unsqueeze(1).expand(-1, n, -1)  # [b, N, W]
                x = torch.cat([x[: self.base_tokens], p], dim=0)
            x = block(x)
            if collect_cls:
                cls_tokens.append(x[0])
        embeds = self.ln_post(x[0]) @ self.proj
        return (embeds, cls_tokens) if collect_cls else embeds


class TextTransformer(nn.Module):
    def __init__(self, vocab, context, width, layers, heads, embed):
        super().__init__()
        mask = torch.full((context, context), float("-inf")).triu_(1)
        self.token_embedding = nn.Embedding(vocab, width)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(context, width))
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, mask) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(width**-0.5 * torch.randn(width, embed))

    def forward(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = x.permute(1, 0, 2)
        for block in self.resblocks:
            x = block(x)
        x = self.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


class Clip(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.visual = VisionTransformer(
            a.tiny_resolution, a.tiny_patch, a.tiny_width, a.tiny_layers, a.tiny_heads, a.tiny_embed
        )
        self.text = TextTransformer(
            a.tiny_vocab, a.tiny_context, a.tiny_text_width, a.tiny_text_layers, a.tiny_text_heads, a.tiny_embed
        )
        self.logit_scale = nn.Parameter(torch.tensor(math.log(100.0)))

    def contrastive_loss(self, pixels, ids):
        img = F.normalize(self.visual(pixels), dim=-1)
        txt = F.normalize(self.text(ids), dim=-1)
        logits = self.logit_scale.exp() * img @ txt.t()
        labels = torch.arange(logits.shape[0])
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))


def loaded_blas():
    """Shared libraries with 'blas' in their name that this process has mapped (after a matmul)."""
    found = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.strip().split()[-1]
                if "blas" in path.lower() and path.startswith("/"):
                    found.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(found)


def timed(fn, batch, warmup, repeats):
    first = None
    for i in range(warmup):
        t0 = time.perf_counter()
        fn()
        if i == 0:
            first = (time.perf_counter() - t0) * 1000.0
    per_call = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        per_call.append((time.perf_counter() - t0) * 1000.0)
    per_image = [t / batch for t in per_call]
    return {
        "batch": batch,
        "repeats": repeats,
        "warmup": warmup,
        "minMs": min(per_image),
        "medianMs": statistics.median(per_image),
        "samplesMs": per_image,
        "stepMinMs": min(per_call),
        "stepMedianMs": statistics.median(per_call),
        "firstCallMs": first,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batches", default="1,8,32", help="forward batches")
    ap.add_argument("--grad-batches", default=None, help="fwd+bwd batches (default: same as --batches)")
    ap.add_argument("--repeats", default="1:5,8:3,32:3", help="batch:repeats pairs; other batches use the last")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--warmups", default="", help="batch:warm-up pairs overriding --warmup (e.g. 32:2)")
    ap.add_argument("--resolution", type=int, default=224)
    ap.add_argument("--patch", type=int, default=32)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--embed", type=int, default=512)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--prompt-len", type=int, default=50)
    ap.add_argument("--classes", type=int, default=37)
    ap.add_argument("--alpha", type=float, default=2.0)
    ap.add_argument("--tiny-batch", type=int, default=32, help="tiny CLIP training step batch; 0 skips it")
    ap.add_argument("--tiny-repeats", type=int, default=5)
    ap.add_argument("--tiny-resolution", type=int, default=32)
    ap.add_argument("--tiny-patch", type=int, default=8)
    ap.add_argument("--tiny-width", type=int, default=128)
    ap.add_argument("--tiny-layers", type=int, default=4)
    ap.add_argument("--tiny-heads", type=int, default=2)
    ap.add_argument("--tiny-text-width", type=int, default=128)
    ap.add_argument("--tiny-text-layers", type=int, default=4)
    ap.add_argument("--tiny-text-heads", type=int, default=2)
    ap.add_argument("--tiny-context", type=int, default=32)
    ap.add_argument("--tiny-vocab", type=int, default=49408)
    ap.add_argument("--tiny-embed", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    batches = [int(b) for b in args.batches.split(",") if b]
    grad_batches = [int(b) for b in (args.grad_batches or args.batches).split(",") if b]
    repeat_map = {}
    for pair in args.repeats.split(","):
        b, r = pair.split(":")
        repeat_map[int(b)] = int(r)
    default_repeats = list(repeat_map.values())[-1]

    def repeats_for(b):
        return repeat_map.get(b, default_repeats)

    warmup_map = {int(b): int(w) for b, w in (pair.split(":") for pair in args.warmups.split(",") if pair)}

    def warmup_for(b):
        return warmup_map.get(b, args.warmup)

    def log(msg):
        print(f"[torch] {msg}", file=sys.stderr, flush=True)

    model = VisionTransformer(args.resolution, args.patch, args.width, args.layers, args.heads, args.embed)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    r_vec = torch.randn(args.embed)
    prompts0 = 0.02 * torch.randn(args.layers - args.depth, args.prompt_len, args.width)
    class_text = torch.randn(args.classes, args.embed)
    logit_scale = math.log(100.0)

    def pixels(batch):
        return torch.randn(batch, 3, args.resolution, args.resolution)

    def rvpt_loss(x, p, labels):
        with torch.no_grad():
            _, frozen = model(x, collect_cls=True)
        embeds, prompted = model(x, p, args.depth, collect_cls=True)
        logits = math.exp(logit_scale) * F.normalize(embeds, dim=-1) @ F.normalize(class_text, dim=-1).t()
        ce = F.cross_entropy(logits, labels)
        cos = torch.stack(
            [F.cosine_similarity(a, b, dim=-1) for a, b in zip(prompted[1 + args.depth :], frozen[1 + args.depth :])],
            dim=1,
        )
        return ce + args.alpha * cos.mean(dim=1).mean()

    results = {"forward": [], "promptGrad": [], "pixelGrad": [], "clipStep": []}
    for b in batches:
        x = pixels(b)

        def fwd():
            with torch.no_grad():
                return model(x)

        r = timed(fwd, b, warmup_for(b), repeats_for(b))
        log(f"forward batch {b}: min {r['minMs']:.1f} median {r['medianMs']:.1f} ms/image")
        results["forward"].append(r)
    for b in grad_batches:
        x = pixels(b)
        labels = torch.randint(0, args.classes, (b,))

        def prompt_step():
            p = prompts0.clone().requires_grad_(True)
            loss = rvpt_loss(x, p, labels)
            (g,) = torch.autograd.grad(loss, p)
            return g

        r = timed(prompt_step, b, warmup_for(b), repeats_for(b))
        log(f"fwd+grad prompts (RVPT) batch {b}: min {r['minMs']:.1f} median {r['medianMs']:.1f} ms/image")
        results["promptGrad"].append(r)

        def pixel_step():
            xp = x.clone().requires_grad_(True)
            loss = (model(xp) * r_vec).sum()
            (g,) = torch.autograd.grad(loss, xp)
            return g

        r = timed(pixel_step, b, warmup_for(b), repeats_for(b))
        log(f"fwd+grad pixels batch {b}: min {r['minMs']:.1f} median {r['medianMs']:.1f} ms/image")
        results["pixelGrad"].append(r)

    tiny_params = None
    if args.tiny_batch > 0:
        clip = Clip(args)
        clip.train()
        params = [p for p in clip.parameters()]
        tiny_params = sum(p.numel() for p in params)
        b = args.tiny_batch
        tx = torch.randn(b, 3, args.tiny_resolution, args.tiny_resolution)
        ids = torch.zeros(b, args.tiny_context, dtype=torch.long)
        gen = torch.Generator().manual_seed(1)
        for i in range(b):
            n = int(torch.randint(1, args.tiny_context - 2, (1,), generator=gen))
            ids[i, 0] = args.tiny_vocab - 2
            ids[i, 1 : 1 + n] = torch.randint(0, args.tiny_vocab - 2, (n,), generator=gen)
            ids[i, 1 + n] = args.tiny_vocab - 1

        def clip_step():
            loss = clip.contrastive_loss(tx, ids)
            return torch.autograd.grad(loss, params)

        r = timed(clip_step, b, warmup_for(b), args.tiny_repeats)
        log(f"tiny CLIP training step batch {b}: median {r['stepMedianMs']:.1f} ms/step")
        results["clipStep"].append(r)

    config = torch.__config__.show()
    blas_info = next(
        (part.split("=", 1)[1] for part in config.replace(",", "\n").split("\n") if "BLAS_INFO" in part), None
    )
    out = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "blasInfo": blas_info,
        "blasLoaded": loaded_blas(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "openblasNumThreads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "ompNumThreads": os.environ.get("OMP_NUM_THREADS"),
        "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
        "parameters": sum(p.numel() for p in model.parameters()),
        "tinyClipParameters": tiny_params,
        "cpuSeconds": time.process_time(),
        "results": results,
    }
    assert all(math.isfinite(v) for k in results for r in results[k] for v in r["samplesMs"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
