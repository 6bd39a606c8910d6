#include "elementwise.h"

#include "kernel_set.h"

namespace pixtral {

void RmsNorm(const float* x, const float* weight, float* out, int rows, int width, float eps) {
  ActiveKernelSet().ops.rms_norm(x, weight, out, rows, width, eps);
}

void Rope(const float* x, float* out, int rows, int heads, int head_dim, const float* cos, const float* sin) {
  ActiveKernelSet().ops.rope(x, out, rows, heads, head_dim, cos, sin);
}

void SiluMul(const float* gate, const float* up, float* out, size_t count) {
  ActiveKernelSet().ops.silu_mul(gate, up, out, count);
}

void Gelu(const float* x, float* out, size_t count) { ActiveKernelSet().ops.gelu(x, out, count); }

void Add(const float* a, const float* b, float* out, size_t count) { ActiveKernelSet().ops.add(a, b, out, count); }

void ToHalf(const float* x, uint16_t* out, size_t count) { ActiveKernelSet().ops.to_half(x, out, count); }

}  // namespace pixtral
