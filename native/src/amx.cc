#include "amx.h"

#include "kernel_set.h"
#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace pixtral {
namespace {

bool Detect() {
#if defined(__x86_64__) && defined(__linux__)
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool bf16 = edx & (1u << 22), tile = edx & (1u << 24), int8 = edx & (1u << 25);
  // The AMX kernels run their softmax and packing in AVX-512 (with BF16 conversions).
  if (!(bf16 && tile && int8 && DetectCpu().avx512bf16 && Avx512KernelSet().supported())) return false;
  constexpr long kReqXcompPerm = 0x1023, kXfeatureTileData = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureTileData) == 0;
#else
  return false;
#endif
}

}  // namespace

bool AmxAvailable() {
  static const bool available = Detect();
  return available;
}

}  // namespace pixtral
