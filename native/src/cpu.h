// Which instruction sets this CPU has, decided once at run time, so one build runs on any x86-64 (and the
// portable path anywhere else). The kernel sets (kernel_set.h) say which of these they need.
#pragma once

namespace pixtral {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
};

const CpuFeatures& DetectCpu();

}  // namespace pixtral
