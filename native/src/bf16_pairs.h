// The bf16 "pair" layouts that both bf16 matrix instructions consume: AMX's tdpbf16ps B tiles and AVX512_BF16's
// vdpbf16ps vectors. Both multiply pairs of bf16 values into float lanes, so the operand that spans the lanes
// must hold, in each 32-bit lane, two consecutive values along the summed dimension — a 16 × 16 transpose of
// 32-bit words out of row-major data. A 64-byte "line" is 16 lanes × one pair.
//
//   weight rows (PackBf16Rows): per 16-row panel and 32-column chunk, 16 lines; line p, lane r = row r's values
//     (2p, 2p+1) of the chunk. A panel's lines for consecutive chunks follow each other, so line m of a panel
//     (columns 2m, 2m+1) sits at panel + 16·m words.
//   keys (PackKeys), for S = Q·Kᵀ: per 16-key block and 32-dim chunk, 16 lines; lane n = key n's dims (2p, 2p+1).
//   values (PackValues), for P·V: per 32-key block and 16-dim slice, 16 lines; line p, lane n = dim n of keys
//     2p and 2p+1.
// Plain C++ (no intrinsics), so every kernel file can include it under its own target.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pixtral {

// Read from bf16 arrays that are only 2-byte aligned: may_alias and aligned(1) say so to the compiler.
typedef uint32_t __attribute__((may_alias, aligned(1))) PairWord;

static inline uint16_t RoundToBf16(float f) {  // round to nearest even (finite inputs)
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

// Rows [n0, n0 + rows) of a bf16 matrix [n][k] (rows a multiple of 16, k of 32) as panels: rows·k/2 words.
static inline void PackBf16Rows(const uint16_t* w, int k, int n0, int rows, PairWord* packed) {
  const int chunks = k / 32;
  for (int nt = 0; nt < rows / 16; nt++)
    for (int c = 0; c < chunks; c++) {
      PairWord* tile = packed + (size_t(nt) * chunks + c) * 256;
      for (int r = 0; r < 16; r++) {
        const PairWord* src = reinterpret_cast<const PairWord*>(w + size_t(n0 + nt * 16 + r) * k) + c * 16;
        for (int p = 0; p < 16; p++) tile[p * 16 + r] = src[p];
      }
    }
}

// One head's float32 K rows (`stride` floats apart, d dims, d a multiple of 32) rounded to bf16 as key blocks;
// keys past `keys` up to `padded_keys` (a multiple of 16) are zero. A block's lines for consecutive chunks follow
// each other: line p (dims 2p, 2p+1) of key block b sits at packed + (b·d/2 + p)·32 values.
static inline void PackKeys(const float* k, int keys, int padded_keys, int stride, int d, uint16_t* packed) {
  const int chunks = d / 32;
  for (int kb = 0; kb < padded_keys / 16; kb++)
    for (int c = 0; c < chunks; c++) {
      uint16_t* tile = packed + (size_t(kb) * chunks + c) * 512;
      for (int n = 0; n < 16; n++) {
        const int key = kb * 16 + n;
        const float* row = k + size_t(key) * stride + c * 32;
        for (int p = 0; p < 16; p++) {
          tile[p * 32 + n * 2] = key < keys ? RoundToBf16(row[2 * p]) : 0;
          tile[p * 32 + n * 2 + 1] = key < keys ? RoundToBf16(row[2 * p + 1]) : 0;
        }
      }
    }
}

// One head's float32 V rows as value blocks (padded_keys a multiple of 32; keys past `keys` are zero): line p of
// (32-key block b, 16-dim slice s) sits at packed + ((b·d/16 + s)·16 + p)·32 values.
static inline void PackValues(const float* v, int keys, int padded_keys, int stride, int d, uint16_t* packed) {
  const int slices = d / 16;
  for (int kb = 0; kb < padded_keys / 32; kb++)
    for (int s = 0; s < slices; s++) {
      uint16_t* tile = packed + (size_t(kb) * slices + s) * 512;
      for (int p = 0; p < 16; p++)
        for (int i = 0; i < 2; i++) {
          const int key = kb * 32 + 2 * p + i;
          const float* row = v + size_t(key) * stride + s * 16;
          for (int n = 0; n < 16; n++) tile[p * 32 + n * 2 + i] = key < keys ? RoundToBf16(row[n]) : 0;
        }
    }
}

}  // namespace pixtral
