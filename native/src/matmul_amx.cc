// Tile roles: tmm0..3 accumulate a 32-token × 32-row output block (two token tiles × two weight tiles),
// tmm4/5 hold the two token tiles (activations straight from memory, a row per token), tmm6/7 the two weight
// tiles (packed per task: the unit wants B as pairs (bf16) or quads (int8) of K interleaved across 16 rows).
#include "matmul_amx.h"

#include <algorithm>
#include <cstring>
#include <vector>
#include "amx.h"
#include "bf16_pairs.h"
#include "dpbf16.h"
#include "thread_pool.h"

#if defined(__x86_64__)
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-int8,amx-bf16")
#include <immintrin.h>
#include "amx_tiles.h"

namespace pixtral {
namespace {

// A task packs a band of weight rows (≤ 1 MB of tiles: stays in L2) and runs a span of tokens through it;
// long inputs are cut into spans so the activations a task streams stay few and both cores get work.
constexpr int kRowsPerTask = 128;
constexpr int kTokensPerTask = 1024;
constexpr int kMinTokens = 32;    // below this the VNNI/FMA kernels win (packing is per call)

using Word = PairWord;

// q8/q4 weight rows as signed int8 B tiles, one per (16-row tile, block): 8 lines of 16 quads of values; and
// the block scales as floats, 16 per (tile, block), ready for one vector load.
void PackQuant(WeightFormat format, const uint8_t* w, int k, int n0, int rows, Word* packed, float* scales) {
  const int blocks = k / kBlock;
  const size_t row_bytes = RowBytes(format, k);
  alignas(64) int8_t values[kBlock];
  for (int nt = 0; nt < rows / 16; nt++)
    for (int r = 0; r < 16; r++) {
      const uint8_t* row = w + size_t(n0 + nt * 16 + r) * row_bytes;
      const uint16_t* row_scales = RowScales(format, row, k);
      for (int b = 0; b < blocks; b++) {
        if (format == WeightFormat::kQ8) {
          std::memcpy(values, row + b * kBlock, kBlock);
        } else {
          const uint8_t* nibbles = row + b * 16;
          for (int j = 0; j < 16; j++) {
            values[j] = int8_t((nibbles[j] & 15) - 8);
            values[j + 16] = int8_t((nibbles[j] >> 4) - 8);
          }
        }
        Word* tile = packed + (size_t(nt) * blocks + b) * 128;
        const Word* quads = reinterpret_cast<const Word*>(values);
        for (int q = 0; q < 8; q++) tile[q * 16 + r] = quads[q];
        scales[(size_t(nt) * blocks + b) * 16 + r] = _cvtsh_ss(row_scales[b]);
      }
    }
}

// The intrinsics take the tile number as a literal (it names a register), hence the switch.
inline void StoreTile(int tile, void* at, int stride) {
  switch (tile) {
    case 0: _tile_stored(0, at, stride); break;
    case 1: _tile_stored(1, at, stride); break;
    case 2: _tile_stored(2, at, stride); break;
    default: _tile_stored(3, at, stride); break;
  }
}

// Rows of a finished 16×16 float tile go to y; the last token step may have fewer real tokens than rows.
void StoreOutput(int tile, float* y, int n, int t0, int tokens, int col) {
  if (t0 >= tokens) return;
  if (t0 + 16 <= tokens) {
    StoreTile(tile, y + size_t(t0) * n + col, n * 4);
    return;
  }
  alignas(64) float spill[256];
  StoreTile(tile, spill, 64);
  for (int r = 0; t0 + r < tokens; r++) std::memcpy(y + size_t(t0 + r) * n + col, spill + r * 16, 64);
}

void Bf16Band(const uint16_t* xb, int tokens, int k, const uint32_t* packed, int n0, int rows, float* y, int n) {
  const int chunks = k / 32;
  for (int t0 = 0; t0 < tokens; t0 += kAmxTokenStep)
    for (int nt = 0; nt < rows / 16; nt += 2) {
      const uint32_t* b0 = packed + size_t(nt) * chunks * 256;
      const uint32_t* b1 = b0 + size_t(chunks) * 256;
      const uint16_t* a = xb + size_t(t0) * k;
      ZeroOutputTiles();
      for (int c = 0; c < chunks; c++) {
        _tile_loadd(4, a + c * 32, k * 2);
        _tile_loadd(5, a + size_t(16) * k + c * 32, k * 2);
        _tile_loadd(6, b0 + c * 256, 64);
        _tile_loadd(7, b1 + c * 256, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      const int col = n0 + nt * 16;
      StoreOutput(0, y, n, t0, tokens, col);
      StoreOutput(1, y, n, t0, tokens, col + 16);
      StoreOutput(2, y, n, t0 + 16, tokens, col);
      StoreOutput(3, y, n, t0 + 16, tokens, col + 16);
    }
}

// acc[r][0..16) += int32 tile row r · (token scale · weight scales): one block's products, dequantized.
void Dequantize(int tile, float* acc, int acc_stride, const float* token_scales, int blocks, const float* weight_scales) {
  alignas(64) int32_t products[256];
  StoreTile(tile, products, 64);
  const __m512 ws = _mm512_loadu_ps(weight_scales);
  for (int r = 0; r < 16; r++) {
    const __m512 scale = _mm512_mul_ps(ws, _mm512_set1_ps(token_scales[size_t(r) * blocks]));
    const __m512 p = _mm512_cvtepi32_ps(_mm512_load_si512(products + r * 16));
    float* a = acc + size_t(r) * acc_stride;
    _mm512_storeu_ps(a, _mm512_fmadd_ps(p, scale, _mm512_loadu_ps(a)));
  }
}

void QuantBand(const int8_t* q, const float* x_scales, int tokens, int k, const uint32_t* packed, const float* w_scales,
               int n0, int rows, float* y, int n) {
  const int blocks = k / kBlock;
  std::vector<float> acc(size_t(kAmxTokenStep) * rows);
  for (int t0 = 0; t0 < tokens; t0 += kAmxTokenStep) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* s0 = x_scales + size_t(t0) * blocks;
    const float* s1 = s0 + size_t(16) * blocks;
    for (int b = 0; b < blocks; b++) {
      _tile_loadd(4, q + size_t(t0) * k + b * kBlock, k);
      _tile_loadd(5, q + size_t(t0 + 16) * k + b * kBlock, k);
      for (int nt = 0; nt < rows / 16; nt += 2) {
        const size_t tile0 = size_t(nt) * blocks + b, tile1 = tile0 + blocks;
        _tile_loadd(6, packed + tile0 * 128, 64);
        _tile_loadd(7, packed + tile1 * 128, 64);
        ZeroOutputTiles();
        _tile_dpbssd(0, 4, 6);
        _tile_dpbssd(1, 4, 7);
        _tile_dpbssd(2, 5, 6);
        _tile_dpbssd(3, 5, 7);
        float* a = acc.data() + nt * 16;
        Dequantize(0, a, rows, s0 + b, blocks, w_scales + tile0 * 16);
        Dequantize(1, a + 16, rows, s0 + b, blocks, w_scales + tile1 * 16);
        Dequantize(2, a + size_t(16) * rows, rows, s1 + b, blocks, w_scales + tile0 * 16);
        Dequantize(3, a + size_t(16) * rows + 16, rows, s1 + b, blocks, w_scales + tile1 * 16);
      }
    }
    for (int t = t0; t < std::min(tokens, t0 + kAmxTokenStep); t++)
      std::memcpy(y + size_t(t) * n + n0, acc.data() + size_t(t - t0) * rows, size_t(rows) * 4);
  }
}

int PaddedTokens(int tokens) { return (tokens + kAmxTokenStep - 1) / kAmxTokenStep * kAmxTokenStep; }

// body(n0, rows, t0, count) for every band of weight rows × span of tokens (spans are token-step multiples).
template <typename Body>
void ForEachBand(int n, int tokens, Body body) {
  const int bands = (n + kRowsPerTask - 1) / kRowsPerTask;
  const int spans = (tokens + kTokensPerTask - 1) / kTokensPerTask;
  ThreadPool::Instance().Run(bands * spans, [&](int task) {
    const int n0 = (task / spans) * kRowsPerTask, t0 = (task % spans) * kTokensPerTask;
    body(n0, std::min(kRowsPerTask, n - n0), t0, std::min(kTokensPerTask, tokens - t0));
  });
}

}  // namespace

bool AmxTakesMatmul(int tokens, int k, int n) {
  return tokens >= kMinTokens && k % 32 == 0 && n % 32 == 0;
}

void MatmulAmxBf16(const float* x, int tokens, int k, const uint16_t* w, int n, float* y) {
  const int padded = PaddedTokens(tokens);
  std::vector<uint16_t> xb(size_t(padded) * k, 0);  // padding rows stay zero
  RoundRowsToBf16(x, tokens, k, xb.data());
  static const TileConfig config = MakeTileConfig(64, 16, 2);
  ForEachBand(n, tokens, [&](int n0, int rows, int t0, int count) {
    std::vector<uint32_t> packed(size_t(rows) * k / 2);
    PackBf16Rows(w, k, n0, rows, reinterpret_cast<Word*>(packed.data()));
    TileScope tiles(config);
    Bf16Band(xb.data() + size_t(t0) * k, count, k, packed.data(), n0, rows, y + size_t(t0) * n, n);
  });
}

void MatmulAmxQuant(WeightFormat format, const int8_t* q, const float* scales, int tokens, int k, const uint8_t* w,
                    int n, float* y) {
  static const TileConfig config = MakeTileConfig(kBlock, kBlock / 4, 2);
  const int blocks = k / kBlock;
  ForEachBand(n, tokens, [&](int n0, int rows, int t0, int count) {
    std::vector<uint32_t> packed(size_t(rows) * k / 4);
    std::vector<float> w_scales(size_t(rows) * blocks);
    PackQuant(format, w, k, n0, rows, reinterpret_cast<Word*>(packed.data()), w_scales.data());
    TileScope tiles(config);
    QuantBand(q + size_t(t0) * k, scales + size_t(t0) * blocks, count, k, packed.data(), w_scales.data(), n0, rows,
              y + size_t(t0) * n, n);
  });
}

}  // namespace pixtral

#else  // no AMX off x86-64: the callers never get here because AmxTakesMatmul is false

namespace pixtral {
bool AmxTakesMatmul(int, int, int) { return false; }
void MatmulAmxBf16(const float*, int, int, const uint16_t*, int, float*) {}
void MatmulAmxQuant(WeightFormat, const int8_t*, const float*, int, int, const uint8_t*, int, float*) {}
}  // namespace pixtral

#endif
