#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "cpu.h"
#include "thread_pool.h"
#include "vector_math.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace pixtral {
namespace {

constexpr int kKeyTile = 64;  // keys whose scores live at once
constexpr int kFewRows = 8;   // up to this many query rows, keys are used as rows instead of a transposed tile
constexpr int kPrefetchPositions = 16;  // how far ahead LoadRows asks for a head's rows (8–64 measured alike)

struct Shape {
  int queries, keys, heads, kv_heads, head_dim, query_start;
  float scale;
};

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
// Half → float with the F16C instruction (one per 8 values instead of a dozen bit operations). Every CPU at the
// AVX2 level has F16C.
__attribute__((target("avx2,f16c"))) void HalfRowF16c(const uint16_t* h, int d, float* out) {
  int i = 0;
  for (; i + 8 <= d; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < d; i++) out[i] = HalfToFloat(h[i]);
}
#endif

// Positions [first, first + count) of kv head `kvh` as float32 rows out[j][d], whatever the cache stores: one
// call per tile, so the conversion loops vectorize and nothing is dispatched per key.
PIXTRAL_MULTIVERSION void LoadRows(const KvSource& src, size_t first, int count, int kv_heads, int kvh, int d,
                                   float* out) {
  const size_t value_bytes = src.format == KvFormat::kF32 ? 4 : src.format == KvFormat::kF16 ? 2 : 1;
  const size_t row_bytes = size_t(d) * value_bytes, position_bytes = row_bytes * kv_heads;
#if defined(__x86_64__)
  const bool f16c = ActiveLevel() >= KernelLevel::kAvx2;
#endif
  for (int j = 0; j < count; j++) {
    const size_t position = first + j, at = (position * kv_heads + kvh) * size_t(d);
    float* row = out + size_t(j) * d;
    // A head's rows lie kv_heads·d values apart: too sparse for the hardware prefetcher, so ask for a row a little
    // ahead (past the end this only touches cache lines, never faults).
    const char* ahead = static_cast<const char*>(src.data) + at * value_bytes + kPrefetchPositions * position_bytes;
    for (size_t line = 0; line < row_bytes; line += 64) __builtin_prefetch(ahead + line);
    switch (src.format) {
      case KvFormat::kF32:
        std::memcpy(row, static_cast<const float*>(src.data) + at, size_t(d) * 4);
        break;
      case KvFormat::kF16: {
        const uint16_t* h = static_cast<const uint16_t*>(src.data) + at;
#if defined(__x86_64__)
        if (f16c) {
          HalfRowF16c(h, d, row);
          break;
        }
#endif
        for (int i = 0; i < d; i++) row[i] = HalfToFloat(h[i]);
        break;
      }
      case KvFormat::kQ8: {
        const int8_t* q = static_cast<const int8_t*>(src.data) + at;
        const float scale = src.scales[position * kv_heads + kvh];
        for (int i = 0; i < d; i++) row[i] = float(q[i]) * scale;
        break;
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
  for (int r = 0; r < R; r++) {
    float dot = 0;
    for (int l = 0; l < kLanes; l++) dot += acc[r][l];
    scores[r * kKeyTile] = dot * scale;
  }
}

// Scores of a few query rows against `count` keys stored as rows (decode: cheaper than transposing the tile).
template <int D>
PIXTRAL_MULTIVERSION void KeyRowScores(const float* const* q_rows, int rows, const float* keys, int count,
                                       int head_dim, float scale, float* scores) {
  if constexpr (D > 0) {
    for (int j = 0; j < count; j++) {
      const float* key = keys + size_t(j) * D;
      int r = 0;
      for (; r + 4 <= rows; r += 4) KeyScoresRows<D, 4>(q_rows + r, key, scale, scores + r * kKeyTile + j);
      for (; r < rows; r++) KeyScoresRows<D, 1>(q_rows + r, key, scale, scores + r * kKeyTile + j);
    }
  } else {
    for (int j = 0; j < count; j++)
      for (int r = 0; r < rows; r++) {
        float dot = 0;
        for (int i = 0; i < head_dim; i++) dot += q_rows[r][i] * keys[size_t(j) * head_dim + i];
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

// acc[r] = acc[r]·correction[r] + Σ_j p[r][j]·v[j] for R rows with a head of D floats held in registers:
// each value vector loaded feeds R multiply-adds.
template <int D, int R>
__attribute__((always_inline)) inline void TileValuesRows(float* acc, const float* correction, const float* p, int count, const float* vt) {
  constexpr int kVecs = D / kLanes;
  Vec16 a[R][kVecs];
  for (int i = 0; i < R; i++)
    for (int c = 0; c < kVecs; c++) a[i][c] = LoadVec(acc + i * D + c * kLanes) * correction[i];
  for (int j = 0; j < count; j++) {
    Vec16 v[kVecs];
    for (int c = 0; c < kVecs; c++) v[c] = LoadVec(vt + size_t(j) * D + c * kLanes);
    for (int i = 0; i < R; i++) {
      const float pj = p[i * kKeyTile + j];
      for (int c = 0; c < kVecs; c++) a[i][c] += pj * v[c];
    }
  }
  for (int i = 0; i < R; i++)
    for (int c = 0; c < kVecs; c++) StoreVec(acc + i * D + c * kLanes, a[i][c]);
}

// Every row's acc = acc·correction + p·V for one tile (p is zero past each row's visible keys). Head sizes
// other than 64 and 128 take a plain loop.
template <int D>
PIXTRAL_MULTIVERSION void TileValues(float* acc, const float* correction, const float* p, int rows, int count,
                                     const float* vt, int head_dim) {
  if constexpr (D > 0) {
    constexpr int kRows = D <= 64 ? 4 : 2;  // 16 accumulator registers
    int r = 0;
    for (; r + kRows <= rows; r += kRows)
      TileValuesRows<D, kRows>(acc + size_t(r) * D, correction + r, p + size_t(r) * kKeyTile, count, vt);
    for (; r < rows; r++) TileValuesRows<D, 1>(acc + size_t(r) * D, correction + r, p + size_t(r) * kKeyTile, count, vt);
  } else {
    for (int r = 0; r < rows; r++) {
      float* a = acc + size_t(r) * head_dim;
      for (int d = 0; d < head_dim; d++) a[d] *= correction[r];
      for (int j = 0; j < count; j++)
        for (int d = 0; d < head_dim; d++) a[d] += p[size_t(r) * kKeyTile + j] * vt[size_t(j) * head_dim + d];
    }
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
    LoadRows(v, size_t(j0), count, s.kv_heads, kvh, d, vt.data());
    LoadRows(k, size_t(j0), count, s.kv_heads, kvh, d, keys.data());
    if (rows <= kFewRows) KeyRowScores<D>(q_rows.data(), rows, keys.data(), count, d, s.scale, scores.data());
    else {
      Transpose(keys.data(), count, d, kt.data());
      TileScores(q_rows.data(), rows, kt.data(), d, s.scale, scores.data());
    }
    for (int r = 0; r < rows; r++) {
      const int limit = std::max(0, std::min(count, position[r] + 1 - j0));
      float* row = &scores[size_t(r) * kKeyTile];
      std::fill(row + limit, row + count, 0.0f);  // keys this query may not see add nothing
      correction[r] = 1.0f;
      if (limit == 0) continue;
      const float new_max = std::max(max[r], RowMax(row, limit));
      correction[r] = std::isinf(max[r]) ? 0.0f : FastExp(max[r] - new_max);
      float sum;
      ExpInPlace(row, limit, new_max, &sum);
      total[r] = total[r] * correction[r] + sum;
      max[r] = new_max;
    }
    TileValues<D>(acc.data(), correction.data(), scores.data(), rows, count, vt.data(), d);
  }
  for (int r = 0; r < rows; r++) {
    const int g = r / queries, t = r % queries;
    float* o = out + size_t(t0 + t) * q_stride + size_t(kvh * group + g) * d;
    const float inv = total[r] > 0 ? 1.0f / total[r] : 0.0f;
    for (int i = 0; i < d; i++) o[i] = acc[size_t(r) * d + i] * inv;
  }
}

}  // namespace

void Attention(const float* q, KvSource k, KvSource v, float* out, int queries, int keys, int heads, int kv_heads,
               int head_dim, float scale, int query_start) {
  Shape s{queries, keys, heads, kv_heads, head_dim, query_start, scale};
  // Enough query rows per task (~256 with all heads of the group) to amortise packing each key tile, few
  // enough to keep both cores busy.
  const int group = heads / kv_heads;
  const int block = std::max(1, std::min(std::max(1, 256 / group), (queries + 1) / 2));
  const int blocks = (queries + block - 1) / block;
  auto attend = head_dim == 128 ? AttendBlock<128> : head_dim == 64 ? AttendBlock<64> : AttendBlock<0>;
  ThreadPool::Instance().Run(kv_heads * blocks, [&](int task) {
    const int kvh = task / blocks, b = task % blocks;
    attend(s, q, k, v, out, kvh, b * block, std::min(queries, (b + 1) * block));
  });
}

}  // namespace pixtral
