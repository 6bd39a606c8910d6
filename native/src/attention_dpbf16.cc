// Unmasked attention (the vision encoder's) on vdpbf16ps, flash-attention style, with the queries across the
// lanes: a task takes 32 queries of one head (two 16-query lines) through every 64-key step. Sᵀ (keys × queries)
// comes from query pair lines times broadcast key pairs; the online softmax is then plain vector arithmetic per
// key — a running max, total and correction per lane, no horizontal folds; the weights become bf16 pair lines
// (keys 2j, 2j+1 of each query) that multiply broadcast value pairs into Oᵀ (dims × queries), which is
// transposed into the output once at the end.
#include "dpbf16.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "bf16_pairs.h"
#include "thread_pool.h"

#if defined(__x86_64__)
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16")
#include <immintrin.h>
#include "softmax_step.h"

namespace pixtral {
namespace {

constexpr int kLines = 2;                     // 16-query lines per task
constexpr int kQueryTile = 16 * kLines;       // queries per task
constexpr int kKeyStep = kSoftmaxKeyStep;     // keys per softmax step
constexpr int kColumns = 8;                   // keys (for Sᵀ) or dims (for Oᵀ) per register block

inline __m512bh Broadcast(const PairWord* word) { return (__m512bh)_mm512_set1_epi32(int(*word)); }

// st[j][0..32) = Q·K[j0 + j] for the tile's 32 queries and the step's 64 keys.
void ScoresT(const uint16_t* q_lines, const PairWord* key_rows, int d, float* st) {
  const int pairs = d / 2;
  const size_t line_stride = size_t(pairs) * 32;  // values from one 16-query block's lines to the next's
  for (int j = 0; j < kKeyStep; j += kColumns) {
    __m512 acc[kLines][kColumns];
    for (int l = 0; l < kLines; l++)
      for (int c = 0; c < kColumns; c++) acc[l][c] = _mm512_setzero_ps();
    for (int p = 0; p < pairs; p++) {
      __m512bh line[kLines];
      for (int l = 0; l < kLines; l++) line[l] = (__m512bh)_mm512_loadu_si512(q_lines + l * line_stride + p * 32);
      for (int c = 0; c < kColumns; c++) {
        const __m512bh key = Broadcast(key_rows + size_t(j + c) * pairs + p);
        for (int l = 0; l < kLines; l++) acc[l][c] = _mm512_dpbf16_ps(acc[l][c], line[l], key);
      }
    }
    for (int c = 0; c < kColumns; c++)
      for (int l = 0; l < kLines; l++) _mm512_storeu_ps(st + (j + c) * kQueryTile + l * 16, acc[l][c]);
  }
}

// One 16-query line's step of the online softmax: folds the first `valid` keys of st into max and total, writes
// the weights as pair lines p[jp] (lane q = keys 2jp, 2jp+1 of query q) and returns the correction for Oᵀ.
__m512 SoftmaxLine(const float* st, int valid, float scale, __m512& max, __m512& total, uint16_t* p) {
  // The step's raw maxima (unscaled, like st), folded into the running max (scaled) after scaling.
  const __m512 none = _mm512_set1_ps(-INFINITY);
  __m512 m[4] = {none, none, none, none};
  for (int j = 0; j < valid; j++) m[j & 3] = _mm512_max_ps(m[j & 3], _mm512_loadu_ps(st + j * kQueryTile));
  const __m512 new_max = _mm512_max_ps(
      max, _mm512_mul_ps(_mm512_max_ps(_mm512_max_ps(m[0], m[1]), _mm512_max_ps(m[2], m[3])), _mm512_set1_ps(scale)));
  const __m512 correction = Exp16(_mm512_sub_ps(max, new_max));
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                              6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512 sum = _mm512_setzero_ps();
  for (int jp = 0; jp < kKeyStep / 2; jp++) {
    __m512 e[2];
    for (int i = 0; i < 2; i++) {
      const int j = 2 * jp + i;
      e[i] = j < valid ? Exp16(_mm512_fmsub_ps(_mm512_loadu_ps(st + j * kQueryTile), _mm512_set1_ps(scale), new_max))
                       : _mm512_setzero_ps();
    }
    sum = _mm512_add_ps(sum, _mm512_add_ps(e[0], e[1]));
    const __m512i pair = (__m512i)_mm512_cvtne2ps_pbh(e[1], e[0]);  // words 0..15 key 2jp, 16..31 key 2jp+1
    _mm512_storeu_si512(p + jp * kQueryTile * 2, _mm512_permutexvar_epi16(interleave, pair));
  }
  total = _mm512_fmadd_ps(total, correction, sum);
  max = new_max;
  return correction;
}

// ot[dim][0..32) = ot · correction + Σ_j P[q][j]·V[j0 + j][dim] over the step's keys.
void AddWeightedValues(const uint16_t* p, const __m512* correction, const PairWord* value_pairs, int d, float* ot) {
  for (int dim = 0; dim < d; dim += kColumns) {
    __m512 acc[kLines][kColumns];
    for (int l = 0; l < kLines; l++)
      for (int c = 0; c < kColumns; c++)
        acc[l][c] = _mm512_mul_ps(_mm512_loadu_ps(ot + (dim + c) * kQueryTile + l * 16), correction[l]);
    for (int jp = 0; jp < kKeyStep / 2; jp++) {
      __m512bh line[kLines];
      for (int l = 0; l < kLines; l++) line[l] = (__m512bh)_mm512_loadu_si512(p + (jp * kQueryTile + l * 16) * 2);
      for (int c = 0; c < kColumns; c++) {
        const __m512bh value = Broadcast(value_pairs + size_t(jp) * d + dim + c);
        for (int l = 0; l < kLines; l++) acc[l][c] = _mm512_dpbf16_ps(acc[l][c], line[l], value);
      }
    }
    for (int c = 0; c < kColumns; c++)
      for (int l = 0; l < kLines; l++) _mm512_storeu_ps(ot + (dim + c) * kQueryTile + l * 16, acc[l][c]);
  }
}

// The tile's queries (pair lines of two 16-query blocks) against every key of one head.
void AttendQueryTile(const uint16_t* q_lines, const PairWord* key_rows, const PairWord* value_pairs, int keys,
                     int padded_keys, int d, float scale, float* out_rows, int out_stride, int rows) {
  alignas(64) float st[kKeyStep * kQueryTile];
  alignas(64) uint16_t p[kKeyStep * kQueryTile];
  std::vector<float> ot(size_t(d) * kQueryTile, 0.0f);
  __m512 max[kLines], total[kLines], correction[kLines];
  for (int l = 0; l < kLines; l++) {
    max[l] = _mm512_set1_ps(-INFINITY);
    total[l] = _mm512_setzero_ps();
  }
  for (int j0 = 0; j0 < padded_keys; j0 += kKeyStep) {
    const int valid = std::min(keys - j0, kKeyStep);
    ScoresT(q_lines, key_rows + size_t(j0) * d / 2, d, st);
    for (int l = 0; l < kLines; l++)
      correction[l] = SoftmaxLine(st + l * 16, valid, scale, max[l], total[l], p + l * 32);
    AddWeightedValues(p, correction, value_pairs + size_t(j0 / 2) * d, d, ot.data());
  }
  alignas(64) float inv[kQueryTile];
  for (int l = 0; l < kLines; l++) _mm512_store_ps(inv + l * 16, _mm512_div_ps(_mm512_set1_ps(1.0f), total[l]));
  for (int q = 0; q < rows; q++)
    for (int dim = 0; dim < d; dim++) out_rows[size_t(q) * out_stride + dim] = ot[size_t(dim) * kQueryTile + q] * inv[q];
}

}  // namespace

bool Dpbf16TakesAttention(int queries, int keys, int heads, int kv_heads, int head_dim) {
  return head_dim % 32 == 0 && queries >= kQueryTile && keys >= kKeyStep && heads % kv_heads == 0;
}

void AttentionDpbf16(const float* q, const float* k, const float* v, float* out, int queries, int keys, int heads,
                     int kv_heads, int head_dim, float scale) {
  const int d = head_dim, q_stride = heads * d, kv_stride = kv_heads * d, group = heads / kv_heads;
  const int padded_keys = (keys + kKeyStep - 1) / kKeyStep * kKeyStep;
  const int padded_queries = (queries + kQueryTile - 1) / kQueryTile * kQueryTile;
  const size_t head_keys = size_t(padded_keys) * d / 2, head_queries = size_t(padded_queries) * d;
  // Per head: K as bf16 rows (key j's dims 2p, 2p+1 in word p), V as pairs of rows (word (jp, dim) = V[2jp][dim],
  // V[2jp+1][dim]), Q as 16-query pair lines; zero past the real keys and queries.
  // Kept by the calling thread between calls (no fresh pages per layer); the pool's threads reach them through
  // these references (a thread_local named inside the tasks would be each worker's own).
  thread_local std::vector<uint32_t> key_rows_kept, value_pairs_kept;
  thread_local std::vector<uint16_t> q_lines_kept;
  std::vector<uint32_t>& key_rows = key_rows_kept;
  std::vector<uint32_t>& value_pairs = value_pairs_kept;
  std::vector<uint16_t>& q_lines = q_lines_kept;
  key_rows.assign(head_keys * kv_heads, 0);
  value_pairs.assign(head_keys * kv_heads, 0);
  q_lines.resize(head_queries * heads);
  ThreadPool& pool = ThreadPool::Instance();
  pool.Run(kv_heads, [&](int h) {
    uint16_t* krow = reinterpret_cast<uint16_t*>(key_rows.data() + head_keys * h);
    uint16_t* vpair = reinterpret_cast<uint16_t*>(value_pairs.data() + head_keys * h);
    for (int j = 0; j < keys; j++) {
      const float* kj = k + size_t(j) * kv_stride + h * d;
      const float* vj = v + size_t(j) * kv_stride + h * d;
      for (int i = 0; i < d; i++) {
        krow[size_t(j) * d + i] = RoundToBf16(kj[i]);
        vpair[(size_t(j / 2) * d + i) * 2 + (j & 1)] = RoundToBf16(vj[i]);
      }
    }
  });
  pool.Run(heads, [&](int h) { PackKeys(q + size_t(h) * d, queries, padded_queries, q_stride, d, &q_lines[head_queries * h]); });
  const int tiles = padded_queries / kQueryTile;
  pool.Run(heads * tiles, [&](int task) {
    const int h = task / tiles, t0 = (task % tiles) * kQueryTile, kvh = h / group;
    AttendQueryTile(&q_lines[head_queries * h + size_t(t0) * d], key_rows.data() + head_keys * kvh,
                    value_pairs.data() + head_keys * kvh, keys, padded_keys, d, scale,
                    out + size_t(t0) * q_stride + h * d, q_stride, std::min(kQueryTile, queries - t0));
  });
}

}  // namespace pixtral

#else

namespace pixtral {
bool Dpbf16TakesAttention(int, int, int, int, int) { return false; }
void AttentionDpbf16(const float*, const float*, const float*, float*, int, int, int, int, int, float) {}
}  // namespace pixtral

#endif
