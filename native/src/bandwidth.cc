#include "bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include "cpu.h"
#include "thread_pool.h"

namespace pixtral {
namespace {

// Each reader folds its bytes into one value the caller keeps, so the loads cannot be optimised away.
uint64_t ReadBaseline(const uint8_t* p, size_t n) {
  uint64_t a = 0, b = 0;
  for (size_t i = 0; i + 16 <= n; i += 16) {
    uint64_t x, y;
    std::memcpy(&x, p + i, 8);
    std::memcpy(&y, p + i + 8, 8);
    a ^= x;
    b ^= y;
  }
  return a ^ b;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t ReadAvx2(const uint8_t* p, size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a = _mm256_xor_si256(a, _mm256_load_si256((const __m256i*)(p + i)));
    b = _mm256_xor_si256(b, _mm256_load_si256((const __m256i*)(p + i + 32)));
    c = _mm256_xor_si256(c, _mm256_load_si256((const __m256i*)(p + i + 64)));
    d = _mm256_xor_si256(d, _mm256_load_si256((const __m256i*)(p + i + 96)));
  }
  __m256i x = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
  return uint64_t(_mm256_extract_epi64(x, 0) ^ _mm256_extract_epi64(x, 3));
}

__attribute__((target("avx512f"))) uint64_t ReadAvx512(const uint8_t* p, size_t n) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  for (size_t i = 0; i + 256 <= n; i += 256) {
    a = _mm512_xor_si512(a, _mm512_load_si512(p + i));
    b = _mm512_xor_si512(b, _mm512_load_si512(p + i + 64));
    c = _mm512_xor_si512(c, _mm512_load_si512(p + i + 128));
    d = _mm512_xor_si512(d, _mm512_load_si512(p + i + 192));
  }
  __m512i x = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
  return uint64_t(_mm512_reduce_or_epi64(x));
}
#endif

}  // namespace

BandwidthProbe ProbeReadBandwidth(size_t bytes, int passes) {
  constexpr size_t kAlign = size_t(2) << 20;
  bytes = std::max(kAlign, bytes / kAlign * kAlign);
  auto* buffer = static_cast<uint8_t*>(std::aligned_alloc(kAlign, bytes));
  BandwidthProbe probe{0, 0, ThreadPool::Instance().threads(), 16};
  if (!buffer) return probe;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(buffer, bytes, MADV_HUGEPAGE);
#endif
  uint64_t (*read)(const uint8_t*, size_t) = ReadBaseline;
#if defined(__x86_64__)
  const CpuFeatures& cpu = DetectCpu();
  if (cpu.avx512f) read = ReadAvx512, probe.vector_bytes = 64;
  else if (cpu.avx2) read = ReadAvx2, probe.vector_bytes = 32;
#endif
  // Contiguous 16 MB chunks claimed by whichever thread is free: every thread streams at its own pace.
  const size_t share = size_t(16) << 20;
  const int shares = int(bytes / share);
  ThreadPool::Instance().Run(shares, [&](int s) { std::memset(buffer + s * share, s + 1, share); });
  std::vector<uint64_t> sink(shares, 0);
  std::vector<double> rates;
  for (int pass = 0; pass < std::max(1, passes); pass++) {
    auto start = std::chrono::steady_clock::now();
    ThreadPool::Instance().Run(shares, [&](int s) { sink[s] ^= read(buffer + s * share, share); });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(double(share) * shares / seconds / 1e9);
  }
  std::free(buffer);
  std::sort(rates.begin(), rates.end());
  probe.best_gbps = rates.back();
  probe.median_gbps = rates[rates.size() / 2];
  uint64_t folded = 0;
  for (uint64_t v : sink) folded ^= v;
  if (folded == 0x5a5a5a5a5a5a5a5aull) probe.median_gbps += 1e-12;  // keeps the reads alive
  return probe;
}

}  // namespace pixtral
