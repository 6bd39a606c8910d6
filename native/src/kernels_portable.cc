// Plain C++ kernels: the path for CPUs without AVX2 (and other architectures), and the quantizers.
#include <cmath>
#include "kernels.h"

namespace pixtral {

static float DotBf16(const float* x, const uint16_t* w, int k) {
  float sum = 0;
  for (int i = 0; i < k; i++) sum += x[i] * Bf16ToF32(w[i]);
  return sum;
}

static float DotQ8(const ActivationBlock* x, const BlockQ8* w, int blocks) {
  float sum = 0;
  for (int b = 0; b < blocks; b++) {
    int32_t dot = 0;
    for (int j = 0; j < kBlock; j++) dot += int32_t(x[b].q[j]) * int32_t(w[b].q[j]);
    sum += float(dot) * (x[b].scale * F16ToF32(w[b].scale));
  }
  return sum;
}

static float DotQ4(const ActivationBlock* x, const BlockQ4* w, int blocks) {
  float sum = 0;
  for (int b = 0; b < blocks; b++) {
    int32_t dot = 0;
    for (int j = 0; j < kBlock / 2; j++) {
      dot += int32_t(x[b].q[j]) * (int32_t(w[b].q[j] & 0x0f) - 8);
      dot += int32_t(x[b].q[j + kBlock / 2]) * (int32_t(w[b].q[j] >> 4) - 8);
    }
    sum += float(dot) * (x[b].scale * F16ToF32(w[b].scale));
  }
  return sum;
}

const Kernels kPortableKernels = {DotBf16, DotQ8, DotQ4};

static float AbsMax(const float* x) {
  float m = 0;
  for (int j = 0; j < kBlock; j++) m = std::fmax(m, std::fabs(x[j]));
  return m;
}

void QuantizeActivations(const float* x, ActivationBlock* out, int k) {
  for (int b = 0; b < k / kBlock; b++, x += kBlock) {
    float scale = AbsMax(x) / 127.0f;
    float inv = scale > 0 ? 1.0f / scale : 0.0f;
    out[b].scale = scale;
    for (int j = 0; j < kBlock; j++) out[b].q[j] = int8_t(std::lrintf(x[j] * inv));
  }
}

void QuantizeRowQ8(const float* x, BlockQ8* out, int k) {
  for (int b = 0; b < k / kBlock; b++, x += kBlock) {
    // The stored (half-precision) scale is the one the values are divided by, so dequantizing is exact.
    uint16_t half = F32ToF16(AbsMax(x) / 127.0f);
    float scale = F16ToF32(half);
    float inv = scale > 0 ? 1.0f / scale : 0.0f;
    out[b].scale = half;
    for (int j = 0; j < kBlock; j++) {
      long q = std::lrintf(x[j] * inv);
      out[b].q[j] = int8_t(q > 127 ? 127 : q < -127 ? -127 : q);
    }
  }
}

void QuantizeRowQ4(const float* x, BlockQ4* out, int k) {
  for (int b = 0; b < k / kBlock; b++, x += kBlock) {
    // As q4_0: the value of largest magnitude maps to -8, so the full 4-bit range is used on its side.
    float max = 0;
    for (int j = 0; j < kBlock; j++)
      if (std::fabs(x[j]) > std::fabs(max)) max = x[j];
    uint16_t half = F32ToF16(max / -8.0f);
    float scale = F16ToF32(half);
    float inv = scale != 0 ? 1.0f / scale : 0.0f;
    out[b].scale = half;
    for (int j = 0; j < kBlock / 2; j++) {
      auto nibble = [&](float v) {
        long q = std::lrintf(v * inv) + 8;
        return uint8_t(q < 0 ? 0 : q > 15 ? 15 : q);
      };
      out[b].q[j] = uint8_t(nibble(x[j]) | (nibble(x[j + kBlock / 2]) << 4));
    }
  }
}

}  // namespace pixtral
