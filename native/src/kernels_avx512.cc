// AVX-512 kernels (Sapphire Rapids / Ice Lake / Zen 4): 512-bit FMAs for bf16 weights, and VNNI (vpdpbusd:
// 64 byte multiply-adds into int32 per instruction) for q8/q4 — two q8 blocks or four q4 blocks per step.
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
#include "dpbf16.h"
#include "kernel_set.h"
#include "thread_pool.h"
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#include <immintrin.h>
#include <cstring>
#include "horizontal_sum.h"
#include "kernel_set.h"
#include "kernels.h"

namespace pixtral {

static float DotBf16(const float* x, const uint16_t* w, int k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 32 <= k; i += 32) {
    PrefetchAhead(w + i);
    __m512i w0 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i))), 16);
    __m512i w1 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i + 16))), 16);
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_castsi512_ps(w0), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_castsi512_ps(w1), acc1);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < k; i++) sum += x[i] * Bf16ToF32(w[i]);
  return sum;
}

static float DotF16(const float* x, const uint16_t* w, int k) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 32 <= k; i += 32) {
    PrefetchAhead(w + i);
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(w + i))), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16),
                           _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(w + i + 16))), acc1);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < k; i++) sum += x[i] * _cvtsh_ss(w[i]);
  return sum;
}

static float DotQ8(ActivationView x, const uint8_t* row, int k) {
  const uint16_t* scales = RowScales(WeightFormat::kQ8, row, k);
  const int blocks = k / kBlock;
  // Lanes 0–7 hold block b's sums, lanes 8–15 block b+1's.
  const __m512i pair_index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  __m512 acc = _mm512_setzero_ps();
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    PrefetchAhead(row + b * kBlock);
    __m512i xv = _mm512_loadu_si512(x.q + b * kBlock);
    __m512i wv = _mm512_loadu_si512(row + b * kBlock);
    // vpdpbusd takes unsigned × signed: |x| and w with x's sign.
    __m512i signed_w = _mm512_mask_sub_epi8(wv, _mm512_movepi8_mask(xv), _mm512_setzero_si512(), wv);
    __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(xv), signed_w);
    int32_t two_halves;
    std::memcpy(&two_halves, scales + b, 4);
    __m128 ws = _mm_cvtph_ps(_mm_cvtsi32_si128(two_halves));
    __m128 s = _mm_mul_ps(ws, _mm_castsi128_ps(_mm_loadl_epi64((const __m128i*)(x.scale + b))));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(pair_index, _mm512_castps128_ps512(s)), acc);
  }
  float sum = _mm512_reduce_add_ps(acc);
  for (; b < blocks; b++) {
    __m256i xv = _mm256_loadu_si256((const __m256i*)(x.q + b * kBlock));
    __m256i wv = _mm256_loadu_si256((const __m256i*)(row + b * kBlock));
    __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv));
    sum += HorizontalSum(_mm256_cvtepi32_ps(dot)) * (x.scale[b] * _cvtsh_ss(scales[b]));
  }
  return sum;
}

