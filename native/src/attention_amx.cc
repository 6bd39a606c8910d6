// Tile roles (one config for the whole kernel): tmm0..3 scores of 16 queries × 4 blocks of 16 keys; tmm4/5 A
// tiles (a 32-wide slice of Q, or P for 32 keys); tmm6 a B tile (K for 16 keys × 32 dims, or V for 32 keys ×
// 16 dims, both as the unit's interleaved pairs); tmm7 one 16 × 16 slice of P·V.
#include "attention_amx.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "amx.h"
#include "bf16_pairs.h"
#include "thread_pool.h"
#include "vector_math.h"

#if defined(__x86_64__)
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")
#include <immintrin.h>
#include "amx_tiles.h"
#include "softmax_step.h"

namespace pixtral {
namespace {

constexpr int kQueryTile = 16;
constexpr int kKeyStep = kSoftmaxKeyStep;  // four score tiles

const TileConfig& Config() {
  static const TileConfig config = MakeTileConfig(64, 16, 1);
  return config;
}

inline void StoreScores(int tile, float* at) {
  switch (tile) {
    case 0: _tile_stored(0, at, kKeyStep * 4); break;
    case 1: _tile_stored(1, at, kKeyStep * 4); break;
    case 2: _tile_stored(2, at, kKeyStep * 4); break;
    default: _tile_stored(3, at, kKeyStep * 4); break;
  }
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
      const float correction =
          SoftmaxStep(scores + r * kKeyStep, blocks, valid, scale, max[r], total[r], p + r * kKeyStep);
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
      for (int i = 0; i < d; i++) q_bf16[(size_t(h) * padded_queries + t) * d + i] = RoundToBf16(q[size_t(t) * q_stride + h * d + i]);
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
