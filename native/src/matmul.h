// y[t, o] = Σ_i x[t, i] · W[o, i] for a weight matrix stored as bf16 rows or q8/q4 blocks.
#pragma once
#include <cstdint>
#include "formats.h"

namespace pixtral {

// bf16_activations: bf16 weights may meet activations rounded to bf16 (the AMX path; results move at bf16
// precision). Quantized weights always meet the same int8 activations, whichever path runs.
void Matmul(WeightFormat format, const float* x, int tokens, int k, const uint8_t* w, int n, float* y,
            bool bf16_activations = false);

// Rewrites q4 / q8 rows [n, k] as 16-row panels (kQ4P / kQ8P) in place when the active kernel level prefers
// them and n is a whole number of panels; false, and nothing changed, otherwise.
bool PackPanels(WeightFormat rows_format, uint8_t* w, int n, int k);

// Quantizes rows of a float32 matrix [rows, k] into `out` (rows × RowBytes(format, k) bytes).
void QuantizeMatrix(WeightFormat format, const float* src, int rows, int k, uint8_t* out);

}  // namespace pixtral
