// The op bodies every kernel level compiles for itself: included once by each kernels_<level>.cc after its
// `#pragma GCC target`, with PIXTRAL_OPS_LEVEL set (0 portable, 1 AVX2, 2 AVX-512), so GCC vectorizes the same
// source for that level and the registry's set for a level runs that level's code. Everything here has internal
// linkage; the level file hands out `kOps`.
//
// Attention: tiled with an online softmax (flash-attention style): K/V rows converted from the cache's format,
// scores of query rows against a key tile (transposed for many rows, as rows for a few), the online-softmax
// reductions, and p·V; decode splits the keys across cores (flash-decoding). Elementwise: norms, rotations,
// activations, split across cores in large chunks.
#ifndef PIXTRAL_OPS_LEVEL
#error "define PIXTRAL_OPS_LEVEL before including level_ops.h"
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "attention.h"
#include "kernel_set.h"
#include "thread_pool.h"
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

#if PIXTRAL_OPS_LEVEL >= 2
// Half → float, 16 values per instruction (AVX-512F has the conversion).
void HalfRowAvx512(const uint16_t* h, int d, float* out) {
  int i = 0;
  for (; i + 16 <= d; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
  for (; i < d; i++) out[i] = HalfToFloat(h[i]);
}
#endif

#if PIXTRAL_OPS_LEVEL == 1
// Half → float with the F16C instruction (one per 8 values instead of a dozen bit operations). Every CPU at the
// AVX2 level has F16C.
void HalfRowF16c(const uint16_t* h, int d, float* out) {
  int i = 0;
  for (; i + 8 <= d; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < d; i++) out[i] = HalfToFloat(h[i]);
}
#endif

// Positions [first, first + count), kv heads [kvh, kvh + heads), as float32 rows out[j][heads·d] whatever the
// cache stores: one call per tile, so the conversion loops vectorize and nothing is dispatched per key.
void LoadRows(const KvSource& src, size_t first, int count, int kv_heads, int kvh, int heads,
                                   int d, float* out) {
  const size_t value_bytes = src.format == KvFormat::kF32 ? 4 : src.format == KvFormat::kF16 ? 2 : 1;
  const size_t row_bytes = size_t(d) * heads * value_bytes, position_bytes = size_t(d) * kv_heads * value_bytes;
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
#if PIXTRAL_OPS_LEVEL >= 2
          HalfRowAvx512(half, d, row);
#elif PIXTRAL_OPS_LEVEL >= 1
          HalfRowF16c(half, d, row);
#else
          for (int i = 0; i < d; i++) row[i] = HalfToFloat(half[i]);
#endif
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
void Transpose(const float* rows, int count, int d, float* columns) {
  for (int i = 0; i < d; i++)
    for (int j = 0; j < kKeyTile; j++) columns[size_t(i) * kKeyTile + j] = rows[size_t(std::min(j, count - 1)) * d + i];
}

// 16 floats as one value: GCC maps it to a zmm register (two ymm / four xmm at the lower levels). Loads and
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

void TileScores(const float* const* q_rows, int rows, const float* kt, int dim, float scale,
                                     float* scores) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) TileScoresRows<4>(q_rows + r, kt, dim, scale, scores + size_t(r) * kKeyTile);
  for (; r < rows; r++) TileScoresRows<1>(q_rows + r, kt, dim, scale, scores + size_t(r) * kKeyTile);
}

#if PIXTRAL_OPS_LEVEL >= 2
// 16 half floats as one float vector, converted as they are loaded.
__attribute__((always_inline)) inline Vec16 LoadHalfVec(const uint16_t* h) {
  const __m512 v = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h)));
  return reinterpret_cast<const Vec16&>(v);
}
#endif

// The keys or values of a tile as float vectors, key j's values [i, i + 16) of one kv head: float rows `stride`
// apart (packed by LoadRows), or straight from the cache's f16 rows, converted as they are loaded — decode then
// reads each half once instead of writing and re-reading a float copy.
struct FloatRows {
  const float* base;
  size_t stride;
  __attribute__((always_inline)) Vec16 operator()(int j, int i) const { return LoadVec(base + j * stride + i); }
};
#if PIXTRAL_OPS_LEVEL >= 2
struct HalfRows {
  const uint16_t* const* rows;  // rows[j]: key j's position (every kv head)
  int offset;                   // the kv head's first value in a position
  __attribute__((always_inline)) Vec16 operator()(int j, int i) const { return LoadHalfVec(rows[j] + offset + i); }
};
#endif

