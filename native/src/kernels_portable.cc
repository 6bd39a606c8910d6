// Plain C++ kernels: the path for CPUs without AVX2 (and other architectures), and the quantizers.
#include <cmath>
#include "kernel_set.h"
#include "kernels.h"
#include "kquant_dots.h"
#include "panel_plain.h"

namespace pixtral {

static float DotBf16(const float* x, const uint16_t* w, int k) {
  float sum = 0;
  for (int i = 0; i < k; i++) sum += x[i] * Bf16ToF32(w[i]);
  return sum;
}

static float DotQ8(ActivationView x, const uint8_t* row, int k) {
  const int8_t* w = reinterpret_cast<const int8_t*>(row);
  const uint16_t* scales = RowScales(WeightFormat::kQ8, row, k);
  float sum = 0;
  for (int b = 0; b < k / kBlock; b++) {
    int32_t dot = 0;
    for (int j = 0; j < kBlock; j++) dot += int32_t(x.q[b * kBlock + j]) * int32_t(w[b * kBlock + j]);
    sum += float(dot) * (x.scale[b] * F16ToF32(scales[b]));
  }
  return sum;
}

static float DotQ4(ActivationView x, const uint8_t* row, int k) {
  const uint16_t* scales = RowScales(WeightFormat::kQ4, row, k);
  float sum = 0;
  for (int b = 0; b < k / kBlock; b++) {
    int32_t dot = 0;  // Σ x·(nibble − 8) = Σ x·nibble − 8·Σx; the second term is offset8
    for (int j = 0; j < 16; j++) {
      uint8_t byte = row[b * 16 + j];
      dot += int32_t(x.q[SplitIndex(b, j, k / kBlock)]) * int32_t(byte & 0x0f);
      dot += int32_t(x.q[SplitIndex(b, j + 16, k / kBlock)]) * int32_t(byte >> 4);
    }
    float w = F16ToF32(scales[b]);
    sum += float(dot) * (x.scale[b] * w) - x.offset8[b] * w;
  }
  return sum;
}

static float DotF16(const float* x, const uint16_t* w, int k) {
  float sum = 0;
  for (int i = 0; i < k; i++) sum += x[i] * F16ToF32(w[i]);
  return sum;
}

static const Kernels kPortableKernels = {DotBf16, DotQ8, DotQ4, MultiBf16ByOne<DotBf16>, MultiQuantByOne<DotQ8>,
                                         MultiQuantByOne<DotQ4>, nullptr, nullptr, DotQ45K<false>, DotQ45K<true>,
                                         DotQ6K, DotF16, PanelQ4Plain, PanelQ8Plain, false};

static float AbsMax(const float* x) {
  float m = 0;
  for (int j = 0; j < kBlock; j++) m = std::fmax(m, std::fabs(x[j]));
  return m;
}

void QuantizeRowQ8(const float* x, uint8_t* row, int k) {
  int8_t* values = reinterpret_cast<int8_t*>(row);
  uint16_t* scales = reinterpret_cast<uint16_t*>(row + k);
  for (int b = 0; b < k / kBlock; b++) {
    const float* v = x + b * kBlock;
    // The stored (half-precision) scale is the one the values are divided by, so dequantizing is exact.
    uint16_t half = F32ToF16(AbsMax(v) / 127.0f);
    float s = F16ToF32(half);
    float inv = s > 0 ? 1.0f / s : 0.0f;
    scales[b] = half;
    for (int j = 0; j < kBlock; j++) {
      long q = std::lrintf(v[j] * inv);
      values[b * kBlock + j] = int8_t(q > 127 ? 127 : q < -127 ? -127 : q);
    }
  }
}

void QuantizeRowQ4(const float* x, uint8_t* row, int k) {
  uint16_t* scales = reinterpret_cast<uint16_t*>(row + k / 2);
  for (int b = 0; b < k / kBlock; b++) {
    const float* v = x + b * kBlock;
    // As q4_0: the value of largest magnitude maps to −8, so the full 4-bit range is used on its side.
    float max = 0;
    for (int j = 0; j < kBlock; j++)
      if (std::fabs(v[j]) > std::fabs(max)) max = v[j];
    uint16_t half = F32ToF16(max / -8.0f);
    float s = F16ToF32(half);
    float inv = s != 0 ? 1.0f / s : 0.0f;
    scales[b] = half;
    auto nibble = [&](float value) {
      long q = std::lrintf(value * inv) + 8;
      return uint8_t(q < 0 ? 0 : q > 15 ? 15 : q);
    };
    for (int j = 0; j < 16; j++) row[b * 16 + j] = uint8_t(nibble(v[j]) | (nibble(v[j + 16]) << 4));
  }
}

}  // namespace pixtral

#define PIXTRAL_OPS_LEVEL 0
#include "level_ops.h"

namespace pixtral {

const KernelSet& PortableKernelSet() {
  static const KernelSet set = {"portable", [] { return true; }, kPortableKernels, kOps, {}};
  return set;
}

}  // namespace pixtral