static float DotQ4(ActivationView x, const uint8_t* row, int k) {
  const uint16_t* scales = RowScales(WeightFormat::kQ4, row, k);
  const int blocks = k / kBlock;
  const __m512i low_mask = _mm512_set1_epi8(0x0f);
  // After one 64-byte load, lanes 4i..4i+3 hold block i's sums.
  const __m512i group_index = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m128 offset0 = _mm_setzero_ps(), offset1 = _mm_setzero_ps();  // two chains, like the accumulators
  int b = 0;
  auto group = [&](int first, __m512& acc, __m128& offset) {
    PrefetchAhead(row + first * 16);
    __m512i bytes = _mm512_loadu_si512(row + first * 16);
    __m512i low = _mm512_and_si512(bytes, low_mask);
    __m512i high = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_mask);
    const int8_t* xg = x.q + first * kBlock;
    // Nibbles are unsigned (value + 8), exactly what vpdpbusd wants; 8·Σx comes out per block below.
    __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), low, _mm512_loadu_si512(xg));
    dot = _mm512_dpbusd_epi32(dot, high, _mm512_loadu_si512(xg + 64));
    __m128 ws = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i*)(scales + first)));
    __m128 s = _mm_mul_ps(ws, _mm_loadu_ps(x.scale + first));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(group_index, _mm512_castps128_ps512(s)), acc);
    offset = _mm_fmadd_ps(ws, _mm_loadu_ps(x.offset8 + first), offset);
  };
  for (; b + 2 * kGroup <= blocks; b += 2 * kGroup) {
    group(b, acc0, offset0);
    group(b + kGroup, acc1, offset1);
  }
  for (; b + kGroup <= blocks; b += kGroup) group(b, acc0, offset0);
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - HorizontalSum(_mm_add_ps(offset0, offset1));
  const __m128i low_mask128 = _mm_set1_epi8(0x0f);
  for (; b < blocks; b++) {
    __m128i bytes = _mm_loadu_si128((const __m128i*)(row + b * 16));
    __m256i w = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), low_mask128), _mm_and_si128(bytes, low_mask128));
    __m256i xv = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(x.q + SplitIndex(b, 16, k / kBlock))),
                                  _mm_loadu_si128((const __m128i*)(x.q + SplitIndex(b, 0, k / kBlock))));
    __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, xv);
    float ws = _cvtsh_ss(scales[b]);
    sum += HorizontalSum(_mm256_cvtepi32_ps(dot)) * (x.scale[b] * ws) - x.offset8[b] * ws;
  }
  return sum;
}

// Multi-token micro-kernels: each weight vector is loaded (converted, unpacked) once and used for T tokens.
template <int T>
static void MultiBf16T(const float* x, size_t x_stride, const uint16_t* w, int k, float* out, size_t out_stride) {
  __m512 acc[T];
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  int i = 0;
  for (; i + 16 <= k; i += 16) {
    PrefetchAhead(w + i);
    __m512 wv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i))), 16));
    for (int t = 0; t < T; t++) acc[t] = _mm512_fmadd_ps(_mm512_loadu_ps(x + t * x_stride + i), wv, acc[t]);
  }
  for (int t = 0; t < T; t++) {
    float sum = _mm512_reduce_add_ps(acc[t]);
    for (int j = i; j < k; j++) sum += x[t * x_stride + j] * Bf16ToF32(w[j]);
    out[t * out_stride] = sum;
  }
}

static void MultiBf16(const float* x, size_t x_stride, int tokens, const uint16_t* w, int k, float* out,
                      size_t out_stride) {
  switch (tokens) {
    case 4: return MultiBf16T<4>(x, x_stride, w, k, out, out_stride);
    case 3: return MultiBf16T<3>(x, x_stride, w, k, out, out_stride);
    case 2: return MultiBf16T<2>(x, x_stride, w, k, out, out_stride);
    default:
      for (int t = 0; t < tokens; t++) out[t * out_stride] = DotBf16(x + t * x_stride, w, k);
  }
}

template <int T>
static void MultiQ8T(const ActivationView* x, const uint8_t* row, int k, float* out, size_t out_stride) {
  const uint16_t* scales = RowScales(WeightFormat::kQ8, row, k);
  const int blocks = k / kBlock;
  const __m512i pair_index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  const __m512i ones = _mm512_set1_epi8(1);
  __m512 acc[T];
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    PrefetchAhead(row + b * kBlock);
    __m512i wv = _mm512_loadu_si512(row + b * kBlock);
    // x+128 is unsigned, as vpdpbusd wants: Σ(x+128)·w − 128·Σw, with Σw shared by every token.
    __m512i w_sum128 = _mm512_slli_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, wv), 7);
    int32_t two_halves;
    std::memcpy(&two_halves, scales + b, 4);
    __m512 ws = _mm512_permutexvar_ps(pair_index, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(two_halves))));
    for (int t = 0; t < T; t++) {
      __m512i xu = _mm512_xor_si512(_mm512_loadu_si512(x[t].q + b * kBlock), flip);
      __m512i dot = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), xu, wv), w_sum128);
      __m512 xs = _mm512_permutexvar_ps(pair_index, _mm512_castps128_ps512(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i*)(x[t].scale + b)))));
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(dot), xs), ws, acc[t]);
    }
  }
  for (int t = 0; t < T; t++) {
    float sum = _mm512_reduce_add_ps(acc[t]);
    for (int c = b; c < blocks; c++) {
      __m256i xv = _mm256_loadu_si256((const __m256i*)(x[t].q + c * kBlock));
      __m256i wv = _mm256_loadu_si256((const __m256i*)(row + c * kBlock));
      __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv));
      sum += HorizontalSum(_mm256_cvtepi32_ps(dot)) * (x[t].scale[c] * _cvtsh_ss(scales[c]));
    }
    out[t * out_stride] = sum;
  }
}

