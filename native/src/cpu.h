// Which instruction sets this CPU has, decided once at run time, so one build runs on any x86-64 (and the
// portable path anywhere else).
#pragma once
#include <string>

namespace pixtral {

enum class KernelLevel { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
};

const CpuFeatures& DetectCpu();
KernelLevel BestLevel();
// The level kernels use: the best available unless lowered (tests run every path on one machine).
KernelLevel ActiveLevel();
bool SetActiveLevel(KernelLevel level);  // false when the CPU cannot run it
const char* LevelName(KernelLevel level);

}  // namespace pixtral
