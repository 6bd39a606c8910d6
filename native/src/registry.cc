#include <atomic>
#include "kernel_set.h"

namespace pixtral {

const std::vector<const KernelSet*>& KernelSets() {
  static const std::vector<const KernelSet*> sets = {
#if defined(__x86_64__)
      &AmxKernelSet(),
      &Avx512KernelSet(),
      &Avx2KernelSet(),
#endif
      &PortableKernelSet(),
  };
  return sets;
}

const KernelSet& BestKernelSet() {
  static const KernelSet* best = [] {
    for (const KernelSet* set : KernelSets())
      if (set->supported()) return set;
    return &PortableKernelSet();
  }();
  return *best;
}

namespace {
std::atomic<const KernelSet*> active{nullptr};
}

const KernelSet& ActiveKernelSet() {
  const KernelSet* set = active.load(std::memory_order_relaxed);
  return set ? *set : BestKernelSet();
}

bool SelectKernelSet(const std::string& name) {
  for (const KernelSet* set : KernelSets())
    if (name == set->name) {
      if (!set->supported()) return false;
      active.store(set, std::memory_order_relaxed);
      return true;
    }
  return false;
}

}  // namespace pixtral
