// bf16 matmuls and unmasked (vision) attention on AVX512_BF16's vdpbf16ps (Zen 4/5, Cooper Lake, Sapphire
// Rapids): each instruction multiplies 16 lanes × a pair of bf16 values into float sums, 32 multiply-adds. The
// AVX-512 kernel set's matrix unit where the CPU has the extension: callers opt in to bf16 activations (results
// move at bf16 precision, as on AMX) and check the Takes* predicate first.
#pragma once
#include <cstdint>

namespace pixtral {

// out[t][i] = x[t][i] rounded to bf16 (nearest even) for `tokens` rows of k (a multiple of 32) values, rows split
// across the pool: the activations of both bf16 units (vdpbf16ps here, AMX tiles).
void RoundRowsToBf16(const float* x, int tokens, int k, uint16_t* out);

bool Dpbf16TakesMatmul(int tokens, int k, int n);
// y[tokens][n] = x[tokens][k] · wᵀ, w bf16 rows [n][k]; x rounded to bf16.
void MatmulDpbf16(const float* x, int tokens, int k, const uint16_t* w, int n, float* y);

bool Dpbf16TakesAttention(int queries, int keys, int heads, int kv_heads, int head_dim);
// q/out: [queries, heads·head_dim]; k/v: [keys, kv_heads·head_dim] float32, rounded to bf16 (P too).
void AttentionDpbf16(const float* q, const float* k, const float* v, float* out, int queries, int keys, int heads,
                     int kv_heads, int head_dim, float scale);

}  // namespace pixtral
