// The machine's streaming read bandwidth, measured by a fixed probe: the yardstick decode speed is held to
// (decode reads every weight once per token, so it can go no faster than memory streams them).
#pragma once
#include <cstddef>

namespace pixtral {

struct BandwidthProbe {
  double best_gbps;    // best pass, 1e9 bytes per second
  double median_gbps;  // median pass
  int threads;
  int vector_bytes;  // width of the loads used (64 = AVX-512, 32 = AVX2, 16 = baseline)
};

// Reads a `bytes` buffer (touched first, huge pages where the kernel grants them) `passes` times with every
// thread of the pool, each streaming contiguous 16 MB chunks with the widest loads the CPU has.
BandwidthProbe ProbeReadBandwidth(size_t bytes, int passes);

}  // namespace pixtral