template <int T>
static void MultiQ4T(const ActivationView* x, const uint8_t* row, int k, float* out, size_t out_stride) {
  const uint16_t* scales = RowScales(WeightFormat::kQ4, row, k);
  const int blocks = k / kBlock;
  const __m512i low_mask = _mm512_set1_epi8(0x0f);
  const __m512i group_index = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  __m512 acc[T];
  __m128 offset[T];
  for (int t = 0; t < T; t++) {
    acc[t] = _mm512_setzero_ps();
    offset[t] = _mm_setzero_ps();
  }
  int b = 0;
  for (; b + kGroup <= blocks; b += kGroup) {
    PrefetchAhead(row + b * 16);
    __m512i bytes = _mm512_loadu_si512(row + b * 16);
    __m512i low = _mm512_and_si512(bytes, low_mask);
    __m512i high = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_mask);
    __m128 ws4 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i*)(scales + b)));
    __m512 ws = _mm512_permutexvar_ps(group_index, _mm512_castps128_ps512(ws4));
    for (int t = 0; t < T; t++) {
      const int8_t* xg = x[t].q + b * kBlock;
      __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), low, _mm512_loadu_si512(xg));
      dot = _mm512_dpbusd_epi32(dot, high, _mm512_loadu_si512(xg + 64));
      __m512 xs = _mm512_permutexvar_ps(group_index, _mm512_castps128_ps512(_mm_loadu_ps(x[t].scale + b)));
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(dot), xs), ws, acc[t]);
      offset[t] = _mm_fmadd_ps(ws4, _mm_loadu_ps(x[t].offset8 + b), offset[t]);
    }
  }
  for (int t = 0; t < T; t++) {
    float sum = _mm512_reduce_add_ps(acc[t]) - HorizontalSum(offset[t]);
    const __m128i low_mask128 = _mm_set1_epi8(0x0f);
    for (int c = b; c < blocks; c++) {
      __m128i bytes = _mm_loadu_si128((const __m128i*)(row + c * 16));
      __m256i w = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), low_mask128), _mm_and_si128(bytes, low_mask128));
      __m256i xv = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(x[t].q + SplitIndex(c, 16, blocks))),
                                    _mm_loadu_si128((const __m128i*)(x[t].q + SplitIndex(c, 0, blocks))));
      __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, xv);
      float wsc = _cvtsh_ss(scales[c]);
      sum += HorizontalSum(_mm256_cvtepi32_ps(dot)) * (x[t].scale[c] * wsc) - x[t].offset8[c] * wsc;
    }
    out[t * out_stride] = sum;
  }
}

