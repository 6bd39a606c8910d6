// The matmul inner loops, one table per instruction-set level (part of that level's KernelSet): the dot product
// of one weight row (bf16, q8 or q4) with one activation row, and micro-kernels over several tokens or rows.
// Everything around them (threads, tiling, quantizing activations) is shared.
#pragma once
#include <cstdint>
#include "cpu.h"
#include "formats.h"

namespace pixtral {

// The weight loops ask for the line kWeightPrefetch.ahead bytes on (cpu.h: how far and into which cache was measured
// per vendor); the branch is the same every time, so it costs nothing next to a block's work.
static inline void PrefetchAhead(const void* p) {
  const char* line = static_cast<const char*>(p) + kWeightPrefetch.ahead;
  if (kWeightPrefetch.into_l2) __builtin_prefetch(line, 0, 2);
  else __builtin_prefetch(line, 0, 3);
}

// Tokens one multi-token call handles: the weight row is loaded (and unpacked) once for all of them.
constexpr int kMaxTokens = 4;

struct Kernels {
  float (*dot_bf16)(const float* x, const uint16_t* w, int k);
  float (*dot_q8)(ActivationView x, const uint8_t* row, int k);  // x in block order
  float (*dot_q4)(ActivationView x, const uint8_t* row, int k);  // x in split order
  // out[t·out_stride] = row · x[t] for t < tokens (1..kMaxTokens).
  void (*multi_bf16)(const float* x, size_t x_stride, int tokens, const uint16_t* w, int k, float* out,
                     size_t out_stride);
  void (*multi_q8)(const ActivationView* x, int tokens, const uint8_t* row, int k, float* out, size_t out_stride);
  void (*multi_q4)(const ActivationView* x, int tokens, const uint8_t* row, int k, float* out, size_t out_stride);
  // Four adjacent weight rows (row + r·row_bytes) × 2..kMaxTokens tokens: out[t·out_stride + r]. Null where a
  // level has none (the driver then goes row by row). One token goes row by row everywhere: a lone row streams
  // its nibbles and scales as two sequential reads, which measured faster than four rows' eight.
  void (*quad_q4)(const ActivationView* x, int tokens, const uint8_t* row, size_t row_bytes, int k, float* out,
                  size_t out_stride);
  // Four adjacent bf16 rows × up to kMaxTokens tokens (float activations are the bandwidth: load each once
  // for four rows). out[t·out_stride + r]. Null where a level has none.
  void (*quad_bf16)(const float* x, size_t x_stride, int tokens, const uint16_t* w, int k, float* out,
                    size_t out_stride);
  // ggml K-quant super-blocks as stored, against activations in block order (x.offset8 = 8·Σq·scale per block,
  // from which the Q4_K/Q5_K mins and the Q6_K offset are taken out).
  float (*dot_q4k)(ActivationView x, const uint8_t* row, int k);
  float (*dot_q5k)(ActivationView x, const uint8_t* row, int k);
  float (*dot_q6k)(ActivationView x, const uint8_t* row, int k);
  // IEEE half weights against float activations.
  float (*dot_f16)(const float* x, const uint16_t* w, int k);
  // A q4 / q8 panel (16 rows, formats.h) × 1..kPanelTokens tokens — x in split order for q4, block order (with
  // offsets) for q8: out[t·out_stride + r].
  void (*panel_q4)(const ActivationView* x, int tokens, const uint8_t* panel, int k, float* out, size_t out_stride);
  void (*panel_q8)(const ActivationView* x, int tokens, const uint8_t* panel, int k, float* out, size_t out_stride);
  // Whether q4/q8 matrices should be made into panels at load on this level (its panel kernels beat its rows').
  bool prefers_panels;
};

// Multi-token calls made of single-token ones, for levels without a dedicated micro-kernel.
template <float (*Dot)(const float*, const uint16_t*, int)>
void MultiBf16ByOne(const float* x, size_t x_stride, int tokens, const uint16_t* w, int k, float* out,
                    size_t out_stride) {
  for (int t = 0; t < tokens; t++) out[t * out_stride] = Dot(x + t * x_stride, w, k);
}

template <float (*Dot)(ActivationView, const uint8_t*, int)>
void MultiQuantByOne(const ActivationView* x, int tokens, const uint8_t* row, int k, float* out, size_t out_stride) {
  for (int t = 0; t < tokens; t++) out[t * out_stride] = Dot(x[t], row, k);
}

// Weight rows → q8 / q4 blocks (activations are quantized per level: OpKernels::quantize_activations).
void QuantizeRowQ8(const float* x, uint8_t* row, int k);
void QuantizeRowQ4(const float* x, uint8_t* row, int k);

}  // namespace pixtral
