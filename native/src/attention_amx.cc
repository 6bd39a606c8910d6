// Tile roles (one config for the whole kernel): tmm0..3 scores of 16 queries × 4 blocks of 16 keys; tmm4/5 A
// tiles (a 32-wide slice of Q, or P for 32 keys); tmm6 a B tile (K for 16 keys × 32 dims, or V for 32 keys ×
// 16 dims, both as the unit's interleaved pairs); tmm7 one 16 × 16 slice of P·V.
#include "attention_amx.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "amx.h"
#include "thread_pool.h"
#include "vector_math.h"

#if defined(__x86_64__)
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")
#include <immintrin.h>
#include "amx_tiles.h"

namespace pixtral {
namespace {

constexpr int kQueryTile = 16;
constexpr int kKeyStep = 64;  // keys per online-softmax step: four score tiles

const TileConfig& Config() {
  static const TileConfig config = MakeTileConfig(64, 16, 1);
  return config;
}

inline uint16_t ToBf16(float f) {  // round to nearest even (finite inputs)
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

// One head's K as B tiles for S = Q·Kᵀ: per (16-key block, 32-dim chunk), 16 lines (dim pairs) of 16 keys ×
// (k[2p], k[2p+1]). Keys past the end are zero (their scores are masked).
void PackKeys(const float* k, int keys, int padded_keys, int stride, int d, uint16_t* packed) {
  const int chunks = d / 32;
  for (int kb = 0; kb < padded_keys / 16; kb++)
    for (int c = 0; c < chunks; c++) {
      uint16_t* tile = packed + (size_t(kb) * chunks + c) * 512;
      for (int n = 0; n < 16; n++) {
        const int key = kb * 16 + n;
        const float* row = k + size_t(key) * stride + c * 32;
        for (int p = 0; p < 16; p++) {
          tile[p * 32 + n * 2] = key < keys ? ToBf16(row[2 * p]) : 0;
          tile[p * 32 + n * 2 + 1] = key < keys ? ToBf16(row[2 * p + 1]) : 0;
        }
      }
    }
}

// One head's V as B tiles for P·V: per (32-key block, 16-dim slice), 16 lines (key pairs) of 16 dims ×
// (v[2p][dim], v[2p+1][dim]).
void PackValues(const float* v, int keys, int padded_keys, int stride, int d, uint16_t* packed) {
  const int slices = d / 16;
  for (int kb = 0; kb < padded_keys / 32; kb++)
    for (int s = 0; s < slices; s++) {
      uint16_t* tile = packed + (size_t(kb) * slices + s) * 512;
      for (int p = 0; p < 16; p++)
        for (int i = 0; i < 2; i++) {
          const int key = kb * 32 + 2 * p + i;
          const float* row = v + size_t(key) * stride + s * 16;
          for (int n = 0; n < 16; n++) tile[p * 32 + n * 2 + i] = key < keys ? ToBf16(row[n]) : 0;
        }
    }
}

inline void StoreScores(int tile, float* at) {
  switch (tile) {
    case 0: _tile_stored(0, at, kKeyStep * 4); break;
    case 1: _tile_stored(1, at, kKeyStep * 4); break;
    case 2: _tile_stored(2, at, kKeyStep * 4); break;
    default: _tile_stored(3, at, kKeyStep * 4); break;
  }
}

// exp(x) for x ≤ 0, 16 lanes (the same polynomial as FastExp).
inline __m512 Exp16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// 16 queries of one head against every key: S tiles, online softmax, P·V into out (float32 rows).
void AttendQueryTile(const uint16_t* q_tile, const uint16_t* keys_packed, const uint16_t* values_packed, int keys,
                     int padded_keys, int d, float scale, float* out_rows, int out_stride, int rows) {
  const int chunks = d / 32, slices = d / 16;
  alignas(64) float scores[kQueryTile * kKeyStep];
  alignas(64) uint16_t p[kQueryTile * kKeyStep];
  alignas(64) float slice[kQueryTile * 16];
  std::vector<float> acc(size_t(kQueryTile) * d, 0.0f);
  float max[kQueryTile], total[kQueryTile];
  std::fill(max, max + kQueryTile, -INFINITY);
  std::fill(total, total + kQueryTile, 0.0f);
  for (int j0 = 0; j0 < padded_keys; j0 += kKeyStep) {
    const int blocks = std::min(4, (padded_keys - j0) / 16);  // padded_keys is a multiple of 32
    ZeroOutputTiles();
    for (int c = 0; c < chunks; c++) {
      _tile_loadd(4, q_tile + c * 32, d * 2);
      const uint16_t* k0 = keys_packed + (size_t(j0 / 16) * chunks + c) * 512;
      _tile_loadd(6, k0, 64);
      _tile_dpbf16ps(0, 4, 6);
      _tile_loadd(6, k0 + size_t(chunks) * 512, 64);
      _tile_dpbf16ps(1, 4, 6);
      if (blocks > 2) {
        _tile_loadd(6, k0 + size_t(2 * chunks) * 512, 64);
        _tile_dpbf16ps(2, 4, 6);
        _tile_loadd(6, k0 + size_t(3 * chunks) * 512, 64);
        _tile_dpbf16ps(3, 4, 6);
      }
    }
    for (int b = 0; b < blocks; b++) StoreScores(b, scores + b * 16);
    // Online softmax, a row per query; keys past the end get no weight.
    const int valid = std::min(keys - j0, blocks * 16);
    for (int r = 0; r < kQueryTile; r++) {
      float* row = scores + r * kKeyStep;
      __m512 s[4];
      __m512 m = _mm512_set1_ps(-INFINITY);
      for (int b = 0; b < blocks; b++) {
        const int live = std::max(0, std::min(16, valid - b * 16));
        const __mmask16 mask = live >= 16 ? 0xffff : __mmask16((1u << live) - 1);
        s[b] = _mm512_mask_mul_ps(_mm512_set1_ps(-INFINITY), mask, _mm512_loadu_ps(row + b * 16), _mm512_set1_ps(scale));
        m = _mm512_max_ps(m, s[b]);
      }
      const float new_max = std::max(max[r], _mm512_reduce_max_ps(m));
      const float correction = std::isinf(max[r]) ? 0.0f : std::exp(max[r] - new_max);
      __m512 sum = _mm512_setzero_ps();
      for (int b = 0; b < blocks; b++) {
        const __m512 e = Exp16(_mm512_sub_ps(s[b], _mm512_set1_ps(new_max)));
        sum = _mm512_add_ps(sum, e);
        // bf16 weights for the P·V tiles (round to nearest even, as the unit's own conversion does).
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + r * kKeyStep + b * 16), (__m256i)_mm512_cvtneps_pbh(e));
      }
      for (int b = blocks; b < 4; b++) std::memset(p + r * kKeyStep + b * 16, 0, 32);
      total[r] = total[r] * correction + _mm512_reduce_add_ps(sum);
      max[r] = new_max;
      float* a = acc.data() + size_t(r) * d;
      const __m512 corr = _mm512_set1_ps(correction);
      for (int i = 0; i < d; i += 16) _mm512_storeu_ps(a + i, _mm512_mul_ps(_mm512_loadu_ps(a + i), corr));
    }
    // acc += P · V for this step's keys, 16 output dims at a time.
    _tile_loadd(4, p, kKeyStep * 2);
    if (blocks > 2) _tile_loadd(5, p + 32, kKeyStep * 2);
    for (int sl = 0; sl < slices; sl++) {
      _tile_zero(7);
      const uint16_t* v0 = values_packed + (size_t(j0 / 32) * slices + sl) * 512;
      _tile_loadd(6, v0, 64);
      _tile_dpbf16ps(7, 4, 6);
      if (blocks > 2) {
        _tile_loadd(6, v0 + size_t(slices) * 512, 64);
        _tile_dpbf16ps(7, 5, 6);
      }
      _tile_stored(7, slice, 64);
      for (int r = 0; r < kQueryTile; r++) {
        float* a = acc.data() + size_t(r) * d + sl * 16;
        _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), _mm512_load_ps(slice + r * 16)));
      }
    }
  }
  for (int r = 0; r < rows; r++) {
    const float inv = total[r] > 0 ? 1.0f / total[r] : 0.0f;
    for (int i = 0; i < d; i++) out_rows[size_t(r) * out_stride + i] = acc[size_t(r) * d + i] * inv;
  }
}

}  // namespace

