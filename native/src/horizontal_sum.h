// Sums of the lanes of a float vector, for the AVX2 and AVX-512 kernel files: include it after the file's
// `#pragma GCC target`, so it is compiled for that file's instruction set.
#pragma once
#include <immintrin.h>

namespace pixtral {

static inline float HorizontalSum(__m128 s) {
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline float HorizontalSum(__m256 v) {
  return HorizontalSum(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

}  // namespace pixtral