// Q4_K / Q5_K: each 32 bytes of nibbles are 64 values (low nibbles: sub-block 2c, high: 2c+1), which line up
// with 64 activations in block order, so one vpdpbusd covers two sub-blocks (lanes 0–7 and 8–15).
template <bool kFifthBit>
static float DotQ45KAvx512(ActivationView x, const uint8_t* row, int k) {
  const size_t block_bytes = kFifthBit ? kQ5KBlockBytes : kQ4KBlockBytes;
  const __m256i low_mask = _mm256_set1_epi8(0x0f), sixteen = _mm256_set1_epi8(16);
  const __m512i pair_index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};  // two chains: one multiply-add latency apart
  __m256 min_acc = _mm256_setzero_ps();
  for (int s = 0; s < k / kSuperBlock; s++) {
    const uint8_t* block = row + s * block_bytes;
    PrefetchAhead(block);
    PrefetchAhead(block + 64);
    PrefetchAhead(block + 128);
    const float d = _cvtsh_ss(uint16_t(block[0] | block[1] << 8));
    const float dmin = _cvtsh_ss(uint16_t(block[2] | block[3] << 8));
    const uint8_t* low = block + (kFifthBit ? 48 : 16);
    __m256i fifth = kFifthBit ? _mm256_loadu_si256((const __m256i*)(block + 16)) : _mm256_setzero_si256();
    // The eight 6-bit scales and mins, unpacked from their 12 bytes a word at a time: bytes 0–7 of `unpacked` are
    // the scales, 8–15 the mins (the packing KQuantScaleMin reads one at a time).
    uint32_t packed[3], unpacked[4];
    std::memcpy(packed, block + 4, 12);
    unpacked[0] = packed[0] & 0x3f3f3f3f;
    unpacked[1] = (packed[2] & 0x0f0f0f0f) | (((packed[0] >> 6) & 0x03030303) << 4);
    unpacked[2] = packed[1] & 0x3f3f3f3f;
    unpacked[3] = ((packed[2] >> 4) & 0x0f0f0f0f) | (((packed[1] >> 6) & 0x03030303) << 4);
    const __m128i bytes16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(unpacked));
    const __m256 scale = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes16));
    const __m256 min = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes16, 8)));
    // d·scale_j·xscale_j for the eight sub-blocks (= activation blocks), and dmin·min_j·Σx_j taken out at the end.
    const __m256 factors = _mm256_mul_ps(_mm256_mul_ps(scale, _mm256_set1_ps(d)), _mm256_loadu_ps(x.scale + s * 8));
    min_acc = _mm256_fmadd_ps(_mm256_mul_ps(min, _mm256_set1_ps(dmin * 0.125f)), _mm256_loadu_ps(x.offset8 + s * 8),
                              min_acc);
    const __m512 factors512 = _mm512_castps256_ps512(factors);
    for (int c = 0; c < 4; c++) {
      const int b = s * 8 + 2 * c;
      const __m256i bytes = _mm256_loadu_si256((const __m256i*)(low + 32 * c));
      __m256i lo = _mm256_and_si256(bytes, low_mask);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_mask);
      if (kFifthBit) {
        lo = _mm256_mask_add_epi8(lo, _mm256_test_epi8_mask(fifth, _mm256_set1_epi8(char(1 << (2 * c)))), lo, sixteen);
        hi = _mm256_mask_add_epi8(hi, _mm256_test_epi8_mask(fifth, _mm256_set1_epi8(char(1 << (2 * c + 1)))), hi,
                                  sixteen);
      }
      const __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, _mm512_loadu_si512(x.q + b * kBlock));
      // Lanes 0–7 take factor 2c, lanes 8–15 factor 2c + 1.
      const __m512i pick = _mm512_add_epi32(pair_index, _mm512_set1_epi32(2 * c));
      acc[c & 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(pick, factors512), acc[c & 1]);
    }
  }
  const __m128 min_half = _mm_add_ps(_mm256_castps256_ps128(min_acc), _mm256_extractf128_ps(min_acc, 1));
  const float mins = HorizontalSum(min_half);
  return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) - mins;
}

