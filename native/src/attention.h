// softmax(q·kᵀ·scale [+ causal mask]) · v with grouped KV heads, tiled with an online softmax so the score
// matrix never exists whole (flash-attention style). q: [T, H·D], k/v: [S, Hk·D] (rows `kv_stride` floats
// apart), out: [T, H·D]. query_start < 0: no mask; else query t sits at position query_start + t.
#pragma once

namespace pixtral {

void Attention(const float* q, const float* k, const float* v, float* out, int queries, int keys, int heads,
               int kv_heads, int head_dim, float scale, int query_start);

}  // namespace pixtral
