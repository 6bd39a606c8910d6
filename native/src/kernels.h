// The inner loops, one set per instruction-set level: dot products of one weight row (bf16, q8 or q4 blocks)
// with one activation row. Everything around them (threads, tiling, quantizing activations) is shared.
#pragma once
#include <cstdint>
#include "cpu.h"
#include "formats.h"

namespace pixtral {

struct Kernels {
  float (*dot_bf16)(const float* x, const uint16_t* w, int k);
  float (*dot_q8)(const ActivationBlock* x, const BlockQ8* w, int blocks);
  float (*dot_q4)(const ActivationBlock* x, const BlockQ4* w, int blocks);
};

const Kernels& KernelsFor(KernelLevel level);

// Shared by every level so all paths see identical int8 activations: per block, scale = max|x| / 127.
void QuantizeActivations(const float* x, ActivationBlock* out, int k);
void QuantizeRowQ8(const float* x, BlockQ8* out, int k);
void QuantizeRowQ4(const float* x, BlockQ4* out, int k);

extern const Kernels kPortableKernels;
#if defined(__x86_64__)
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
#endif

}  // namespace pixtral