// Q6_K: per half block, 64 bytes of ql and 32 of qh rebuild 128 six-bit values in order (two vectors of 64);
// vpdpbusd takes them unsigned (q + 32) and the 32·Σx it adds comes off per 16 values, each with its scale.
static float DotQ6KAvx512(ActivationView x, const uint8_t* row, int k) {
  const __m512i mask4 = _mm512_set1_epi8(0x0f), thirty_two = _mm512_set1_epi8(32);
  const __m256i mask2 = _mm256_set1_epi8(3);
  const __m512i per_group = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int s = 0; s < k / kSuperBlock; s++) {
    const uint8_t* block = row + s * kQ6KBlockBytes;
    PrefetchAhead(block);
    PrefetchAhead(block + 64);
    PrefetchAhead(block + 128);
    PrefetchAhead(block + 192);
    const int8_t* scales = reinterpret_cast<const int8_t*>(block + 192);
    const float d = _cvtsh_ss(uint16_t(block[208] | block[209] << 8));
    for (int half = 0; half < 2; half++) {
      const __m512i ql = _mm512_loadu_si512(block + 64 * half);
      const __m256i qh = _mm256_loadu_si256((const __m256i*)(block + 128 + 32 * half));
      auto bits = [&](int shift) { return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), mask2), 4); };
      const __m512i values[2] = {
          _mm512_or_si512(_mm512_and_si512(ql, mask4),
                          _mm512_inserti64x4(_mm512_castsi256_si512(bits(0)), bits(2), 1)),
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), mask4),
                          _mm512_inserti64x4(_mm512_castsi256_si512(bits(4)), bits(6), 1))};
      for (int v = 0; v < 2; v++) {
        const int first = s * kSuperBlock + 128 * half + 64 * v;  // activation index of values[v][0]
        const __m512i xv = _mm512_loadu_si512(x.q + first);
        const __m512i dot = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), values[v], xv),
                                             _mm512_dpbusd_epi32(_mm512_setzero_si512(), thirty_two, xv));
        const int8_t* sc = scales + 8 * half + 4 * v;
        const int b = first / kBlock;
        const __m128 f = _mm_mul_ps(_mm_set_ps(float(sc[3]) * x.scale[b + 1], float(sc[2]) * x.scale[b + 1],
                                               float(sc[1]) * x.scale[b], float(sc[0]) * x.scale[b]),
                                    _mm_set1_ps(d));
        acc[v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot),
                                 _mm512_permutexvar_ps(per_group, _mm512_castps128_ps512(f)), acc[v]);
      }
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
}

// Four rows × T tokens. Each row's VNNI sums leave four int32 lanes per block (block b in 128-bit lane b); the
// four rows are folded into one vector (lane 4b + r: block b, row r) with two rounds of unpack-and-add, so the
// block scales are applied once per four rows — one convert and two multiply-adds instead of three per row.
template <int T>
static void QuadQ4T(const ActivationView* x, const uint8_t* row0, size_t row_bytes, int k, float* out,
                    size_t out_stride) {
  const int blocks = k / kBlock;
  const uint8_t* rows[4] = {row0, row0 + row_bytes, row0 + 2 * row_bytes, row0 + 3 * row_bytes};
  const uint16_t* scales[4];
  for (int r = 0; r < 4; r++) scales[r] = RowScales(WeightFormat::kQ4, rows[r], k);
  const __m512i low_mask = _mm512_set1_epi8(0x0f);
  // Lane 4b + r takes element 4r + b: the rows' [row][block] scales into the folded [block][row] order.
  const __m512i block_major = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
  // Lanes 4b..4b+3 all take element b: one value per block, once for each row.
  const __m512i per_block = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  __m512 acc[T];
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  int b = 0;
  for (; b + kGroup <= blocks; b += kGroup) {
    __m512i low[4], high[4];
    for (int r = 0; r < 4; r++) {
      PrefetchAhead(rows[r] + b * 16);
      __m512i bytes = _mm512_loadu_si512(rows[r] + b * 16);
      low[r] = _mm512_and_si512(bytes, low_mask);
      high[r] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_mask);
    }
    const __m256i halves = _mm256_set_epi64x(*reinterpret_cast<const long long*>(scales[3] + b),
                                             *reinterpret_cast<const long long*>(scales[2] + b),
                                             *reinterpret_cast<const long long*>(scales[1] + b),
                                             *reinterpret_cast<const long long*>(scales[0] + b));
    const __m512 ws = _mm512_permutexvar_ps(block_major, _mm512_cvtph_ps(halves));
    for (int t = 0; t < T; t++) {
      const int8_t* xg = x[t].q + b * kBlock;
      const __m512i xlo = _mm512_loadu_si512(xg), xhi = _mm512_loadu_si512(xg + 64);
      __m512i d[4];
      for (int r = 0; r < 4; r++)
        d[r] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), low[r], xlo), high[r], xhi);
      const __m512i d01 = _mm512_add_epi32(_mm512_unpacklo_epi32(d[0], d[1]), _mm512_unpackhi_epi32(d[0], d[1]));
      const __m512i d23 = _mm512_add_epi32(_mm512_unpacklo_epi32(d[2], d[3]), _mm512_unpackhi_epi32(d[2], d[3]));
      const __m512i folded = _mm512_add_epi32(_mm512_unpacklo_epi64(d01, d23), _mm512_unpackhi_epi64(d01, d23));
      const __m512 xs = _mm512_permutexvar_ps(per_block, _mm512_castps128_ps512(_mm_loadu_ps(x[t].scale + b)));
      const __m512 off = _mm512_permutexvar_ps(per_block, _mm512_castps128_ps512(_mm_loadu_ps(x[t].offset8 + b)));
      acc[t] = _mm512_fmadd_ps(ws, _mm512_fmsub_ps(_mm512_cvtepi32_ps(folded), xs, off), acc[t]);
    }
  }
  for (int t = 0; t < T; t++) {
    // Σ over the four blocks (128-bit lanes): row r ends in element r.
    const __m256 halves = _mm256_add_ps(_mm512_castps512_ps256(acc[t]),
                                        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[t]), 1)));
    float sums[4];
    _mm_storeu_ps(sums, _mm_add_ps(_mm256_castps256_ps128(halves), _mm256_extractf128_ps(halves, 1)));
    for (int r = 0; r < 4; r++) {
      float sum = sums[r];
      for (int c = b; c < blocks; c++) {
        const __m128i low_mask128 = _mm_set1_epi8(0x0f);
        __m128i bytes = _mm_loadu_si128((const __m128i*)(rows[r] + c * 16));
        __m256i w = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), low_mask128), _mm_and_si128(bytes, low_mask128));
        __m256i xv = _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(x[t].q + SplitIndex(c, 16, blocks))),
                                      _mm_loadu_si128((const __m128i*)(x[t].q + SplitIndex(c, 0, blocks))));
        __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, xv);
        float wsc = _cvtsh_ss(scales[r][c]);
        sum += HorizontalSum(_mm256_cvtepi32_ps(dot)) * (x[t].scale[c] * wsc) - x[t].offset8[c] * wsc;
      }
      out[t * out_stride + r] = sum;
    }
  }
}

