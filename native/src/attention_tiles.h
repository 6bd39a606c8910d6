// The tile kernels of attention.cc: K/V rows converted from the cache's format, scores of query rows against a
// key tile (transposed for many rows, as rows for a few), the online-softmax reductions, and p·V. Each is
// compiled for several instruction sets (target_clones). Included by attention.cc only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include "attention.h"
#include "cpu.h"
#include "vector_math.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace pixtral {
namespace {


constexpr int kKeyTile = 64;            // keys whose scores live at once
constexpr int kPrefetchPositions = 16;  // how far ahead LoadRows asks for a head's rows (8–64 measured alike)

// IEEE half → float without branches (so the conversion loop vectorizes); denormals via the multiply.
inline float HalfToFloat(uint16_t h) {
  uint32_t magnitude = uint32_t(h & 0x7fff) << 13;
  float f;
  std::memcpy(&f, &magnitude, 4);
  f *= 5.192296858534828e+33f;  // 2^112: rebias the exponent from 15 to 127
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= (h & 0x7c00) == 0x7c00 ? 0x7f800000u : 0u;  // inf / nan (a select, not a branch: it vectorizes)
  bits |= uint32_t(h & 0x8000) << 16;
  std::memcpy(&f, &bits, 4);
  return f;
}

#if defined(__x86_64__)
// Half → float, 16 values per instruction (AVX-512F has the conversion).
__attribute__((target("avx512f"))) void HalfRowAvx512(const uint16_t* h, int d, float* out) {
  int i = 0;
  for (; i + 16 <= d; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
  for (; i < d; i++) out[i] = HalfToFloat(h[i]);
}

// Half → float with the F16C instruction (one per 8 values instead of a dozen bit operations). Every CPU at the
// AVX2 level has F16C.
__attribute__((target("avx2,f16c"))) void HalfRowF16c(const uint16_t* h, int d, float* out) {
  int i = 0;
  for (; i + 8 <= d; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < d; i++) out[i] = HalfToFloat(h[i]);
}
#endif

// Positions [first, first + count), kv heads [kvh, kvh + heads), as float32 rows out[j][heads·d] whatever the
// cache stores: one call per tile, so the conversion loops vectorize and nothing is dispatched per key.
PIXTRAL_MULTIVERSION void LoadRows(const KvSource& src, size_t first, int count, int kv_heads, int kvh, int heads,
                                   int d, float* out) {
  const size_t value_bytes = src.format == KvFormat::kF32 ? 4 : src.format == KvFormat::kF16 ? 2 : 1;
  const size_t row_bytes = size_t(d) * heads * value_bytes, position_bytes = size_t(d) * kv_heads * value_bytes;
#if defined(__x86_64__)
  const bool f16c = ActiveLevel() >= KernelLevel::kAvx2, avx512 = ActiveLevel() >= KernelLevel::kAvx512;
#endif
  for (int j = 0; j < count; j++) {
    const KvSource::Rows rows = src.At(first + j);
    const size_t at = (rows.row * kv_heads + kvh) * size_t(d);
    // A subset of heads lies kv_heads·d values apart: too sparse for the hardware prefetcher, so ask for a row a
    // little ahead (past the end of a page this only touches cache lines, never faults). Whole positions stream
    // on their own.
    if (heads < kv_heads) {
      const char* ahead = static_cast<const char*>(rows.data) + at * value_bytes + kPrefetchPositions * position_bytes;
      for (size_t line = 0; line < row_bytes; line += 64) __builtin_prefetch(ahead + line);
    }
    for (int h = 0; h < heads; h++) {
      const size_t from = at + size_t(h) * d;
      float* row = out + (size_t(j) * heads + h) * d;
      switch (src.format) {
        case KvFormat::kF32:
          std::memcpy(row, static_cast<const float*>(rows.data) + from, size_t(d) * 4);
          break;
        case KvFormat::kF16: {
          const uint16_t* half = static_cast<const uint16_t*>(rows.data) + from;
#if defined(__x86_64__)
          if (avx512) {
            HalfRowAvx512(half, d, row);
            break;
          }
          if (f16c) {
            HalfRowF16c(half, d, row);
            break;
          }
#endif
          for (int i = 0; i < d; i++) row[i] = HalfToFloat(half[i]);
          break;
        }
        case KvFormat::kQ8: {
          const int8_t* q = static_cast<const int8_t*>(rows.data) + from;
          const float scale = rows.scales[rows.row * kv_heads + kvh + h];
          for (int i = 0; i < d; i++) row[i] = float(q[i]) * scale;
          break;
        }
      }
    }
  }
}

// rows[j][d] → columns[d][j] for a tile of kKeyTile keys (missing keys repeat the last one).
PIXTRAL_MULTIVERSION void Transpose(const float* rows, int count, int d, float* columns) {
  for (int i = 0; i < d; i++)
    for (int j = 0; j < kKeyTile; j++) columns[size_t(i) * kKeyTile + j] = rows[size_t(std::min(j, count - 1)) * d + i];
}

// 16 floats as one value: GCC maps it to a zmm register (two ymm / four xmm in the older clones). Loads and
// stores go through memcpy because the buffers are only float-aligned.
typedef float Vec16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;

__attribute__((always_inline)) inline Vec16 LoadVec(const float* p) {
  Vec16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void StoreVec(float* p, Vec16 v) { std::memcpy(p, &v, sizeof v); }

typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec4 __attribute__((vector_size(16)));

// The sum of the 16 lanes as a tree of halves (a handful of shuffles and adds, not 15 dependent scalar adds).
__attribute__((always_inline)) inline float SumLanes(Vec16 v) {
  const Vec8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                 __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const Vec4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
  return (q[0] + q[2]) + (q[1] + q[3]);
}

// Scores of R query rows against a key tile stored transposed (kt[d][j]): R × 4 vector accumulators, so each
// loaded key vector feeds R multiply-adds.
template <int R>
__attribute__((always_inline)) inline void TileScoresRows(const float* const* q_rows, const float* kt, int dim, float scale, float* scores) {
  constexpr int kVecs = kKeyTile / kLanes;
  Vec16 s[R][kVecs] = {};
  for (int d = 0; d < dim; d++) {
    Vec16 key[kVecs];
    for (int c = 0; c < kVecs; c++) key[c] = LoadVec(kt + size_t(d) * kKeyTile + c * kLanes);
    for (int i = 0; i < R; i++) {
      const float qd = q_rows[i][d];
      for (int c = 0; c < kVecs; c++) s[i][c] += qd * key[c];
    }
  }
  for (int i = 0; i < R; i++)
    for (int c = 0; c < kVecs; c++) StoreVec(scores + i * kKeyTile + c * kLanes, s[i][c] * scale);
}

PIXTRAL_MULTIVERSION void TileScores(const float* const* q_rows, int rows, const float* kt, int dim, float scale,
                                     float* scores) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) TileScoresRows<4>(q_rows + r, kt, dim, scale, scores + size_t(r) * kKeyTile);
  for (; r < rows; r++) TileScoresRows<1>(q_rows + r, kt, dim, scale, scores + size_t(r) * kKeyTile);
}

// Scores of R query rows against one key: each key vector loaded once feeds R rows; 16-lane partial sums so it
// vectorizes without -ffast-math.
template <int D, int R>
__attribute__((always_inline)) inline void KeyScoresRows(const float* const* q_rows, const float* key, float scale,
                                                         float* scores) {
  Vec16 acc[R] = {};
  for (int i = 0; i < D; i += kLanes) {
    const Vec16 k = LoadVec(key + i);
    for (int r = 0; r < R; r++) acc[r] += LoadVec(q_rows[r] + i) * k;
  }
  for (int r = 0; r < R; r++) scores[r * kKeyTile] = SumLanes(acc[r]) * scale;
}

// Scores of a few query rows against `count` keys stored as rows (decode: cheaper than transposing the tile).
template <int D>
PIXTRAL_MULTIVERSION void KeyRowScores(const float* const* q_rows, int rows, const float* keys, size_t key_stride,
                                       int count, int head_dim, float scale, float* scores) {
  if constexpr (D > 0) {
    for (int j = 0; j < count; j++) {
      const float* key = keys + j * key_stride;
      int r = 0;
      for (; r + 4 <= rows; r += 4) KeyScoresRows<D, 4>(q_rows + r, key, scale, scores + r * kKeyTile + j);
      for (; r < rows; r++) KeyScoresRows<D, 1>(q_rows + r, key, scale, scores + r * kKeyTile + j);
    }
  } else {
    for (int j = 0; j < count; j++)
      for (int r = 0; r < rows; r++) {
        float dot = 0;
        for (int i = 0; i < head_dim; i++) dot += q_rows[r][i] * keys[j * key_stride + i];
        scores[r * kKeyTile + j] = dot * scale;
      }
  }
}

// Without -ffast-math GCC will not vectorize a float reduction, so these keep 16 partial results (one per lane).
PIXTRAL_MULTIVERSION
float RowMax(const float* x, int count) {
  float lanes[16];
  for (int l = 0; l < 16; l++) lanes[l] = -INFINITY;
  int j = 0;
  for (; j + 16 <= count; j += 16)
    for (int l = 0; l < 16; l++) lanes[l] = lanes[l] > x[j + l] ? lanes[l] : x[j + l];
  float m = -INFINITY;
  for (int l = 0; l < 16; l++) m = std::max(m, lanes[l]);
  for (; j < count; j++) m = std::max(m, x[j]);
  return m;
}

PIXTRAL_MULTIVERSION
void ExpInPlace(float* x, int count, float max, float* sum) {
  float lanes[16] = {};
  int j = 0;
  for (; j + 16 <= count; j += 16)
    for (int l = 0; l < 16; l++) {
      x[j + l] = FastExp(x[j + l] - max);
      lanes[l] += x[j + l];
    }
  float s = 0;
  for (int l = 0; l < 16; l++) s += lanes[l];
  for (; j < count; j++) {
    x[j] = FastExp(x[j] - max);
    s += x[j];
  }
  *sum = s;
}

// acc[r][0..W) = acc·correction[r] + Σ_j p[r][j]·v[j][0..W) for R rows, W columns of the head held in
// registers (rows `stride` floats apart): each value vector loaded feeds R multiply-adds.
template <int W, int R>
__attribute__((always_inline)) inline void TileValuesRows(float* acc, size_t stride, const float* correction,
                                                          const float* p, int count, const float* vt,
                                                          size_t v_stride) {
  constexpr int kVecs = W / kLanes;
  Vec16 a[R][kVecs];
  for (int i = 0; i < R; i++)
    for (int c = 0; c < kVecs; c++) a[i][c] = LoadVec(acc + i * stride + c * kLanes) * correction[i];
  for (int j = 0; j < count; j++) {
    Vec16 v[kVecs];
    for (int c = 0; c < kVecs; c++) v[c] = LoadVec(vt + j * v_stride + c * kLanes);
    for (int i = 0; i < R; i++) {
      const float pj = p[i * kKeyTile + j];
      for (int c = 0; c < kVecs; c++) a[i][c] += pj * v[c];
    }
  }
  for (int i = 0; i < R; i++)
    for (int c = 0; c < kVecs; c++) StoreVec(acc + i * stride + c * kLanes, a[i][c]);
}

// Every row's acc = acc·correction + p·V for one tile (p is zero past each row's visible keys). Head sizes
// other than 64 and 128 take a plain loop.
template <int D>
PIXTRAL_MULTIVERSION void TileValues(float* acc, const float* correction, const float* p, int rows, int count,
                                     const float* vt, size_t v_stride, int head_dim) {
  if constexpr (D > 0) {
    // Four rows × 64 columns: 16 accumulator registers. Wider heads go 64 columns at a time.
    constexpr int kWidth = 64;
    static_assert(D % kWidth == 0, "head sizes with register kernels are multiples of 64");
    int r = 0;
    for (; r + 4 <= rows; r += 4)
      for (int c = 0; c < D; c += kWidth)
        TileValuesRows<kWidth, 4>(acc + size_t(r) * D + c, D, correction + r, p + size_t(r) * kKeyTile, count,
                                  vt + c, v_stride);
    for (; r < rows; r++)
      for (int c = 0; c < D; c += kWidth)
        TileValuesRows<kWidth, 1>(acc + size_t(r) * D + c, D, correction + r, p + size_t(r) * kKeyTile, count,
                                  vt + c, v_stride);
  } else {
    for (int r = 0; r < rows; r++) {
      float* a = acc + size_t(r) * head_dim;
      for (int d = 0; d < head_dim; d++) a[d] *= correction[r];
      for (int j = 0; j < count; j++)
        for (int d = 0; d < head_dim; d++) a[d] += p[size_t(r) * kKeyTile + j] * vt[j * v_stride + d];
    }
  }
}

}  // namespace
}  // namespace pixtral
