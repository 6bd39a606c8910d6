// AVX2 + FMA kernels (Haswell and later, Zen 1 and later).
#if defined(__x86_64__)
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>
#include "kernels.h"

namespace pixtral {

static inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static float DotBf16(const float* x, const uint16_t* w, int k) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= k; i += 16) {
    __m256i w0 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(w + i))), 16);
    __m256i w1 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(w + i + 8))), 16);
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_castsi256_ps(w0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_castsi256_ps(w1), acc1);
  }
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < k; i++) sum += x[i] * Bf16ToF32(w[i]);
  return sum;
}

// Σ x·w over 32 signed bytes: maddubs wants unsigned × signed, so move x's sign onto w.
static inline __m256i DotBytes(__m256i x, __m256i w) {
  __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(w, x));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

static inline __m256i UnpackQ4(const uint8_t* q) {
  __m128i bytes = _mm_loadu_si128((const __m128i*)q);
  __m128i low = _mm_and_si128(bytes, _mm_set1_epi8(0x0f));
  __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0f));
  return _mm256_sub_epi8(_mm256_set_m128i(high, low), _mm256_set1_epi8(8));
}

static inline float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

static float DotQ8(const ActivationBlock* x, const BlockQ8* w, int blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < blocks; b++) {
    __m256i dot = DotBytes(_mm256_loadu_si256((const __m256i*)x[b].q), _mm256_loadu_si256((const __m256i*)w[b].q));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(x[b].scale * HalfToFloat(w[b].scale)), acc);
  }
  return HorizontalSum(acc);
}

static float DotQ4(const ActivationBlock* x, const BlockQ4* w, int blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < blocks; b++) {
    __m256i dot = DotBytes(_mm256_loadu_si256((const __m256i*)x[b].q), UnpackQ4(w[b].q));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(x[b].scale * HalfToFloat(w[b].scale)), acc);
  }
  return HorizontalSum(acc);
}

const Kernels kAvx2Kernels = {DotBf16, DotQ8, DotQ4};

}  // namespace pixtral
#endif