// Scores of R query rows against key j: each key vector loaded once feeds R rows; 16-lane partial sums so it
// vectorizes without -ffast-math.
template <int D, int R, typename Keys>
__attribute__((always_inline)) inline void KeyScoresRows(const float* const* q_rows, const Keys& key, int j,
                                                         float scale, float* scores) {
  Vec16 acc[R] = {};
  for (int i = 0; i < D; i += kLanes) {
    const Vec16 k = key(j, i);
    for (int r = 0; r < R; r++) acc[r] += LoadVec(q_rows[r] + i) * k;
  }
  for (int r = 0; r < R; r++) scores[r * kKeyTile] = SumLanes(acc[r]) * scale;
}

#if PIXTRAL_OPS_LEVEL >= 2
// v[0..16) → one vector whose lane L is the sum of v[L]'s lanes: a tree of two-source shuffles and adds (15 adds
// for 16 sums) instead of 16 separate horizontal sums.
__attribute__((always_inline)) inline Vec16 Reduce16(const Vec16* v) {
  Vec16 w[8], x[4], y[2];
  for (int m = 0; m < 8; m++)  // lanes 0–7: v[2m]'s 8 partials, 8–15: v[2m+1]'s
    w[m] = __builtin_shufflevector(v[2 * m], v[2 * m + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           __builtin_shufflevector(v[2 * m], v[2 * m + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  for (int m = 0; m < 4; m++)  // 4 partials of v[4m..4m+4) each
    x[m] = __builtin_shufflevector(w[2 * m], w[2 * m + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
           __builtin_shufflevector(w[2 * m], w[2 * m + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  for (int m = 0; m < 2; m++)  // 2 partials of v[8m..8m+8) each
    y[m] = __builtin_shufflevector(x[2 * m], x[2 * m + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +
           __builtin_shufflevector(x[2 * m], x[2 * m + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
  return __builtin_shufflevector(y[0], y[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) +
         __builtin_shufflevector(y[0], y[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

// Scores of 4 query rows against keys [j, j + 16), four keys at a time: each loaded key vector feeds 4 rows and
// each query vector 4 keys (16 accumulators), and the 16 dot products of a block fold in one Reduce16. The
// blocks' sums (lane 4·row + key) are then regrouped into one 16-key vector per row.
template <int D, typename Keys>
__attribute__((always_inline)) inline void KeyScores4x16(const float* const* q, const Keys& key, int j, float scale,
                                                         float* scores) {
  Vec16 sums[4];
  for (int b = 0; b < 4; b++) {
    Vec16 acc[16] = {};
    for (int i = 0; i < D; i += kLanes) {
      Vec16 k[4];
      for (int c = 0; c < 4; c++) k[c] = key(j + 4 * b + c, i);
      for (int r = 0; r < 4; r++) {
        const Vec16 qv = LoadVec(q[r] + i);
        for (int c = 0; c < 4; c++) acc[r * 4 + c] += qv * k[c];
      }
    }
    sums[b] = Reduce16(acc) * scale;
  }
  const Vec16 rows01_a = __builtin_shufflevector(sums[0], sums[1], 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const Vec16 rows01_b = __builtin_shufflevector(sums[2], sums[3], 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const Vec16 rows23_a = __builtin_shufflevector(sums[0], sums[1], 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  const Vec16 rows23_b = __builtin_shufflevector(sums[2], sums[3], 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  StoreVec(scores + 0 * kKeyTile + j, __builtin_shufflevector(rows01_a, rows01_b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
  StoreVec(scores + 1 * kKeyTile + j, __builtin_shufflevector(rows01_a, rows01_b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
  StoreVec(scores + 2 * kKeyTile + j, __builtin_shufflevector(rows23_a, rows23_b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
  StoreVec(scores + 3 * kKeyTile + j, __builtin_shufflevector(rows23_a, rows23_b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
}
#endif

// Scores of a few query rows against `count` keys stored as rows (decode: cheaper than transposing the tile).
// Keys past `count` up to the next multiple of 16 must be readable (their scores are written and never used).
template <int D, typename Keys>
void KeyRowScores(const float* const* q_rows, int rows, const Keys& keys, int count, float scale, float* scores) {
  int r = 0;
#if PIXTRAL_OPS_LEVEL >= 2
  for (; r + 4 <= rows; r += 4)
    for (int j = 0; j < count; j += 16) KeyScores4x16<D>(q_rows + r, keys, j, scale, scores + r * kKeyTile);
#endif
  for (int j = 0; j < count; j++) {
    int rr = r;
    for (; rr + 4 <= rows; rr += 4) KeyScoresRows<D, 4>(q_rows + rr, keys, j, scale, scores + rr * kKeyTile + j);
    for (; rr < rows; rr++) KeyScoresRows<D, 1>(q_rows + rr, keys, j, scale, scores + rr * kKeyTile + j);
  }
}

// The same for head sizes without a register kernel (float rows only).
void KeyRowScoresAnyDim(const float* const* q_rows, int rows, const float* keys, size_t key_stride, int count,
                        int head_dim, float scale, float* scores) {
  for (int j = 0; j < count; j++)
    for (int r = 0; r < rows; r++) {
      float dot = 0;
      for (int i = 0; i < head_dim; i++) dot += q_rows[r][i] * keys[j * key_stride + i];
      scores[r * kKeyTile + j] = dot * scale;
    }
}

// Without -ffast-math GCC will not vectorize a float reduction, so these keep 16 partial results (one per lane).
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
template <int W, int R, typename Values>
__attribute__((always_inline)) inline void TileValuesRows(float* acc, size_t stride, const float* correction,
                                                          const float* p, int count, const Values& value,
                                                          int column) {
  constexpr int kVecs = W / kLanes;
  Vec16 a[R][kVecs];
  for (int i = 0; i < R; i++)
    for (int c = 0; c < kVecs; c++) a[i][c] = LoadVec(acc + i * stride + c * kLanes) * correction[i];
  for (int j = 0; j < count; j++) {
    Vec16 v[kVecs];
    for (int c = 0; c < kVecs; c++) v[c] = value(j, column + c * kLanes);
    for (int i = 0; i < R; i++) {
      const float pj = p[i * kKeyTile + j];
      for (int c = 0; c < kVecs; c++) a[i][c] += pj * v[c];
    }
  }
  for (int i = 0; i < R; i++)
    for (int c = 0; c < kVecs; c++) StoreVec(acc + i * stride + c * kLanes, a[i][c]);
}

// Every row's acc = acc·correction + p·V for one tile (p is zero past each row's visible keys): four rows × 64
// columns in 16 accumulator registers; wider heads go 64 columns at a time.
template <int D, typename Values>
void TileValues(float* acc, const float* correction, const float* p, int rows, int count, const Values& value) {
  // AVX2 has 16 ymm registers (a Vec16 takes two): 16 columns keep the 4 rows' accumulators in registers.
  constexpr int kWidth = PIXTRAL_OPS_LEVEL == 1 ? 16 : 64;
  static_assert(D % 64 == 0, "head sizes with register kernels are multiples of 64");
  int r = 0;
  for (; r + 4 <= rows; r += 4)
    for (int c = 0; c < D; c += kWidth)
      TileValuesRows<kWidth, 4>(acc + size_t(r) * D + c, D, correction + r, p + size_t(r) * kKeyTile, count, value, c);
  for (; r < rows; r++)
    for (int c = 0; c < D; c += kWidth)
      TileValuesRows<kWidth, 1>(acc + size_t(r) * D + c, D, correction + r, p + size_t(r) * kKeyTile, count, value, c);
}

// The same for head sizes other than 64 and 128 (float rows only).
void TileValuesAnyDim(float* acc, const float* correction, const float* p, int rows, int count, const float* vt,
                      size_t v_stride, int head_dim) {
  for (int r = 0; r < rows; r++) {
    float* a = acc + size_t(r) * head_dim;
    for (int d = 0; d < head_dim; d++) a[d] *= correction[r];
    for (int j = 0; j < count; j++)
      for (int d = 0; d < head_dim; d++) a[d] += p[size_t(r) * kKeyTile + j] * vt[j * v_stride + d];
  }
}

// Scores and p·V of one tile against float rows (`stride` floats apart), whatever the head size.
template <int D>
void ScoreTile(const float* const* q_rows, int rows, const float* keys, size_t stride, int count, int head_dim,
               float scale, float* scores) {
  if constexpr (D > 0) KeyRowScores<D>(q_rows, rows, FloatRows{keys, stride}, count, scale, scores);
  else KeyRowScoresAnyDim(q_rows, rows, keys, stride, count, head_dim, scale, scores);
}
template <int D>
void ValueTile(float* acc, const float* correction, const float* p, int rows, int count, const float* values,
               size_t stride, int head_dim) {
  if constexpr (D > 0) TileValues<D>(acc, correction, p, rows, count, FloatRows{values, stride});
  else TileValuesAnyDim(acc, correction, p, rows, count, values, stride, head_dim);
}

constexpr int kFewRows = 8;  // up to this many query rows per kv head, keys are used as rows (no transposed tile)

struct Shape {
  int queries, keys, heads, kv_heads, head_dim, query_start;
  float scale;
};

// Online softmax over one key tile: scores become weights exp(score − running max) (zero for keys a row may
// not see), the running max and total move on, and correction[r] says how much to scale what was accumulated.
void SoftmaxUpdate(float* scores, int rows, int count, int j0, const int* position, float* max, float* total,
                   float* correction) {
  for (int r = 0; r < rows; r++) {
    const int limit = std::max(0, std::min(count, position[r] + 1 - j0));
    float* row = scores + size_t(r) * kKeyTile;
    std::fill(row + limit, row + count, 0.0f);
    correction[r] = 1.0f;
    if (limit == 0) continue;
    const float new_max = std::max(max[r], RowMax(row, limit));
    correction[r] = std::isinf(max[r]) ? 0.0f : FastExp(max[r] - new_max);
    float sum;
    ExpInPlace(row, limit, new_max, &sum);
    total[r] = total[r] * correction[r] + sum;
    max[r] = new_max;
  }
}

// One task: every query head that shares kv head `kvh`, for queries [t0, t1): K/V tiles are packed once and
// used by all of them (the grouped-query saving), so decode reads the cache once per kv head.
template <int D>
void AttendBlock(const Shape& s, const float* q, const KvSource& k, const KvSource& v, float* out, int kvh, int t0,
                 int t1) {
  const int d = s.head_dim, q_stride = s.heads * d;
  const int group = s.heads / s.kv_heads;
  const int queries = t1 - t0, rows = group * queries;
  std::vector<const float*> q_rows(rows);
  std::vector<int> position(rows);
  for (int g = 0; g < group; g++)
    for (int t = 0; t < queries; t++) {
      q_rows[g * queries + t] = q + size_t(t0 + t) * q_stride + size_t(kvh * group + g) * d;
      position[g * queries + t] = s.query_start < 0 ? s.keys - 1 : s.query_start + t0 + t;
    }
  std::vector<float> kt(size_t(d) * kKeyTile), vt(size_t(kKeyTile) * d), keys(size_t(kKeyTile) * d);
  std::vector<float> scores(size_t(rows) * kKeyTile), acc(size_t(rows) * d, 0.0f);
  std::vector<float> max(rows, -INFINITY), total(rows, 0.0f), correction(rows);
  const int visible_end = s.query_start < 0 ? s.keys : std::min(s.keys, s.query_start + t1);
  for (int j0 = 0; j0 < visible_end; j0 += kKeyTile) {
    const int count = std::min(kKeyTile, visible_end - j0);
    LoadRows(v, size_t(j0), count, s.kv_heads, kvh, 1, d, vt.data());
    LoadRows(k, size_t(j0), count, s.kv_heads, kvh, 1, d, keys.data());
    if (rows <= kFewRows) ScoreTile<D>(q_rows.data(), rows, keys.data(), d, count, d, s.scale, scores.data());
    else {
      Transpose(keys.data(), count, d, kt.data());
      TileScores(q_rows.data(), rows, kt.data(), d, s.scale, scores.data());
    }
    SoftmaxUpdate(scores.data(), rows, count, j0, position.data(), max.data(), total.data(), correction.data());
    ValueTile<D>(acc.data(), correction.data(), scores.data(), rows, count, vt.data(), d, d);
  }
  for (int r = 0; r < rows; r++) {
    const int g = r / queries, t = r % queries;
    float* o = out + size_t(t0 + t) * q_stride + size_t(kvh * group + g) * d;
    const float inv = total[r] > 0 ? 1.0f / total[r] : 0.0f;
    for (int i = 0; i < d; i++) o[i] = acc[size_t(r) * d + i] * inv;
  }
}

#if PIXTRAL_OPS_LEVEL >= 2
// Keys [j0, j0 + count) of an f16 cache, read in place with whole positions in order: a position holds every kv
// head's row side by side, so walking the tile head by head would stride through it (2 KB steps for Pixtral) while
// the tile streams from memory. Every head's scores 16 keys at a time (scores: kv_heads × rows × kKeyTile), the
// online softmax per head, then p·V 16 keys at a time (the first block applies each row's correction). The next
// tile (up to the task's `end`) is asked for while this one computes — a core waiting on each tile's memory
// streamed about a third of the machine's bandwidth — into L2 (prefetcht1): a tile's K and V are 256 KB, which
// L2 holds and L1 (32–48 KB) does not. Into L1 a Zen 4 read a cache larger than L3 (32768 keys) at 15 GB/s, into L2
// at 23–24 GB/s (8.9 → 5.6 ms a call; 4096 keys, cache-resident, 0.56 → 0.51 ms); a Zen 5 measured L1 slightly
// ahead (0.64–0.66 vs 0.67–0.71 ms a 4096-key call; none at all 0.72–0.74). Only where a half converts to a whole
// register in one instruction: at AVX2 a 16-float vector is two registers and in-place loads measured 2.5x slower
// than packing.
template <int D>
void HalfTile(const float* const* q_rows, int rows, int kv_heads, const KvSource& k, const KvSource& v, int j0,
              int count, int end, const int* position, float scale, float* max, float* total, float* acc,
              float* scores, float* correction) {
  const size_t kv_width = size_t(kv_heads) * D;
  // Keys past the tile's end repeat its last one: the score kernels read whole blocks of 16.
  const uint16_t* key_rows[kKeyTile];
  const uint16_t* value_rows[kKeyTile];
  for (int j = 0; j < kKeyTile; j++) {
    const size_t at = size_t(j0 + std::min(j, count - 1));
    const KvSource::Rows kr = k.At(at), vr = v.At(at);
    key_rows[j] = static_cast<const uint16_t*>(kr.data) + kr.row * kv_width;
    value_rows[j] = static_cast<const uint16_t*>(vr.data) + vr.row * kv_width;
  }
  // The next tile's positions, up to the end of its cache page (the cache's pages hold a multiple of 64
  // positions, so that is the whole tile; other callers' pages may cut it short).
  const int next = j0 + kKeyTile;
  int next_count = std::min(kKeyTile, end - next);
  if (k.pages && next_count > 0) next_count = std::min(next_count, k.page_positions - next % k.page_positions);
  const size_t next_bytes = next_count > 0 ? size_t(next_count) * kv_width * 2 : 0;
  const KvSource::Rows nk = k.At(next_count > 0 ? size_t(next) : 0), nv = v.At(next_count > 0 ? size_t(next) : 0);
  const char* next_k = static_cast<const char*>(nk.data) + nk.row * kv_width * 2;
  const char* next_v = static_cast<const char*>(nv.data) + nv.row * kv_width * 2;

  const size_t head_scores = size_t(rows) * kKeyTile;
  const int steps = 2 * ((count + 15) / 16) * kv_heads;
  const size_t per_step = (next_bytes / 64 + steps - 1) / steps * 64;
  size_t prefetched = 0;
  auto prefetch_some = [&] {
    for (const size_t stop = std::min(next_bytes, prefetched + per_step); prefetched < stop; prefetched += 64) {
      __builtin_prefetch(next_k + prefetched, 0, 2);
      __builtin_prefetch(next_v + prefetched, 0, 2);
    }
  };
  for (int jb = 0; jb < count; jb += 16)
    for (int h = 0; h < kv_heads; h++) {
      prefetch_some();
      KeyRowScores<D>(q_rows + h * rows, rows, HalfRows{key_rows + jb, h * D}, std::min(16, count - jb), scale,
                      scores + h * head_scores + jb);
    }
  for (int h = 0; h < kv_heads; h++)
    SoftmaxUpdate(scores + h * head_scores, rows, count, j0, position + h * rows, max + h * rows, total + h * rows,
                  correction + h * rows);
  float ones[kFewRows];
  std::fill(ones, ones + kFewRows, 1.0f);
  for (int jb = 0; jb < count; jb += 16)
    for (int h = 0; h < kv_heads; h++) {
      prefetch_some();
      TileValues<D>(acc + size_t(h) * rows * D, jb == 0 ? correction + h * rows : ones, scores + h * head_scores + jb,
                    rows, std::min(16, count - jb), HalfRows{value_rows + jb, h * D});
    }
}
#endif

// Decode (a few query rows per kv head), split-K: each task takes a range of keys for every head, reading whole
// positions (all kv heads, contiguous in the cache) a tile at a time, and leaves each row's partial softmax
// state (max, total, unnormalised output); the partials are merged at the end (flash-decoding).
template <int D>
void AttendDecode(const Shape& s, const float* q, const KvSource& k, const KvSource& v, float* out) {
  const int d = s.head_dim, q_stride = s.heads * d, kv_width = s.kv_heads * d;
  const int group = s.heads / s.kv_heads, queries = s.queries, rows = group * queries;
  const int all_rows = s.kv_heads * rows;
  std::vector<const float*> q_rows(all_rows);
  std::vector<int> position(all_rows);
  for (int h = 0; h < s.kv_heads; h++)
    for (int g = 0; g < group; g++)
      for (int t = 0; t < queries; t++) {
        q_rows[h * rows + g * queries + t] = q + size_t(t) * q_stride + size_t(h * group + g) * d;
        position[h * rows + g * queries + t] = s.query_start < 0 ? s.keys - 1 : s.query_start + t;
      }
  const int visible_end = s.query_start < 0 ? s.keys : std::min(s.keys, s.query_start + queries);
  const int parts = 2 * ThreadPool::Instance().threads();
  const int span = std::max(1, (visible_end + parts * kKeyTile - 1) / (parts * kKeyTile)) * kKeyTile;
  const int chunks = std::max(1, (visible_end + span - 1) / span);
  std::vector<float> part_max(size_t(chunks) * all_rows), part_total(size_t(chunks) * all_rows);
  std::vector<float> part_acc(size_t(chunks) * all_rows * d);
  // An f16 cache (the default) is read in place at AVX-512 (HalfTile); other formats and levels pack each tile.
  const bool halves = D > 0 && PIXTRAL_OPS_LEVEL >= 2 && k.format == KvFormat::kF16 && v.format == KvFormat::kF16;
  ThreadPool::Instance().Run(chunks, [&](int c) {
    float* max = &part_max[size_t(c) * all_rows];
    float* total = &part_total[size_t(c) * all_rows];
    float* acc = &part_acc[size_t(c) * all_rows * d];
    std::fill(max, max + all_rows, -INFINITY);
    std::fill(total, total + all_rows, 0.0f);
    std::fill(acc, acc + size_t(all_rows) * d, 0.0f);
    std::vector<float> keys(halves ? 0 : size_t(kKeyTile) * kv_width), values(halves ? 0 : size_t(kKeyTile) * kv_width);
    std::vector<float> scores(size_t(halves ? all_rows : rows) * kKeyTile), correction(halves ? all_rows : rows);
    const int end = std::min(visible_end, (c + 1) * span);
    for (int j0 = c * span; j0 < end; j0 += kKeyTile) {
      const int count = std::min(kKeyTile, end - j0);
#if PIXTRAL_OPS_LEVEL >= 2
      if constexpr (D > 0) {
        if (halves) {
          HalfTile<D>(q_rows.data(), rows, s.kv_heads, k, v, j0, count, end, position.data(), s.scale, max, total, acc,
                      scores.data(), correction.data());
          continue;
        }
      }
#endif
      LoadRows(k, size_t(j0), count, s.kv_heads, 0, s.kv_heads, d, keys.data());
      LoadRows(v, size_t(j0), count, s.kv_heads, 0, s.kv_heads, d, values.data());
      for (int h = 0; h < s.kv_heads; h++) {
        const int r0 = h * rows;
        ScoreTile<D>(&q_rows[r0], rows, &keys[size_t(h) * d], kv_width, count, d, s.scale, scores.data());
        SoftmaxUpdate(scores.data(), rows, count, j0, &position[r0], max + r0, total + r0, correction.data());
        ValueTile<D>(acc + size_t(r0) * d, correction.data(), scores.data(), rows, count, &values[size_t(h) * d],
                     kv_width, d);
      }
    }
  });
  for (int r = 0; r < all_rows; r++) {
    float merged_max = -INFINITY;
    for (int c = 0; c < chunks; c++) merged_max = std::max(merged_max, part_max[size_t(c) * all_rows + r]);
    const int h = r / rows, g = (r % rows) / queries, t = r % queries;
    float* o = out + size_t(t) * q_stride + size_t(h * group + g) * d;
    std::fill(o, o + d, 0.0f);
    float total = 0;
    for (int c = 0; c < chunks; c++) {
      const size_t at = size_t(c) * all_rows + r;
      if (std::isinf(part_max[at])) continue;  // no key of this chunk is visible to the row
      const float weight = FastExp(part_max[at] - merged_max);
      total += part_total[at] * weight;
      const float* a = &part_acc[at * d];
      for (int i = 0; i < d; i++) o[i] += a[i] * weight;
    }
    const float inv = total > 0 ? 1.0f / total : 0.0f;
    for (int i = 0; i < d; i++) o[i] *= inv;
  }
}


void AttentionOp(const float* q, KvSource k, KvSource v, float* out, int queries, int keys, int heads, int kv_heads,
                 int head_dim, float scale, int query_start) {
  Shape s{queries, keys, heads, kv_heads, head_dim, query_start, scale};
  const int group = heads / kv_heads;
  if (group * queries <= kFewRows) {
    auto decode = head_dim == 128 ? AttendDecode<128> : head_dim == 64 ? AttendDecode<64> : AttendDecode<0>;
    decode(s, q, k, v, out);
    return;
  }
  // Enough query rows per task (~256 with all heads of the group) to amortise packing each key tile, few
  // enough to keep both cores busy.
  const int block = std::max(1, std::min(std::max(1, 256 / group), (queries + 1) / 2));
  const int blocks = (queries + block - 1) / block;
  auto attend = head_dim == 128 ? AttendBlock<128> : head_dim == 64 ? AttendBlock<64> : AttendBlock<0>;
  ThreadPool::Instance().Run(kv_heads * blocks, [&](int task) {
    const int kvh = task / blocks, b = task % blocks;
    attend(s, q, k, v, out, kvh, b * block, std::min(queries, (b + 1) * block));
  });
}

constexpr size_t kElementChunk = 1 << 16;  // elements per task: big enough that handing out work costs nothing

template <typename Body>
void ParallelChunks(size_t count, Body body) {
  int tasks = int((count + kElementChunk - 1) / kElementChunk);
  ThreadPool::Instance().Run(tasks, [&](int t) {
    size_t begin = size_t(t) * kElementChunk;
    body(begin, std::min(count, begin + kElementChunk));
  });
}

// One token's activations as int8 blocks of 32, each with its scale (the largest magnitude / 127) and, for q4,
// Σq·scale·8 (the stored nibbles' +8, taken out once per block); in block order, or in q4's split order
// (SplitIndex: a block's first 16 values, then its last 16, each half contiguous). Values are x / scale rounded
// to nearest even (lrintf), so every level writes the same bytes. Vectorized because the scalar loop was 7% of a
// prompt and of a batched decode step (std::fmax is a libm call per value).
void QuantizeActivationsOp(const float* x, int k, bool split, int8_t* q, float* scale, float* offset8) {
  const int blocks = k / kBlock;
  for (int b = 0; b < blocks; b++) {
    const float* v = x + size_t(b) * kBlock;
    int8_t* first = q + (split ? SplitIndex(b, 0, blocks) : size_t(b) * kBlock);
    int8_t* second = q + (split ? SplitIndex(b, 16, blocks) : size_t(b) * kBlock + 16);
#if PIXTRAL_OPS_LEVEL >= 2
    const __m512 lo = _mm512_loadu_ps(v), hi = _mm512_loadu_ps(v + 16);
    const float s = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi))) / 127.0f;
    const __m512 inv = _mm512_set1_ps(s > 0 ? 1.0f / s : 0.0f);
    const __m512i qlo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, inv)), qhi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, inv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(first), _mm512_cvtepi32_epi8(qlo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(second), _mm512_cvtepi32_epi8(qhi));
    const int32_t total = _mm512_reduce_add_epi32(_mm512_add_epi32(qlo, qhi));
#elif PIXTRAL_OPS_LEVEL == 1
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 part[4], max = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
      part[i] = _mm256_loadu_ps(v + 8 * i);
      max = _mm256_max_ps(_mm256_andnot_ps(sign, part[i]), max);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float s = _mm_cvtss_f32(m4) / 127.0f;
    const __m256 inv = _mm256_set1_ps(s > 0 ? 1.0f / s : 0.0f);
    __m256i qi[4];
    for (int i = 0; i < 4; i++) qi[i] = _mm256_cvtps_epi32(_mm256_mul_ps(part[i], inv));
    // Packing interleaves the 128-bit lanes (|values| ≤ 127, so saturation never applies); the permute restores
    // the order.
    const __m256i bytes = _mm256_permutevar8x32_epi32(
        _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3])),
        _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(first), _mm256_castsi256_si128(bytes));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(second), _mm256_extracti128_si256(bytes, 1));
    const __m256i sum8 = _mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3]));
    __m128i sum4 = _mm_add_epi32(_mm256_castsi256_si128(sum8), _mm256_extracti128_si256(sum8, 1));
    sum4 = _mm_add_epi32(sum4, _mm_shuffle_epi32(sum4, 0x4e));
    sum4 = _mm_add_epi32(sum4, _mm_shuffle_epi32(sum4, 0xb1));
    const int32_t total = _mm_cvtsi128_si32(sum4);
#else
    float max = 0;
    for (int j = 0; j < kBlock; j++) max = std::fmax(max, std::fabs(v[j]));
    const float s = max / 127.0f;
    const float inv = s > 0 ? 1.0f / s : 0.0f;
    int32_t total = 0;
    for (int j = 0; j < kBlock; j++) {
      const int8_t value = int8_t(std::lrintf(v[j] * inv));
      total += value;
      (j < 16 ? first : second)[j & 15] = value;
    }
#endif
    scale[b] = s;
    if (offset8) offset8[b] = float(total * 8) * s;
  }
}

// exp for any float (clamped where float overflows), vectorizable.
inline float ExpAny(float x) { return FastExp(x > 88.0f ? 88.0f : x); }

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26), branch-free.
inline float Erf(float x) {
  float a = std::fabs(x);
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) *
                       t * FastExp(-a * a);
  return std::copysign(y, x);
}

void RmsNormRows(const float* x, const float* w, float* out, int begin, int end, int width,
                                      float eps) {
  for (int r = begin; r < end; r++) {
    const float* xr = x + size_t(r) * width;
    float* o = out + size_t(r) * width;
    // In double as the reference, but in 16 partial sums (one per lane) so it vectorizes: one running sum was
    // a chain of dependent adds, ~5 µs a 5120-wide row, 55 µs a call for 8 decoding sequences.
    double lanes[16] = {};
    int i = 0;
    for (; i + 16 <= width; i += 16)
      for (int l = 0; l < 16; l++) lanes[l] += double(xr[i + l]) * xr[i + l];
    double squares = 0;
    for (int l = 0; l < 16; l++) squares += lanes[l];
    for (; i < width; i++) squares += double(xr[i]) * xr[i];
    // As the reference: normalise in float32, then scale by the weight.
    const float inv = float(1.0 / std::sqrt(double(float(squares / width)) + eps));
    for (int j = 0; j < width; j++) o[j] = (xr[j] * inv) * w[j];
  }
}

void RopeRows(const float* x, float* out, int begin, int end, int heads, int head_dim,
                                   const float* cos, const float* sin) {
  const int pairs = head_dim / 2, width = heads * head_dim;
  for (int t = begin; t < end; t++)
    for (int h = 0; h < heads; h++) {
      const size_t base = size_t(t) * width + size_t(h) * head_dim;
      const float* c = cos + size_t(t) * pairs;
      const float* s = sin + size_t(t) * pairs;
      for (int p = 0; p < pairs; p++) {
        const float a = x[base + 2 * p], b = x[base + 2 * p + 1];
        out[base + 2 * p] = a * c[p] - b * s[p];
        out[base + 2 * p + 1] = a * s[p] + b * c[p];
      }
    }
}

void SiluMulRange(const float* g, const float* u, float* out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = (g[i] / (1.0f + ExpAny(-g[i]))) * u[i];
}

void GeluRange(const float* x, float* out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = 0.5f * x[i] * (1.0f + Erf(x[i] * 0.70710678118654752f));
}

void AddRange(const float* a, const float* b, float* out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = a[i] + b[i];
}

void ToHalfRange(const float* x, uint16_t* out, size_t begin, size_t end) {
  size_t i = begin;
#if PIXTRAL_OPS_LEVEL >= 2
  for (; i + 16 <= end; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif PIXTRAL_OPS_LEVEL >= 1
  for (; i + 8 <= end; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  for (; i < end; i++) out[i] = F32ToF16(x[i]);  // round to nearest even, as vcvtps2ph
}

template <typename Rows>
void ParallelRows(int rows, int width, Rows body) {
  const int per_task = std::max(1, int(kElementChunk / std::max(1, width)));
  const int tasks = (rows + per_task - 1) / per_task;
  ThreadPool::Instance().Run(tasks, [&](int t) { body(t * per_task, std::min(rows, (t + 1) * per_task)); });
}


void RmsNormOp(const float* x, const float* weight, float* out, int rows, int width, float eps) {
  ParallelRows(rows, width, [&](int b, int e) { RmsNormRows(x, weight, out, b, e, width, eps); });
}

void RopeOp(const float* x, float* out, int rows, int heads, int head_dim, const float* cos, const float* sin) {
  ParallelRows(rows, heads * head_dim, [&](int b, int e) { RopeRows(x, out, b, e, heads, head_dim, cos, sin); });
}

void SiluMulOp(const float* gate, const float* up, float* out, size_t count) {
  ParallelChunks(count, [&](size_t b, size_t e) { SiluMulRange(gate, up, out, b, e); });
}

void GeluOp(const float* x, float* out, size_t count) {
  ParallelChunks(count, [&](size_t b, size_t e) { GeluRange(x, out, b, e); });
}

void AddOp(const float* a, const float* b, float* out, size_t count) {
  ParallelChunks(count, [&](size_t s, size_t e) { AddRange(a, b, out, s, e); });
}

void ToHalfOp(const float* x, uint16_t* out, size_t count) {
  ParallelChunks(count, [&](size_t b, size_t e) { ToHalfRange(x, out, b, e); });
}

constexpr OpKernels kOps = {RmsNormOp, RopeOp, SiluMulOp, GeluOp, AddOp, ToHalfOp, AttentionOp, QuantizeActivationsOp};

}  // namespace
}  // namespace pixtral
