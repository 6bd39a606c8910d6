// Dot products of ggml's K-quant super-blocks (Q4_K, Q5_K, Q6_K, read where they lie) with int8 activations in
// block order, written plainly so each level file that includes it (after its `#pragma GCC target`) gets them
// vectorized for its instruction set; the AVX-512 file has hand-written ones for the hot Q4_K and Q6_K.
// Everything here is `static`: each level keeps its own copy.
#pragma once
#include "formats.h"
#include "kernels.h"

namespace pixtral {

// Q4_K / Q5_K: per sub-block j of 32 values, d·scale_j·Σ q·x − dmin·min_j·Σx, where Σx comes from offset8.
// Each 64 values: 32 bytes whose low nibbles are sub-block 2c and high nibbles sub-block 2c+1 (Q5_K: plus bit
// 2c / 2c+1 of qh[l] as the fifth bit).
template <bool kFifthBit>
static inline float DotQ45K(ActivationView x, const uint8_t* row, int k) {
  const size_t block_bytes = kFifthBit ? kQ5KBlockBytes : kQ4KBlockBytes;
  float sum = 0;
  for (int s = 0; s < k / kSuperBlock; s++) {
    const uint8_t* block = row + s * block_bytes;
    const float d = F16ToF32(uint16_t(block[0] | block[1] << 8));
    const float dmin = F16ToF32(uint16_t(block[2] | block[3] << 8));
    const uint8_t* scales = block + 4;
    const uint8_t* high = block + 16;
    const uint8_t* low = block + (kFifthBit ? 48 : 16);
    for (int j = 0; j < 8; j++) {
      const int b = s * 8 + j, c = j / 2, shift = (j & 1) * 4;
      int scale, min;
      KQuantScaleMin(scales, j, &scale, &min);
      int32_t dot = 0;
      for (int l = 0; l < 32; l++) {
        int q = (low[32 * c + l] >> shift) & 0xf;
        if (kFifthBit) q += ((high[l] >> j) & 1) << 4;
        dot += q * int32_t(x.q[b * kBlock + l]);
      }
      sum += d * float(scale) * x.scale[b] * float(dot) - dmin * float(min) * (x.offset8[b] / 8);
    }
  }
  return sum;
}

// Q6_K: value = d·scale·(q − 32) with q six bits (ql nibble + two qh bits) and a scale per 16 values.
static inline float DotQ6K(ActivationView x, const uint8_t* row, int k) {
  float sum = 0;
  for (int s = 0; s < k / kSuperBlock; s++) {
    const uint8_t* block = row + s * kQ6KBlockBytes;
    const int8_t* scales = reinterpret_cast<const int8_t*>(block + 192);
    const float d = F16ToF32(uint16_t(block[208] | block[209] << 8));
    for (int half = 0; half < 2; half++) {
      const uint8_t* ql = block + 64 * half;
      const uint8_t* qh = block + 128 + 32 * half;
      int32_t dots[8] = {};  // per 16 values: Σ q·x
      int32_t sums[8] = {};  // per 16 values: Σ x
      for (int l = 0; l < 32; l++) {
        const int q[4] = {(ql[l] & 0xf) | ((qh[l] & 3) << 4), (ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4),
                          (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4), (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)};
        for (int i = 0; i < 4; i++) {
          const int value = s * kSuperBlock + 128 * half + 32 * i + l;
          const int group = 2 * i + (l >> 4);
          dots[group] += q[i] * int32_t(x.q[value]);
          sums[group] += x.q[value];
        }
      }
      for (int g = 0; g < 8; g++) {
        const int b = (s * kSuperBlock + 128 * half + 16 * g) / kBlock;
        sum += d * float(scales[8 * half + g]) * x.scale[b] * float(dots[g] - 32 * sums[g]);
      }
    }
  }
  return sum;
}

}  // namespace pixtral
