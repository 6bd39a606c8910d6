// y = x · Wᵀ on AMX tiles, for batches of tokens (prompt processing, vision). Each task packs a band of
// weight rows into the tile layout once and runs every token through it. bf16 weights take activations
// rounded to bf16 (the caller opts in: it changes results at bf16 precision); q8/q4 weights take the same
// int8 activations as the VNNI kernels (block order), so they give the same products, only faster.
#pragma once
#include <cstdint>
#include "formats.h"

namespace pixtral {

// Token rows the int8 path reads: activation buffers are padded to this multiple (extra rows zero).
constexpr int kAmxTokenStep = 32;

bool AmxTakesMatmul(int tokens, int k, int n);

void MatmulAmxBf16(const float* x, int tokens, int k, const uint16_t* w, int n, float* y);

// q: int8 activations [round_up(tokens, kAmxTokenStep)][k] in block order; scales: one per (token, block).
void MatmulAmxQuant(WeightFormat format, const int8_t* q, const float* scales, int tokens, int k, const uint8_t* w,
                    int n, float* y);

}  // namespace pixtral
