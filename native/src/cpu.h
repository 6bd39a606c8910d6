// Which instruction sets this CPU has, decided once at run time, so one build runs on any x86-64 (and the
// portable path anywhere else). The kernel sets (kernel_set.h) say which of these they need.
#pragma once

namespace pixtral {

struct CpuFeatures {
  bool intel = false;  // the vendor: decides the weight prefetch (below)
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
};

const CpuFeatures& DetectCpu();

// How the weight loops prefetch (decode streams every weight once, and one core's hardware prefetcher alone leaves
// it well short of what a core can pull): this many bytes ahead, into L1 (prefetcht0) or only into L2 (prefetcht1).
// Decided once from the vendor, or from PIXTRAL_PREFETCH ("l1:4096", "l2:3072") to measure another choice.
struct WeightPrefetch {
  int ahead;
  bool into_l2;
};
extern const WeightPrefetch kWeightPrefetch;

}  // namespace pixtral
