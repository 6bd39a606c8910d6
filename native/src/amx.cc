#include "amx.h"

#include "cpu.h"
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
  if (!(bf16 && tile && int8 && DetectCpu().avx512bf16 && BestLevel() == KernelLevel::kAvx512)) return false;
  constexpr long kReqXcompPerm = 0x1023, kXfeatureTileData = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureTileData) == 0;
#else
  return false;
#endif
}

bool active = AmxAvailable();

}  // namespace

bool AmxAvailable() {
  static const bool available = Detect();
  return available;
}

bool AmxActive() { return active && ActiveLevel() == KernelLevel::kAvx512; }

bool SetAmxActive(bool on) {
  if (on && !AmxAvailable()) return false;
  active = on;
  return true;
}

}  // namespace pixtral