static void QuadQ4(const ActivationView* x, int tokens, const uint8_t* row, size_t row_bytes, int k, float* out,
                   size_t out_stride) {
  switch (tokens) {
    case 4: return QuadQ4T<4>(x, row, row_bytes, k, out, out_stride);
    case 3: return QuadQ4T<3>(x, row, row_bytes, k, out, out_stride);
    case 2: return QuadQ4T<2>(x, row, row_bytes, k, out, out_stride);
    default: return QuadQ4T<1>(x, row, row_bytes, k, out, out_stride);
  }
}

// Four bf16 rows × T tokens: 4T accumulators; every activation vector feeds four rows.
template <int T>
static void QuadBf16T(const float* x, size_t x_stride, const uint16_t* w, int k, float* out, size_t out_stride) {
  __m512 acc[4][T];
  for (int r = 0; r < 4; r++)
    for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
  int i = 0;
  for (; i + 16 <= k; i += 16) {
    __m512 wv[4];
    for (int r = 0; r < 4; r++) PrefetchAhead(w + size_t(r) * k + i);
    for (int r = 0; r < 4; r++)
      wv[r] = _mm512_castsi512_ps(
          _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + size_t(r) * k + i))), 16));
    for (int t = 0; t < T; t++) {
      __m512 xv = _mm512_loadu_ps(x + t * x_stride + i);
      for (int r = 0; r < 4; r++) acc[r][t] = _mm512_fmadd_ps(xv, wv[r], acc[r][t]);
    }
  }
  for (int r = 0; r < 4; r++)
    for (int t = 0; t < T; t++) {
      float sum = _mm512_reduce_add_ps(acc[r][t]);
      for (int j = i; j < k; j++) sum += x[t * x_stride + j] * Bf16ToF32(w[size_t(r) * k + j]);
      out[t * out_stride + r] = sum;
    }
}

static void QuadBf16(const float* x, size_t x_stride, int tokens, const uint16_t* w, int k, float* out,
                     size_t out_stride) {
  switch (tokens) {
    case 4: return QuadBf16T<4>(x, x_stride, w, k, out, out_stride);
    case 3: return QuadBf16T<3>(x, x_stride, w, k, out, out_stride);
    case 2: return QuadBf16T<2>(x, x_stride, w, k, out, out_stride);
    default: return QuadBf16T<1>(x, x_stride, w, k, out, out_stride);
  }
}

