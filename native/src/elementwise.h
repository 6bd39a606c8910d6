// The small operations between matmuls — norms, rotations, activations — in native code so one layer makes no
// per-element JavaScript calls. Same arithmetic as the reference backend, vectorized and split across cores.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pixtral {

void RmsNorm(const float* x, const float* weight, float* out, int rows, int width, float eps);
void Rope(const float* x, float* out, int rows, int heads, int head_dim, const float* cos, const float* sin);
void SiluMul(const float* gate, const float* up, float* out, size_t count);
void Gelu(const float* x, float* out, size_t count);
void Add(const float* a, const float* b, float* out, size_t count);
// float → IEEE half, round to nearest even: what the f16 KV cache stores.
void ToHalf(const float* x, uint16_t* out, size_t count);

}  // namespace pixtral
