// Unmasked attention (the vision encoder's, one image at a time) on AMX tiles, for float32 K/V rounded to bf16:
// S = Q·Kᵀ and P·V run on the tile unit, the online softmax in AVX-512 between them. Callers opt in (results
// move at bf16 precision) and check AmxTakesAttention first.
#pragma once

namespace pixtral {

bool AmxTakesAttention(int queries, int keys, int heads, int kv_heads, int head_dim);

// q/out: [queries, heads·head_dim]; k/v: [keys, kv_heads·head_dim] float32.
void AttentionAmx(const float* q, const float* k, const float* v, float* out, int queries, int keys, int heads,
                  int kv_heads, int head_dim, float scale);

}  // namespace pixtral
