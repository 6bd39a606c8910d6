"""Pixtral in PyTorch, written from the project's spec (../shared/docs/pixtral-spec.md §5-7) for training the
demo model only. Same math as the TypeScript engine: interleaved-pair RoPE (Mistral layout), RMSNorm in f32,
2-D RoPE in the vision encoder, exact-erf GELU adapter, gated SiLU FFNs, GQA decoder. Tensor names are the
Mistral consolidated names, so `state_dict()` is the checkpoint."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

IMG, IMG_BREAK, IMG_END = 10, 12, 13


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_pairs(x, cos, sin):
    """x [..., heads, head_dim]; pair p = (x[2p], x[2p+1]) rotated by the angle whose cos/sin are given
    [..., 1, head_dim/2] (spec §5.3/§7.3)."""
    xr = x.float().reshape(*x.shape[:-1], -1, 2)
    a, b = xr[..., 0], xr[..., 1]
    out = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1)
    return out.reshape(x.shape)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Attention(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads, head_dim):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.wq = nn.Linear(dim, n_heads * head_dim, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * head_dim, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * head_dim, bias=False)
        self.wo = nn.Linear(n_heads * head_dim, dim, bias=False)

    def forward(self, x, cos, sin, mask):
        """x [B, T, dim]; cos/sin [B or 1, T, 1, head_dim/2]; mask additive [B or 1, 1, T, T]."""
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.n_heads, self.head_dim)
        k = self.wk(x).view(B, T, self.n_kv_heads, self.head_dim)
        v = self.wv(x).view(B, T, self.n_kv_heads, self.head_dim)
        q, k = rotate_pairs(q, cos, sin), rotate_pairs(k, cos, sin)
        rep = self.n_heads // self.n_kv_heads
        if rep > 1:
            k = k.repeat_interleave(rep, dim=2)
            v = v.repeat_interleave(rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, T, hd]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask
        out = torch.softmax(scores.float(), dim=-1) @ v
        return self.wo(out.transpose(1, 2).reshape(B, T, -1))


class Block(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads, head_dim, hidden):
        super().__init__()
        self.attention_norm = RMSNorm(dim)
        self.attention = Attention(dim, n_heads, n_kv_heads, head_dim)
        self.ffn_norm = RMSNorm(dim)
        self.feed_forward = FeedForward(dim, hidden)

    def forward(self, x, cos, sin, mask):
        x = x + self.attention(self.attention_norm(x), cos, sin, mask)
        return x + self.feed_forward(self.ffn_norm(x))


class VisionTransformer(nn.Module):
    def __init__(self, v):
        super().__init__()
        self.hidden = v['hidden_size']
        self.heads = v['num_attention_heads']
        self.head_dim = self.hidden // self.heads
        self.patch = v['patch_size']
        self.theta = v['rope_theta']
        self.max_side = v['image_size'] // self.patch
        self.patch_conv = nn.Conv2d(v['num_channels'], self.hidden, self.patch, self.patch, bias=False)
        self.ln_pre = RMSNorm(self.hidden)
        self.transformer = nn.Module()
        self.transformer.layers = nn.ModuleList(
            Block(self.hidden, self.heads, self.heads, self.head_dim, v['intermediate_size'])
            for _ in range(v['num_hidden_layers'])
        )

    def angles(self, rows, cols):
        """[rows*cols, head_dim/2] angles: first half of the pairs follow the row, second half the column."""
        half = self.head_dim // 2
        freqs = self.theta ** (-torch.arange(0, half, dtype=torch.float64) / half)  # f[k] = θ^(-2k/hd)
        r = torch.arange(rows, dtype=torch.float64)[:, None, None] * freqs[0::2][None, None, :]
        c = torch.arange(cols, dtype=torch.float64)[None, :, None] * freqs[1::2][None, None, :]
        ang = torch.cat((r.expand(rows, cols, -1), c.expand(rows, cols, -1)), dim=-1)
        return ang.reshape(rows * cols, half).float()

    def forward(self, pixels, grids):
        """pixels: list of [3, H, W] normalised images; grids: list of (rows, cols). Returns a list of
        [rows*cols, hidden] feature tensors. Images of a batch are padded to the most patches and masked, which
        equals attending within each image only (spec §5.4)."""
        feats, angs = [], []
        w = self.patch_conv.weight.reshape(self.hidden, -1)  # [hidden, 3·16·16] in (ch, y, x) order (§5.1)
        P = self.patch
        for img, (rows, cols) in zip(pixels, grids):
            patches = img.reshape(3, rows, P, cols, P).permute(1, 3, 0, 2, 4).reshape(rows * cols, -1)
            feats.append(patches @ w.t())
            angs.append(self.angles(rows, cols))
        n = [f.shape[0] for f in feats]
        N = max(n)
        B = len(feats)
        x = torch.zeros(B, N, self.hidden)
        ang = torch.zeros(B, N, self.head_dim // 2)
        mask = torch.full((B, 1, 1, N), float('-inf'))
        for i, f in enumerate(feats):
            x[i, : n[i]] = f
            ang[i, : n[i]] = angs[i]
            mask[i, 0, 0, : n[i]] = 0.0
        cos, sin = torch.cos(ang)[:, :, None, :], torch.sin(ang)[:, :, None, :]
        x = self.ln_pre(x)
        for layer in self.transformer.layers:
            x = layer(x, cos, sin, mask)
        return [x[i, : n[i]] for i in range(B)]


class Adapter(nn.Module):
    def __init__(self, vision_dim, dim):
        super().__init__()
        self.w_in = nn.Linear(vision_dim, dim, bias=True)
        self.w_out = nn.Linear(dim, dim, bias=True)

    def forward(self, x):
        return self.w_out(F.gelu(self.w_in(x)))  # exact erf GELU


class Pixtral(nn.Module):
    def __init__(self, params):
        super().__init__()
        self.params = params
        dim = params['dim']
        self.head_dim = params['head_dim']
        self.theta = params['rope_theta']
        self.tok_embeddings = nn.Embedding(params['vocab_size'], dim)
        self.layers = nn.ModuleList(
            Block(dim, params['n_heads'], params['n_kv_heads'], self.head_dim, params['hidden_dim'])
            for _ in range(params['n_layers'])
        )
        self.norm = RMSNorm(dim)
        self.output = nn.Linear(dim, params['vocab_size'], bias=False)
        v = params['vision_encoder']
        self.vision_encoder = VisionTransformer(v)
        self.vision_language_adapter = Adapter(v['hidden_size'], dim)

    def rope(self, T):
        half = self.head_dim // 2
        freqs = self.theta ** (-torch.arange(0, half, dtype=torch.float64) / half)
        ang = (torch.arange(T, dtype=torch.float64)[:, None] * freqs[None, :]).float()
        return torch.cos(ang)[None, :, None, :], torch.sin(ang)[None, :, None, :]

    def forward(self, tokens, pixels, grids, image_owner, at=None):
        """tokens [B, T] (right-padded); pixels/grids: the batch's images in order; image_owner[i] = the row of
        `tokens` whose [IMG] positions image i fills (images of one row in prompt order). Returns logits
        [B, T, vocab], or [K, vocab] for the K positions where the boolean mask `at` [B, T] is set (training only
        needs the answer positions, and the vocabulary projection is the costliest matmul)."""
        h = self.tok_embeddings(tokens)
        self.image_rows = None
        if pixels:
            feats = self.vision_encoder(pixels, grids)
            per_row = {}
            self.image_rows = []  # the adapter outputs of each image, for the trainer's auxiliary losses
            for f, owner in zip(feats, image_owner):
                adapted = self.vision_language_adapter(f)
                self.image_rows.append(adapted)
                per_row.setdefault(owner, []).append(adapted)
            h = h.clone()
            for owner, fs in per_row.items():
                where = (tokens[owner] == IMG).nonzero(as_tuple=True)[0]
                h[owner, where] = torch.cat(fs, dim=0).to(h.dtype)
        T = tokens.shape[1]
        cos, sin = self.rope(T)
        mask = torch.full((T, T), float('-inf')).triu(1)[None, None]
        for layer in self.layers:
            h = layer(h, cos, sin, mask)
        if at is not None:
            h = h[at]
        return self.output(self.norm(h)).float()
