// Float math written so GCC vectorizes it at whichever level includes it (level_ops.h): a fast exp for softmax.
#pragma once
#include <cstdint>
#include <cstring>

namespace pixtral {

// exp(x) for x ≤ 0 (softmax after subtracting the max), relative error < 2e-7: 2^n · p(r) with a degree-6
// polynomial on |r| ≤ ln2/2. Branch-free so loops over it vectorize.
static inline float FastExp(float x) {
  x = x < -87.0f ? -87.0f : x;
  float n = __builtin_rintf(x * 1.44269504088896341f);
  float r = x - n * 0.693145751953125f - n * 1.428606765330187045e-06f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

}  // namespace pixtral
