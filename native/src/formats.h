// Weight and activation formats of the kernels. Quantized weights use 32-value blocks with a half-precision
// scale (llama.cpp's q8_0 / q4_0 numerics), laid out per row as the AVX-512 micro-kernels consume them:
//
//   q8 row: [K int8 values, block order] [K/32 f16 scales]                        8.5 bits per weight
//   q4 row: [K/2 bytes: block b at 16b; byte j = value j | value j+16 << 4, each +8] [K/32 f16 scales]
//                                                                                   4.5 bits per weight
//   q4 / q8 panels (kQ4P, kQ8P): the same blocks for 16 rows at a time, interleaved so one vpdpbusd takes four
//   bytes of all 16 rows (one row per 32-bit lane) against four activation bytes broadcast — per panel and block,
//   64-byte vectors (vector m, lane i = row i's bytes 4m..4m+3: four for q4, eight for q8, whose values are stored
//   +128 so vpdpbusd can take them unsigned) then the 16 rows' f16 scales: 288 / 544 bytes, exactly the 16 rows'
//   bytes, so a panel occupies the rows' place and is made in place at load.
// Activations are quantized once per matmul to int8 blocks (scale = max|x| / 127). For q4 they are stored
// "split": per group of up to 4 blocks, first the values 0..15 of each block, then the values 16..31 — the
// order in which one 64-byte load of q4 weights yields its low and high nibbles.
#pragma once
// The helpers below are `static inline`: files compiled for different instruction sets include them, and a
// shared (weak) out-of-line copy could be the AVX-512 one called from the portable path.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pixtral {

constexpr int kBlock = 32;
constexpr int kGroup = 4;  // blocks per 64-byte q4 load

// kQ4K / kQ5K / kQ6K: ggml's K-quant super-blocks of 256 values exactly as a GGUF file stores them (a row is
// k/256 blocks of 144 / 176 / 210 bytes), run where they lie — no repacking, no second copy.
// kF16: IEEE half rows (GGUF F16 tensors, e.g. llama.cpp's mmproj files), used as stored.
enum class WeightFormat { kBf16 = 0, kQ8 = 1, kQ4 = 2, kQ4K = 3, kQ5K = 4, kQ6K = 5, kF16 = 6, kQ4P = 7, kQ8P = 8 };

constexpr int kPanelRows = 16;
constexpr size_t kQ4PanelBlockBytes = 4 * 64 + kPanelRows * 2;
constexpr size_t kQ8PanelBlockBytes = 8 * 64 + kPanelRows * 2;

// q8 / q4 rows: what the quantizer writes, GGUF Q8_0 / Q4_0 become, and panels are made from.
static inline bool IsQuantRows(WeightFormat format) {
  return format == WeightFormat::kQ8 || format == WeightFormat::kQ4;
}

static inline bool IsPanels(WeightFormat format) {
  return format == WeightFormat::kQ4P || format == WeightFormat::kQ8P;
}

// Tokens one panel call handles (its accumulators stay in registers).
constexpr int kPanelTokens = 8;

constexpr int kSuperBlock = 256;
constexpr size_t kQ4KBlockBytes = 144, kQ5KBlockBytes = 176, kQ6KBlockBytes = 210;

static inline bool IsKQuant(WeightFormat format) {
  return format == WeightFormat::kQ4K || format == WeightFormat::kQ5K || format == WeightFormat::kQ6K;
}

// Values per row a format needs whole (32-value blocks, or 256-value super-blocks).
static inline int RowGranule(WeightFormat format) {
  return format == WeightFormat::kBf16 || format == WeightFormat::kF16 ? 1 : IsKQuant(format) ? kSuperBlock : kBlock;
}

static inline size_t RowBytes(WeightFormat format, int cols) {
  switch (format) {
    case WeightFormat::kBf16:
    case WeightFormat::kF16: return size_t(cols) * 2;
    case WeightFormat::kQ8:
    case WeightFormat::kQ8P: return size_t(cols) + size_t(cols / kBlock) * 2;
    case WeightFormat::kQ4:
    case WeightFormat::kQ4P: return size_t(cols / 2) + size_t(cols / kBlock) * 2;
    case WeightFormat::kQ4K: return size_t(cols / kSuperBlock) * kQ4KBlockBytes;
    case WeightFormat::kQ5K: return size_t(cols / kSuperBlock) * kQ5KBlockBytes;
    case WeightFormat::kQ6K: return size_t(cols / kSuperBlock) * kQ6KBlockBytes;
  }
  return 0;
}