template <void (*Kernel1)(const ActivationView*, const uint8_t*, int, float*, size_t),
          void (*Kernel2)(const ActivationView*, const uint8_t*, int, float*, size_t),
          void (*Kernel3)(const ActivationView*, const uint8_t*, int, float*, size_t),
          void (*Kernel4)(const ActivationView*, const uint8_t*, int, float*, size_t)>
static void MultiQuant(const ActivationView* x, int tokens, const uint8_t* row, int k, float* out, size_t out_stride) {
  switch (tokens) {
    case 4: return Kernel4(x, row, k, out, out_stride);
    case 3: return Kernel3(x, row, k, out, out_stride);
    case 2: return Kernel2(x, row, k, out, out_stride);
    default: return Kernel1(x, row, k, out, out_stride);
  }
}

// Four activation bytes as one 32-bit value, in every lane (one vpbroadcastd from memory).
static inline __m512i Broadcast4(const int8_t* at) {
  typedef int32_t __attribute__((may_alias, aligned(1))) UnalignedInt32;
  return _mm512_set1_epi32(*reinterpret_cast<const UnalignedInt32*>(at));
}

// A q4 panel (16 rows interleaved, formats.h) × T tokens: every vpdpbusd multiplies four values of all 16 rows
// (one row per lane) by four activation bytes broadcast from memory, so a block's int32 sums land one row per
// lane with no folding, and the block's scales apply in three instructions per token for all 16 rows. The
// unpacked nibbles (eight vectors) are reused by every token; two accumulator chains per token (low and high
// nibbles) keep one token's chain short enough when T = 1 (decode).
template <int T>
static void PanelQ4T(const ActivationView* x, const uint8_t* panel, int k, float* out, size_t out_stride) {
  const int blocks = k / kBlock;
  const __m512i mask = _mm512_set1_epi8(0x0f);
  __m512 acc[T];
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  for (int b = 0; b < blocks; b++) {
    const uint8_t* p = panel + size_t(b) * kQ4PanelBlockBytes;
    for (int line = 0; line < int(kQ4PanelBlockBytes); line += 64) PrefetchAhead(p + line);
    __m512i low[4], high[4];
    for (int m = 0; m < 4; m++) {
      const __m512i v = _mm512_loadu_si512(p + 64 * m);
      low[m] = _mm512_and_si512(v, mask);
      high[m] = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
    }
    const __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 256)));
    const size_t low_at = SplitIndex(b, 0, blocks), high_at = SplitIndex(b, 16, blocks);
    // Unrolled so every token's accumulator stays in a register (a rolled loop keeps acc[] on the stack: 30% slower).
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const int8_t* xl = x[t].q + low_at;
      const int8_t* xh = x[t].q + high_at;
      __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int m = 0; m < 4; m++) {
        s0 = _mm512_dpbusd_epi32(s0, low[m], Broadcast4(xl + 4 * m));
        s1 = _mm512_dpbusd_epi32(s1, high[m], Broadcast4(xh + 4 * m));
      }
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
      const __m512 scaled = _mm512_fmsub_ps(dot, _mm512_set1_ps(x[t].scale[b]), _mm512_set1_ps(x[t].offset8[b]));
      acc[t] = _mm512_fmadd_ps(scaled, ws, acc[t]);
    }
  }
  for (int t = 0; t < T; t++) _mm512_storeu_ps(out + t * out_stride, acc[t]);
}

