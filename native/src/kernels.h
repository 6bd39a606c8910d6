// The inner loops, one set per instruction-set level: the dot product of one weight row (bf16, q8 or q4)
// with one activation row. Everything around them (threads, tiling, quantizing activations) is shared.
#pragma once
#include <cstdint>
#include "cpu.h"
#include "formats.h"

namespace pixtral {

struct Kernels {
  float (*dot_bf16)(const float* x, const uint16_t* w, int k);
  float (*dot_q8)(ActivationView x, const uint8_t* row, int k);  // x in block order
  float (*dot_q4)(ActivationView x, const uint8_t* row, int k);  // x in split order
};

const Kernels& KernelsFor(KernelLevel level);

// Shared by every level so all paths see identical int8 activations.
void QuantizeActivations(const float* x, int k, bool split, int8_t* q, float* scale, float* offset8);
void QuantizeRowQ8(const float* x, uint8_t* row, int k);
void QuantizeRowQ4(const float* x, uint8_t* row, int k);

extern const Kernels kPortableKernels;
#if defined(__x86_64__)
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
#endif

}  // namespace pixtral