bool AmxTakesAttention(int queries, int keys, int heads, int kv_heads, int head_dim) {
  return head_dim % 32 == 0 && queries >= kQueryTile && keys >= kKeyStep && heads % kv_heads == 0;
}

void AttentionAmx(const float* q, const float* k, const float* v, float* out, int queries, int keys, int heads,
                  int kv_heads, int head_dim, float scale) {
  const int d = head_dim, q_stride = heads * d, kv_stride = kv_heads * d, group = heads / kv_heads;
  const int padded_keys = (keys + 31) / 32 * 32;
  const int padded_queries = (queries + kQueryTile - 1) / kQueryTile * kQueryTile;
  const size_t key_tiles = size_t(padded_keys) * d;  // bf16 values per head, K and V alike
  std::vector<uint16_t> keys_packed(key_tiles * kv_heads), values_packed(key_tiles * kv_heads);
  std::vector<uint16_t> q_bf16(size_t(heads) * padded_queries * d, 0);  // per head: [padded_queries][d]
  ThreadPool& pool = ThreadPool::Instance();
  pool.Run(kv_heads, [&](int h) {
    PackKeys(k + size_t(h) * d, keys, padded_keys, kv_stride, d, &keys_packed[key_tiles * h]);
    PackValues(v + size_t(h) * d, keys, padded_keys, kv_stride, d, &values_packed[key_tiles * h]);
  });
  pool.Run(heads, [&](int h) {
    for (int t = 0; t < queries; t++)
      for (int i = 0; i < d; i++) q_bf16[(size_t(h) * padded_queries + t) * d + i] = ToBf16(q[size_t(t) * q_stride + h * d + i]);
  });
  const int tiles = padded_queries / kQueryTile;
  pool.Run(heads * tiles, [&](int task) {
    const int h = task / tiles, t0 = (task % tiles) * kQueryTile, kvh = h / group;
    TileScope tiles(Config());
    AttendQueryTile(&q_bf16[(size_t(h) * padded_queries + t0) * d], &keys_packed[key_tiles * kvh],
                    &values_packed[key_tiles * kvh], keys, padded_keys, d, scale, out + size_t(t0) * q_stride + h * d,
                    q_stride, std::min(kQueryTile, queries - t0));
  });
}

}  // namespace pixtral

#else

namespace pixtral {
bool AmxTakesAttention(int, int, int, int, int) { return false; }
void AttentionAmx(const float*, const float*, const float*, float*, int, int, int, int, int, float) {}
}  // namespace pixtral

#endif
