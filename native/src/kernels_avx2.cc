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

static inline __m256i Broadcast4(const int8_t* at) {
  typedef int32_t __attribute__((may_alias, aligned(1))) UnalignedInt32;
  return _mm256_set1_epi32(*reinterpret_cast<const UnalignedInt32*>(at));
}

// A q4 panel (16 rows interleaved, formats.h) × T tokens, as two halves of 8 rows (one row per 32-bit lane):
// vpmaddubsw multiplies four nibbles of 8 rows by four activation bytes broadcast into int16 pairs; a block's
// eight products per half (low and high nibbles, ≤ 8 · 2 · 15 · 127 = 30480 in magnitude, so int16 never
// overflows) are summed as int16 and folded to one int32 per row by a single vpmaddwd. The unpacked nibbles are
// reused by every token.
template <int T>
static void PanelQ4T(const ActivationView* x, const uint8_t* panel, int k, float* out, size_t out_stride) {
  const int blocks = k / kBlock;
  const __m256i mask = _mm256_set1_epi8(0x0f), ones = Ones16();
  __m256 acc[T][2];
  for (int t = 0; t < T; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int b = 0; b < blocks; b++) {
    const uint8_t* p = panel + size_t(b) * kQ4PanelBlockBytes;
    for (int line = 0; line < int(kQ4PanelBlockBytes); line += 64) PrefetchAhead(p + line);
    __m256i low[4][2], high[4][2];
    for (int m = 0; m < 4; m++)
      for (int h = 0; h < 2; h++) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * m + 32 * h));
        low[m][h] = _mm256_and_si256(v, mask);
        high[m][h] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
      }
    __m256 ws[2];
    for (int h = 0; h < 2; h++) ws[h] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 256 + 16 * h)));
    const size_t low_at = SplitIndex(b, 0, blocks), high_at = SplitIndex(b, 16, blocks);
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      __m256i xl[4], xh[4];
      for (int m = 0; m < 4; m++) {
        xl[m] = Broadcast4(x[t].q + low_at + 4 * m);
        xh[m] = Broadcast4(x[t].q + high_at + 4 * m);
      }
      const __m256 xs = _mm256_set1_ps(x[t].scale[b]), xo = _mm256_set1_ps(x[t].offset8[b]);
      for (int h = 0; h < 2; h++) {
        __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(low[0][h], xl[0]), _mm256_maddubs_epi16(high[0][h], xh[0]));
        for (int m = 1; m < 4; m++)
          s = _mm256_add_epi16(s, _mm256_add_epi16(_mm256_maddubs_epi16(low[m][h], xl[m]),
                                                   _mm256_maddubs_epi16(high[m][h], xh[m])));
        const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(s, ones));
        acc[t][h] = _mm256_fmadd_ps(_mm256_fmsub_ps(dot, xs, xo), ws[h], acc[t][h]);
      }
    }
  }
  for (int t = 0; t < T; t++)
    for (int h = 0; h < 2; h++) _mm256_storeu_ps(out + t * out_stride + 8 * h, acc[t][h]);
}

// A q8 panel (values stored +128) × T tokens. vpmaddubsw would saturate on 255 · 127 · 2, so each byte is taken
// as its two nibbles (hi · 16 + lo): two int16 sums per half that cannot overflow, folded by vpmaddwd with
// weights 16 and 1; the +128 comes off as 16·offset8 per block.
template <int T>
static void PanelQ8T(const ActivationView* x, const uint8_t* panel, int k, float* out, size_t out_stride) {
  const int blocks = k / kBlock;
  const __m256i mask = _mm256_set1_epi8(0x0f), ones = Ones16(), sixteens = _mm256_set1_epi16(16);
  __m256 acc[T][2];
  for (int t = 0; t < T; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int b = 0; b < blocks; b++) {
    const uint8_t* p = panel + size_t(b) * kQ8PanelBlockBytes;
    for (int line = 0; line < int(kQ8PanelBlockBytes); line += 64) PrefetchAhead(p + line);
    __m256 ws[2];
    for (int h = 0; h < 2; h++) ws[h] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 512 + 16 * h)));
    for (int h = 0; h < 2; h++) {
      __m256i lo[8], hi[8];
      for (int m = 0; m < 8; m++) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * m + 32 * h));
        lo[m] = _mm256_and_si256(v, mask);
        hi[m] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; t++) {
        const int8_t* xq = x[t].q + size_t(b) * kBlock;
        __m256i s_lo = _mm256_setzero_si256(), s_hi = _mm256_setzero_si256();
        for (int m = 0; m < 8; m++) {
          const __m256i xv = Broadcast4(xq + 4 * m);
          s_lo = _mm256_add_epi16(s_lo, _mm256_maddubs_epi16(lo[m], xv));
          s_hi = _mm256_add_epi16(s_hi, _mm256_maddubs_epi16(hi[m], xv));
        }
        const __m256i sum = _mm256_add_epi32(_mm256_madd_epi16(s_lo, ones), _mm256_madd_epi16(s_hi, sixteens));
        const __m256 dot = _mm256_cvtepi32_ps(sum);
        acc[t][h] = _mm256_fmadd_ps(
            _mm256_fmsub_ps(dot, _mm256_set1_ps(x[t].scale[b]), _mm256_set1_ps(16.0f * x[t].offset8[b])), ws[h],
            acc[t][h]);
      }
    }
  }
  for (int t = 0; t < T; t++)
    for (int h = 0; h < 2; h++) _mm256_storeu_ps(out + t * out_stride + 8 * h, acc[t][h]);
}

template <void (*Kernel1)(const ActivationView*, const uint8_t*, int, float*, size_t),
          void (*Kernel2)(const ActivationView*, const uint8_t*, int, float*, size_t),
          void (*Kernel4)(const ActivationView*, const uint8_t*, int, float*, size_t)>
static void PanelByTokens(const ActivationView* x, int tokens, const uint8_t* panel, int k, float* out,
                          size_t out_stride) {
  // At most four tokens a pass: eight accumulators, with AVX2's 16 registers holding the unpacked weights too.
  for (int t = 0; t < tokens;) {
    const int left = tokens - t;
    if (left >= 4) Kernel4(x + t, panel, k, out + t * out_stride, out_stride), t += 4;
    else if (left >= 2) Kernel2(x + t, panel, k, out + t * out_stride, out_stride), t += 2;
    else Kernel1(x + t, panel, k, out + t * out_stride, out_stride), t += 1;
  }
}

static const Kernels kAvx2Kernels = {
    DotBf16, DotQ8, DotQ4, MultiBf16ByOne<DotBf16>, MultiQuantByOne<DotQ8>, MultiQuantByOne<DotQ4>, nullptr,
    nullptr, DotQ45K<false>, DotQ45K<true>, DotQ6K, DotF16,
    PanelByTokens<PanelQ4T<1>, PanelQ4T<2>, PanelQ4T<4>>, PanelByTokens<PanelQ8T<1>, PanelQ8T<2>, PanelQ8T<4>>,
    true};

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
