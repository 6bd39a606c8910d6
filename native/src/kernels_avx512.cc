// AVX-512 kernels (Sapphire Rapids / Ice Lake / Zen 4): 512-bit float FMAs for bf16 weights, and VNNI
// (vpdpbusd: 32 int8 multiply-adds into int32 in one instruction) for q8/q4 blocks.
#if defined(__x86_64__)
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#include <immintrin.h>
#include "kernels.h"

namespace pixtral {

static float DotBf16(const float* x, const uint16_t* w, int k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 32 <= k; i += 32) {
    __m512i w0 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i))), 16);
    __m512i w1 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i + 16))), 16);
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_castsi512_ps(w0), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_castsi512_ps(w1), acc1);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < k; i++) sum += x[i] * Bf16ToF32(w[i]);
  return sum;
}

static inline __m256i DotBytes(__m256i x, __m256i w) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(w, x));
}

static inline __m256i UnpackQ4(const uint8_t* q) {
  __m128i bytes = _mm_loadu_si128((const __m128i*)q);
  __m128i low = _mm_and_si128(bytes, _mm_set1_epi8(0x0f));
  __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0f));
  return _mm256_sub_epi8(_mm256_set_m128i(high, low), _mm256_set1_epi8(8));
}

static inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static float DotQ8(const ActivationBlock* x, const BlockQ8* w, int blocks) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    __m256i d0 = DotBytes(_mm256_loadu_si256((const __m256i*)x[b].q), _mm256_loadu_si256((const __m256i*)w[b].q));
    __m256i d1 = DotBytes(_mm256_loadu_si256((const __m256i*)x[b + 1].q), _mm256_loadu_si256((const __m256i*)w[b + 1].q));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d0), _mm256_set1_ps(x[b].scale * _cvtsh_ss(w[b].scale)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d1), _mm256_set1_ps(x[b + 1].scale * _cvtsh_ss(w[b + 1].scale)), acc1);
  }
  for (; b < blocks; b++) {
    __m256i d = DotBytes(_mm256_loadu_si256((const __m256i*)x[b].q), _mm256_loadu_si256((const __m256i*)w[b].q));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(x[b].scale * _cvtsh_ss(w[b].scale)), acc0);
  }
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

static float DotQ4(const ActivationBlock* x, const BlockQ4* w, int blocks) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    __m256i d0 = DotBytes(_mm256_loadu_si256((const __m256i*)x[b].q), UnpackQ4(w[b].q));
    __m256i d1 = DotBytes(_mm256_loadu_si256((const __m256i*)x[b + 1].q), UnpackQ4(w[b + 1].q));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d0), _mm256_set1_ps(x[b].scale * _cvtsh_ss(w[b].scale)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d1), _mm256_set1_ps(x[b + 1].scale * _cvtsh_ss(w[b + 1].scale)), acc1);
  }
  for (; b < blocks; b++) {
    __m256i d = DotBytes(_mm256_loadu_si256((const __m256i*)x[b].q), UnpackQ4(w[b].q));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(x[b].scale * _cvtsh_ss(w[b].scale)), acc0);
  }
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

const Kernels kAvx512Kernels = {DotBf16, DotQ8, DotQ4};

}  // namespace pixtral
#endif
