// The online-softmax step of the bf16 attentions (AMX tiles, AVX512_BF16): one query's scores for up to 64 keys
// folded into its running max and total, with the weights written as bf16 for the P·V products. Include after
// the file's `#pragma GCC target` (AVX-512 F + BF16), so it compiles for that file's instruction set.
#pragma once
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace pixtral {

// Keys per online-softmax step: four 16-key blocks.
constexpr int kSoftmaxKeyStep = 64;

// exp(x) for x ≤ 0, 16 lanes (the same polynomial as FastExp).
static inline __m512 Exp16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// row: `blocks` × 16 raw scores (Q·K, unscaled), the first `valid` of them real keys. Updates max and total,
// writes the 64 bf16 weights to p (zero past the real keys, rounded to nearest even as the units' own conversion
// does) and returns the factor the query's running output must be multiplied by.
static inline float SoftmaxStep(const float* row, int blocks, int valid, float scale, float& max, float& total,
                                uint16_t* p) {
  __m512 s[4];
  __m512 m = _mm512_set1_ps(-INFINITY);
  for (int b = 0; b < blocks; b++) {
    const int live = std::max(0, std::min(16, valid - b * 16));
    const __mmask16 mask = live >= 16 ? 0xffff : __mmask16((1u << live) - 1);
    s[b] = _mm512_mask_mul_ps(_mm512_set1_ps(-INFINITY), mask, _mm512_loadu_ps(row + b * 16), _mm512_set1_ps(scale));
    m = _mm512_max_ps(m, s[b]);
  }
  const float new_max = std::max(max, _mm512_reduce_max_ps(m));
  const float correction = std::isinf(max) ? 0.0f : std::exp(max - new_max);
  __m512 sum = _mm512_setzero_ps();
  for (int b = 0; b < blocks; b++) {
    const __m512 e = Exp16(_mm512_sub_ps(s[b], _mm512_set1_ps(new_max)));
    sum = _mm512_add_ps(sum, e);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + b * 16), (__m256i)_mm512_cvtneps_pbh(e));
  }
  for (int b = blocks; b < 4; b++) std::memset(p + b * 16, 0, 32);
  total = total * correction + _mm512_reduce_add_ps(sum);
  max = new_max;
  return correction;
}

}  // namespace pixtral
