// The q4- and q8-panel micro-kernels written plainly (see formats.h for the layout), for the levels without a hand-written
// one: each level file that includes it after its `#pragma GCC target` gets its own vectorized copy, so a model
// whose q4 matrices were made into panels at load runs on every level. Everything here is `static`.
#pragma once
#include "formats.h"

namespace pixtral {

// out[t·out_stride + r] = (row r of the panel) · x[t] for the panel's 16 rows and tokens t < `tokens`
// (1..kPanelTokens); x in split order with its per-block offsets, as for q4 rows.
static inline void PanelQ4Plain(const ActivationView* x, int tokens, const uint8_t* panel, int k, float* out,
                                size_t out_stride) {
  const int blocks = k / kBlock;
  float acc[kPanelTokens][kPanelRows] = {};
  for (int b = 0; b < blocks; b++) {
    const uint8_t* p = panel + size_t(b) * kQ4PanelBlockBytes;
    const size_t low = SplitIndex(b, 0, blocks), high = SplitIndex(b, 16, blocks);
    float ws[kPanelRows];
    for (int r = 0; r < kPanelRows; r++) ws[r] = F16ToF32(uint16_t(p[256 + 2 * r] | p[257 + 2 * r] << 8));
    for (int t = 0; t < tokens; t++) {
      int32_t dot[kPanelRows] = {};
      for (int m = 0; m < 4; m++)
        for (int r = 0; r < kPanelRows; r++)
          for (int j = 0; j < 4; j++) {
            const uint8_t byte = p[64 * m + 4 * r + j];
            dot[r] += (byte & 15) * x[t].q[low + 4 * m + j] + (byte >> 4) * x[t].q[high + 4 * m + j];
          }
      for (int r = 0; r < kPanelRows; r++)
        acc[t][r] += (float(dot[r]) * x[t].scale[b] - x[t].offset8[b]) * ws[r];
    }
  }
  for (int t = 0; t < tokens; t++)
    for (int r = 0; r < kPanelRows; r++) out[t * out_stride + r] = acc[t][r];
}

// As PanelQ4Plain for a q8 panel (values stored +128), x in block order with its per-block offsets: the +128
// comes off as 16·offset8 (= 128·Σq·scale) per block.
static inline void PanelQ8Plain(const ActivationView* x, int tokens, const uint8_t* panel, int k, float* out,
                                size_t out_stride) {
  const int blocks = k / kBlock;
  float acc[kPanelTokens][kPanelRows] = {};
  for (int b = 0; b < blocks; b++) {
    const uint8_t* p = panel + size_t(b) * kQ8PanelBlockBytes;
    float ws[kPanelRows];
    for (int r = 0; r < kPanelRows; r++) ws[r] = F16ToF32(uint16_t(p[512 + 2 * r] | p[513 + 2 * r] << 8));
    for (int t = 0; t < tokens; t++) {
      const int8_t* xq = x[t].q + size_t(b) * kBlock;
      int32_t dot[kPanelRows] = {};
      for (int m = 0; m < 8; m++)
        for (int r = 0; r < kPanelRows; r++)
          for (int j = 0; j < 4; j++) dot[r] += p[64 * m + 4 * r + j] * xq[4 * m + j];
      for (int r = 0; r < kPanelRows; r++)
        acc[t][r] += (float(dot[r]) * x[t].scale[b] - 16.0f * x[t].offset8[b]) * ws[r];
    }
  }
  for (int t = 0; t < tokens; t++)
    for (int r = 0; r < kPanelRows; r++) out[t * out_stride + r] = acc[t][r];
}

}  // namespace pixtral