// A q8 panel × T tokens: as PanelQ4T with eight vectors of values stored +128 (no unpacking) against the block's
// 32 activation bytes in block order; the +128 comes off as 16·offset8 per block.
template <int T>
static void PanelQ8T(const ActivationView* x, const uint8_t* panel, int k, float* out, size_t out_stride) {
  const int blocks = k / kBlock;
  __m512 acc[T];
  for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
  for (int b = 0; b < blocks; b++) {
    const uint8_t* p = panel + size_t(b) * kQ8PanelBlockBytes;
    for (int line = 0; line < int(kQ8PanelBlockBytes); line += 64) PrefetchAhead(p + line);
    __m512i w[8];
    for (int m = 0; m < 8; m++) w[m] = _mm512_loadu_si512(p + 64 * m);
    const __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 512)));
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) {
      const int8_t* xq = x[t].q + size_t(b) * kBlock;
      __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int m = 0; m < 4; m++) {
        s0 = _mm512_dpbusd_epi32(s0, w[2 * m], Broadcast4(xq + 8 * m));
        s1 = _mm512_dpbusd_epi32(s1, w[2 * m + 1], Broadcast4(xq + 8 * m + 4));
      }
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
      const __m512 scaled =
          _mm512_fmsub_ps(dot, _mm512_set1_ps(x[t].scale[b]), _mm512_set1_ps(16.0f * x[t].offset8[b]));
      acc[t] = _mm512_fmadd_ps(scaled, ws, acc[t]);
    }
  }
  for (int t = 0; t < T; t++) _mm512_storeu_ps(out + t * out_stride, acc[t]);
}

template <template <int> class Kernel>
static void ByTokens(const ActivationView* x, int tokens, const uint8_t* panel, int k, float* out, size_t out_stride) {
  switch (tokens) {
    case 8: return Kernel<8>::Run(x, panel, k, out, out_stride);
    case 7: return Kernel<7>::Run(x, panel, k, out, out_stride);
    case 6: return Kernel<6>::Run(x, panel, k, out, out_stride);
    case 5: return Kernel<5>::Run(x, panel, k, out, out_stride);
    case 4: return Kernel<4>::Run(x, panel, k, out, out_stride);
    case 3: return Kernel<3>::Run(x, panel, k, out, out_stride);
    case 2: return Kernel<2>::Run(x, panel, k, out, out_stride);
    default: return Kernel<1>::Run(x, panel, k, out, out_stride);
  }
}
template <int T>
struct PanelQ4Kernel {
  static void Run(const ActivationView* x, const uint8_t* p, int k, float* out, size_t s) { PanelQ4T<T>(x, p, k, out, s); }
};
template <int T>
struct PanelQ8Kernel {
  static void Run(const ActivationView* x, const uint8_t* p, int k, float* out, size_t s) { PanelQ8T<T>(x, p, k, out, s); }
};

static void DotQ8One(const ActivationView* x, const uint8_t* row, int k, float* out, size_t) { *out = DotQ8(*x, row, k); }
static void DotQ4One(const ActivationView* x, const uint8_t* row, int k, float* out, size_t) { *out = DotQ4(*x, row, k); }

static const Kernels kAvx512Kernels = {DotBf16, DotQ8, DotQ4, MultiBf16,
                                       MultiQuant<DotQ8One, MultiQ8T<2>, MultiQ8T<3>, MultiQ8T<4>>,
                                       MultiQuant<DotQ4One, MultiQ4T<2>, MultiQ4T<3>, MultiQ4T<4>>, QuadQ4, QuadBf16,
                                       DotQ45KAvx512<false>, DotQ45KAvx512<true>, DotQ6KAvx512, DotF16,
                                       ByTokens<PanelQ4Kernel>, ByTokens<PanelQ8Kernel>, true};

}  // namespace pixtral

#define PIXTRAL_OPS_LEVEL 2
#include "level_ops.h"

namespace pixtral {

// vdpbf16ps takes the bf16 matmuls and vision attentions where the CPU has AVX512_BF16 (Zen 4/5, Cooper Lake and
// later); without it (Skylake-X, Ice Lake) they stay on the FMA kernels.
static AcceleratorKernels Bf16Unit() {
  if (!DetectCpu().avx512bf16) return {};
  return {Dpbf16TakesMatmul, MatmulDpbf16, nullptr, 1, Dpbf16TakesAttention, AttentionDpbf16};
}

const KernelSet& Avx512KernelSet() {
  static const KernelSet set = {"avx512",
                                [] {
                                  const CpuFeatures& cpu = DetectCpu();
                                  return cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512vnni && cpu.fma;
                                },
                                kAvx512Kernels, kOps, Bf16Unit()};
  return set;
}

}  // namespace pixtral
#endif
