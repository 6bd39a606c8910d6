// The AMX kernel set (Sapphire Rapids and later): the AVX-512 set, plus the tile unit for the matmuls and the
// unmasked attentions it takes (prompt processing and vision; decode stays on the AVX-512 kernels).
#if defined(__x86_64__)
#include "amx.h"
#include "attention_amx.h"
#include "kernel_set.h"
#include "matmul_amx.h"

namespace pixtral {

const KernelSet& AmxKernelSet() {
  static const KernelSet set = [] {
    KernelSet amx = Avx512KernelSet();
    amx.name = "amx";
    amx.supported = AmxAvailable;
    amx.dot.prefers_panels = false;  // the tile unit takes q8/q4 rows for prompts
    amx.accelerator = {AmxTakesMatmul,    MatmulAmxBf16, MatmulAmxQuant, kAmxTokenStep,
                       AmxTakesAttention, AttentionAmx};
    return amx;
  }();
  return set;
}

}  // namespace pixtral
#endif
