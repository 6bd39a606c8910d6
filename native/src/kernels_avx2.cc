// AVX2 + FMA kernels (Haswell and later, Zen 1 and later).
#if defined(__x86_64__)
// Library and shared headers first, outside the target pragma: their out-of-line functions must stay baseline
// code (a weak AVX copy could otherwise be the one every level links to).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>
#include "attention.h"
#include "kernel_set.h"
#include "thread_pool.h"
#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>
#include "horizontal_sum.h"
#include "kernel_set.h"
#include "kernels.h"
#include "kquant_dots.h"
#include "panel_plain.h"

namespace pixtral {

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

static float DotF16(const float* x, const uint16_t* w, int k) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= k; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(w + i))), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(w + i + 8))),
                           acc1);
  }
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < k; i++) sum += x[i] * _cvtsh_ss(w[i]);
  return sum;
}

static inline __m256i Ones16() { return _mm256_set1_epi16(1); }

static float DotQ8(ActivationView x, const uint8_t* row, int k) {
  const uint16_t* scales = RowScales(WeightFormat::kQ8, row, k);
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < k / kBlock; b++) {
    __m256i xv = _mm256_loadu_si256((const __m256i*)(x.q + b * kBlock));
    __m256i wv = _mm256_loadu_si256((const __m256i*)(row + b * kBlock));
    // maddubs takes unsigned × signed: move x's sign onto w.
    __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv));
    __m256i dot = _mm256_madd_epi16(pairs, Ones16());
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(x.scale[b] * _cvtsh_ss(scales[b])), acc);
  }
  return HorizontalSum(acc);
}

static float DotQ4(ActivationView x, const uint8_t* row, int k) {
  const uint16_t* scales = RowScales(WeightFormat::kQ4, row, k);
  const __m128i low_mask = _mm_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  float offset = 0;
  for (int b = 0; b < k / kBlock; b++) {
    __m128i bytes = _mm_loadu_si128((const __m128i*)(row + b * 16));
    __m256i w = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), low_mask), _mm_and_si128(bytes, low_mask));
    __m256i xv = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(x.q + SplitIndex(b, 16, k / kBlock))),
                                  _mm_loadu_si128((const __m128i*)(x.q + SplitIndex(b, 0, k / kBlock))));
    // Nibbles are unsigned (value + 8): multiply them as they are and take 8·Σx out per block.
    __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(w, xv), Ones16());
    float ws = _cvtsh_ss(scales[b]);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(x.scale[b] * ws), acc);
    offset += x.offset8[b] * ws;
  }
  return HorizontalSum(acc) - offset;
}

static const Kernels kAvx2Kernels = {DotBf16, DotQ8, DotQ4, MultiBf16ByOne<DotBf16>, MultiQuantByOne<DotQ8>,
                                     MultiQuantByOne<DotQ4>, nullptr, nullptr, DotQ45K<false>, DotQ45K<true>,
                                     DotQ6K, DotF16, PanelQ4Plain, PanelQ8Plain, false};

}  // namespace pixtral

#define PIXTRAL_OPS_LEVEL 1
#include "level_ops.h"

namespace pixtral {

const KernelSet& Avx2KernelSet() {
  static const KernelSet set = {"avx2",
                                [] {
                                  const CpuFeatures& cpu = DetectCpu();
                                  return cpu.avx2 && cpu.fma && cpu.f16c;
                                },
                                kAvx2Kernels, kOps, {}};
  return set;
}

}  // namespace pixtral
#endif
