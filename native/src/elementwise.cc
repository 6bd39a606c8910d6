#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include "thread_pool.h"
#include "vector_math.h"

namespace pixtral {
namespace {

constexpr size_t kChunk = 1 << 16;  // elements per task: big enough that handing out work costs nothing

template <typename Body>
void ParallelChunks(size_t count, Body body) {
  int tasks = int((count + kChunk - 1) / kChunk);
  ThreadPool::Instance().Run(tasks, [&](int t) {
    size_t begin = size_t(t) * kChunk;
    body(begin, std::min(count, begin + kChunk));
  });
}

// exp for any float (clamped where float overflows), vectorizable.
inline float ExpAny(float x) { return FastExp(x > 88.0f ? 88.0f : x); }

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26), branch-free.
inline float Erf(float x) {
  float a = std::fabs(x);
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) *
                       t * FastExp(-a * a);
  return std::copysign(y, x);
}

PIXTRAL_MULTIVERSION void RmsNormRows(const float* x, const float* w, float* out, int begin, int end, int width,
                                      float eps) {
  for (int r = begin; r < end; r++) {
    const float* xr = x + size_t(r) * width;
    float* o = out + size_t(r) * width;
    double squares = 0;
    for (int i = 0; i < width; i++) squares += double(xr[i]) * xr[i];
    // As the reference: normalise in float32, then scale by the weight.
    const float inv = float(1.0 / std::sqrt(double(float(squares / width)) + eps));
    for (int i = 0; i < width; i++) o[i] = (xr[i] * inv) * w[i];
  }
}

PIXTRAL_MULTIVERSION void RopeRows(const float* x, float* out, int begin, int end, int heads, int head_dim,
                                   const float* cos, const float* sin) {
  const int pairs = head_dim / 2, width = heads * head_dim;
  for (int t = begin; t < end; t++)
    for (int h = 0; h < heads; h++) {
      const size_t base = size_t(t) * width + size_t(h) * head_dim;
      const float* c = cos + size_t(t) * pairs;
      const float* s = sin + size_t(t) * pairs;
      for (int p = 0; p < pairs; p++) {
        const float a = x[base + 2 * p], b = x[base + 2 * p + 1];
        out[base + 2 * p] = a * c[p] - b * s[p];
        out[base + 2 * p + 1] = a * s[p] + b * c[p];
      }
    }
}

PIXTRAL_MULTIVERSION void SiluMulRange(const float* g, const float* u, float* out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = (g[i] / (1.0f + ExpAny(-g[i]))) * u[i];
}

PIXTRAL_MULTIVERSION void GeluRange(const float* x, float* out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = 0.5f * x[i] * (1.0f + Erf(x[i] * 0.70710678118654752f));
}

PIXTRAL_MULTIVERSION void AddRange(const float* a, const float* b, float* out, size_t begin, size_t end) {
  for (size_t i = begin; i < end; i++) out[i] = a[i] + b[i];
}

template <typename Rows>
void ParallelRows(int rows, int width, Rows body) {
  const int per_task = std::max(1, int(kChunk / std::max(1, width)));
  const int tasks = (rows + per_task - 1) / per_task;
  ThreadPool::Instance().Run(tasks, [&](int t) { body(t * per_task, std::min(rows, (t + 1) * per_task)); });
}

}  // namespace

void RmsNorm(const float* x, const float* weight, float* out, int rows, int width, float eps) {
  ParallelRows(rows, width, [&](int b, int e) { RmsNormRows(x, weight, out, b, e, width, eps); });
}

void Rope(const float* x, float* out, int rows, int heads, int head_dim, const float* cos, const float* sin) {
  ParallelRows(rows, heads * head_dim, [&](int b, int e) { RopeRows(x, out, b, e, heads, head_dim, cos, sin); });
}

void SiluMul(const float* gate, const float* up, float* out, size_t count) {
  ParallelChunks(count, [&](size_t b, size_t e) { SiluMulRange(gate, up, out, b, e); });
}

void Gelu(const float* x, float* out, size_t count) {
  ParallelChunks(count, [&](size_t b, size_t e) { GeluRange(x, out, b, e); });
}

void Add(const float* a, const float* b, float* out, size_t count) {
  ParallelChunks(count, [&](size_t s, size_t e) { AddRange(a, b, out, s, e); });
}

}  // namespace pixtral