// Sub-block j's 6-bit scale and min of a Q4_K / Q5_K block (ggml's get_scale_min_k4 packing of 12 bytes).
static inline void KQuantScaleMin(const uint8_t* q, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

static inline const uint16_t* RowScales(WeightFormat format, const uint8_t* row, int cols) {
  return reinterpret_cast<const uint16_t*>(row + (format == WeightFormat::kQ8 ? cols : cols / 2));
}

// Offset of value j (0..31) of block b (of `blocks`) in split activation order. A final group of fewer than
// four blocks keeps the same shape: its blocks' low halves, then their high halves.
static inline size_t SplitIndex(int b, int j, int blocks) {
  int first = (b / kGroup) * kGroup;
  int in_group = b - first;
  int group_size = blocks - first < kGroup ? blocks - first : kGroup;
  return size_t(first) * kBlock + (j < 16 ? 0 : 16 * group_size) + size_t(in_group) * 16 + (j & 15);
}

// One token's activations: k int8 values, k/32 scales, and for q4 each block's Σq·scale·8 (the +8 offset of
// the stored nibbles, taken out once per block instead of per value).
struct ActivationView {
  const int8_t* q;
  const float* scale;
  const float* offset8;
};

static inline float Bf16ToF32(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// IEEE half ↔ float without relying on F16C (the portable path must run anywhere).
static inline float F16ToF32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        exp--;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

static inline uint16_t F32ToF16(float f) {  // round to nearest even
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = int32_t((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return uint16_t(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31) return uint16_t(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return uint16_t(sign);
    mant |= 0x800000;
    uint32_t shift = uint32_t(14 - exp);
    uint32_t half = mant >> shift;
    uint32_t rest = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1))) half++;
    return uint16_t(sign | half);
  }
  uint32_t half = sign | (uint32_t(exp) << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) half++;
  return uint16_t(half);
}

// Rewrites 16 q4 or q8 rows (row r at rows + r·row_bytes, contiguous) as one panel in the same bytes; `scratch`
// holds a copy of the rows (16·row_bytes).
static inline void PackPanel(WeightFormat rows_format, uint8_t* rows, int k, uint8_t* scratch) {
  const bool q8 = rows_format == WeightFormat::kQ8;
  const int value_bytes = q8 ? kBlock : kBlock / 2, vectors = value_bytes / 4;
  const size_t row_bytes = RowBytes(rows_format, k), block_bytes = q8 ? kQ8PanelBlockBytes : kQ4PanelBlockBytes;
  std::memcpy(scratch, rows, kPanelRows * row_bytes);
  for (int b = 0; b < k / kBlock; b++) {
    uint8_t* block = rows + size_t(b) * block_bytes;
    for (int r = 0; r < kPanelRows; r++) {
      const uint8_t* row = scratch + r * row_bytes;
      for (int m = 0; m < vectors; m++) {
        uint8_t* to = block + 64 * m + 4 * r;
        std::memcpy(to, row + size_t(value_bytes) * b + 4 * m, 4);
        if (q8)
          for (int j = 0; j < 4; j++) to[j] ^= 0x80;  // int8 w → unsigned w + 128
      }
      std::memcpy(block + 64 * vectors + 2 * r, row + size_t(value_bytes) * (k / kBlock) + 2 * b, 2);
    }
  }
}

// ggml's Q8_0 / Q4_0 blocks (GGUF files) hold the same numbers as our q8 / q4 rows — 32 values and an f16
// scale, q4 nibbles packed the same way (byte j = value j | value j+16 << 4, each +8) — only laid out block by
// block with the scale in front. Rearranging them into rows is exact: no value changes.
constexpr size_t kGgmlQ8Block = 34, kGgmlQ4Block = 18;

static inline void RepackGgmlRow(WeightFormat format, const uint8_t* blocks, int k, uint8_t* row) {
  const int count = k / kBlock;
  const bool q8 = format == WeightFormat::kQ8;
  const size_t block_bytes = q8 ? kGgmlQ8Block : kGgmlQ4Block, value_bytes = q8 ? kBlock : kBlock / 2;
  uint8_t* scales = row + size_t(count) * value_bytes;
  for (int b = 0; b < count; b++) {
    const uint8_t* block = blocks + size_t(b) * block_bytes;
    std::memcpy(scales + 2 * b, block, 2);
    std::memcpy(row + size_t(b) * value_bytes, block + 2, value_bytes);
  }
}

}  // namespace pixtral
