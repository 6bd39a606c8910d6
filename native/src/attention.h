// softmax(q·kᵀ·scale [+ causal mask]) · v with grouped KV heads, tiled with an online softmax so the score
// matrix never exists whole (flash-attention style). q: [T, H·D], k/v: [S, Hk·D] (rows `kv_stride` floats
// apart), out: [T, H·D]. query_start < 0: no mask; else query t sits at position query_start + t.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pixtral {

// Keys or values as the KV cache stores them: float32, f16, or int8 with one scale per (position, kv head).
enum class KvFormat { kF32 = 0, kF16 = 1, kQ8 = 2 };

// Contiguous (data/scales), or in pages of page_positions positions each (the KV cache's layout): position p is
// row p % page_positions of pages[p / page_positions].
struct KvSource {
  KvFormat format;
  const void* data;
  const float* scales;  // q8 only
  const void* const* pages = nullptr;
  const float* const* page_scales = nullptr;  // q8 only
  int page_positions = 0;

  // Where position p's rows and scales start, and p's row within them.
  struct Rows {
    const void* data;
    const float* scales;
    size_t row;
  };
  Rows At(size_t position) const {
    if (!pages) return {data, scales, position};
    const size_t page = position / size_t(page_positions);
    return {pages[page], page_scales ? page_scales[page] : nullptr, position % size_t(page_positions)};
  }
};

// bf16: unmasked attention over float32 K/V may run on AMX tiles with Q, K, V and the weights rounded to bf16.
void Attention(const float* q, KvSource k, KvSource v, float* out, int queries, int keys, int heads, int kv_heads,
               int head_dim, float scale, int query_start, bool bf16 = false);

}  // namespace pixtral
