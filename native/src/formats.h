// Weight and activation block formats. A block covers 32 consecutive values of one row, as in llama.cpp's
// q8_0 / q4_0: a half-precision scale followed by the quantized values, so a row is one contiguous run of
// blocks and a dot product streams it once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pixtral {

constexpr int kBlock = 32;

struct BlockQ8 {   // 34 bytes = 8.5 bits per weight
  uint16_t scale;  // f16
  int8_t q[kBlock];
};

struct BlockQ4 {    // 18 bytes = 4.5 bits per weight
  uint16_t scale;   // f16
  uint8_t q[kBlock / 2];  // value i in the low nibble of byte i, value i+16 in the high nibble; stored +8
};

struct ActivationBlock {  // activations quantized once per matmul
  float scale;
  int8_t q[kBlock];
};

static_assert(sizeof(BlockQ8) == 34, "q8 block layout");
static_assert(sizeof(BlockQ4) == 18, "q4 block layout");

enum class WeightFormat { kBf16 = 0, kQ8 = 1, kQ4 = 2 };

inline size_t RowBytes(WeightFormat format, int cols) {
  switch (format) {
    case WeightFormat::kBf16: return size_t(cols) * 2;
    case WeightFormat::kQ8: return size_t(cols / kBlock) * sizeof(BlockQ8);
    case WeightFormat::kQ4: return size_t(cols / kBlock) * sizeof(BlockQ4);
  }
  return 0;
}

inline float Bf16ToF32(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// IEEE half ↔ float without relying on F16C (the portable path must run anywhere).
inline float F16ToF32(uint16_t h) {
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

inline uint16_t F32ToF16(float f) {  // round to nearest even
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

}  // namespace pixtral
