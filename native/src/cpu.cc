#include "cpu.h"

#include <cstdlib>
#include <cstring>

namespace pixtral {

const CpuFeatures& DetectCpu() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f.intel = __builtin_cpu_is("intel");
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.f16c = true;  // every AVX2 CPU has F16C; only used on that path
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
    return f;
  }();
  return features;
}

namespace {

// Measured with 8-layer 12B-shaped q4 decode (`pixtral bench --synthetic 12b --layers 8 --tests tg32@0`, AVX-512):
// on an Intel Xeon (Granite Rapids class) prefetcht0 at 4 KB gave 14.1 tok/s and prefetcht1 at 3 KB 16.5 (2–4 KB
// within 3%): an L1 prefetch holds one of the core's few L1 fill buffers until its line arrives, an L2 one does not.
// On AMD Zen 4/5 prefetcht0 at 2–16 KB all reached ~92% of the bandwidth probe, and Zen 4 takes prefetcht1 into
// L2 only and has been reported to drop some (arXiv 2411.02814), so AMD (and any other vendor) keeps that choice
// until prefetcht1 is measured there (PIXTRAL_PREFETCH=l2:3072).
WeightPrefetch DecideWeightPrefetch() {
  WeightPrefetch policy = DetectCpu().intel ? WeightPrefetch{3072, true} : WeightPrefetch{4096, false};
  if (const char* env = std::getenv("PIXTRAL_PREFETCH")) {
    const bool l1 = std::strncmp(env, "l1:", 3) == 0, l2 = std::strncmp(env, "l2:", 3) == 0;
    const long ahead = (l1 || l2) ? std::strtol(env + 3, nullptr, 10) : 0;
    if (ahead >= 64 && ahead <= (1 << 20)) policy = WeightPrefetch{int(ahead), l2};
  }
  return policy;
}

}  // namespace

const WeightPrefetch kWeightPrefetch = DecideWeightPrefetch();

}  // namespace pixtral
