// bf16 GEMM on vdpbf16ps, register-blocked: a micro-kernel holds 12 tokens × 32 output rows in 24 vectors.
// Weight rows are packed per task into 16-row panels of bf16 pairs (bf16_pairs.h): one 64-byte line holds the
// same two columns of 16 rows, so a line times a broadcast pair of one token's activations adds two products
// to each of 16 outputs, and the sums never need folding across lanes.
#include "dpbf16.h"

#include <algorithm>
#include <cstring>
#include <vector>
#include "bf16_pairs.h"
#include "thread_pool.h"

#if defined(__x86_64__)
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512bf16")
#include <immintrin.h>

namespace pixtral {
namespace {

// A task packs a band of 64 rows (128 KB at k = 1024, 512 KB at 4096: stays in L2) and runs a span of tokens
// through it, 12 at a time; the band's packing is paid once per span.
constexpr int kRowsPerTask = 64;
constexpr int kTokensPerTask = 4096;
constexpr int kMicroTokens = 12;
constexpr int kMinTokens = 16;  // below this the row kernels win (packing is per call)

// y[t][0..32) = Σ_m line_m(panel p) · pair_m(token t) for two adjacent panels (32 rows) and T tokens.
template <int T>
void MicroKernel(const uint16_t* xb, int k, const PairWord* panel0, const PairWord* panel1, float* y, int n) {
  __m512 acc0[T], acc1[T];
  for (int t = 0; t < T; t++) acc0[t] = acc1[t] = _mm512_setzero_ps();
  const PairWord* x = reinterpret_cast<const PairWord*>(xb);
  const int pairs = k / 2, x_stride = k / 2;
#pragma GCC unroll 2
  for (int m = 0; m < pairs; m++) {
    const __m512bh w0 = (__m512bh)_mm512_loadu_si512(panel0 + 16 * m);
    const __m512bh w1 = (__m512bh)_mm512_loadu_si512(panel1 + 16 * m);
    for (int t = 0; t < T; t++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(int(x[t * x_stride + m]));
      acc0[t] = _mm512_dpbf16_ps(acc0[t], w0, a);
      acc1[t] = _mm512_dpbf16_ps(acc1[t], w1, a);
    }
  }
  for (int t = 0; t < T; t++) {
    _mm512_storeu_ps(y + size_t(t) * n, acc0[t]);
    _mm512_storeu_ps(y + size_t(t) * n + 16, acc1[t]);
  }
}

void RunMicroKernel(int tokens, const uint16_t* xb, int k, const PairWord* panel0, const PairWord* panel1, float* y,
                    int n) {
  switch (tokens) {
    case 12: return MicroKernel<12>(xb, k, panel0, panel1, y, n);
    case 11: return MicroKernel<11>(xb, k, panel0, panel1, y, n);
    case 10: return MicroKernel<10>(xb, k, panel0, panel1, y, n);
    case 9: return MicroKernel<9>(xb, k, panel0, panel1, y, n);
    case 8: return MicroKernel<8>(xb, k, panel0, panel1, y, n);
    case 7: return MicroKernel<7>(xb, k, panel0, panel1, y, n);
    case 6: return MicroKernel<6>(xb, k, panel0, panel1, y, n);
    case 5: return MicroKernel<5>(xb, k, panel0, panel1, y, n);
    case 4: return MicroKernel<4>(xb, k, panel0, panel1, y, n);
    case 3: return MicroKernel<3>(xb, k, panel0, panel1, y, n);
    case 2: return MicroKernel<2>(xb, k, panel0, panel1, y, n);
    default: return MicroKernel<1>(xb, k, panel0, panel1, y, n);
  }
}

}  // namespace

void RoundRowsToBf16(const float* x, int tokens, int k, uint16_t* out) {
  ThreadPool::Instance().Run(tokens, [&](int t) {
    const float* src = x + size_t(t) * k;
    uint16_t* dst = out + size_t(t) * k;
    for (int i = 0; i < k; i += 32) {
      const __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
      _mm512_storeu_si512(dst + i, (__m512i)pair);
    }
  });
}

bool Dpbf16TakesMatmul(int tokens, int k, int n) { return tokens >= kMinTokens && k % 32 == 0 && n % 32 == 0; }

void MatmulDpbf16(const float* x, int tokens, int k, const uint16_t* w, int n, float* y) {
  // The bf16 activations, kept by the calling thread between calls (no fresh pages per matmul); the tasks reach
  // them through this reference.
  thread_local std::vector<uint16_t> xb_kept;
  std::vector<uint16_t>& xb = xb_kept;
  xb.resize(size_t(tokens) * k);
  RoundRowsToBf16(x, tokens, k, xb.data());
  const int bands = (n + kRowsPerTask - 1) / kRowsPerTask;
  const int spans = (tokens + kTokensPerTask - 1) / kTokensPerTask;
  const size_t panel_words = size_t(16) * k / 2;
  ThreadPool::Instance().Run(bands * spans, [&](int task) {
    const int n0 = (task / spans) * kRowsPerTask, rows = std::min(kRowsPerTask, n - n0);
    const int t0 = (task % spans) * kTokensPerTask, t1 = std::min(tokens, t0 + kTokensPerTask);
    thread_local std::vector<uint32_t> words;
    words.resize(size_t(rows) * k / 2);
    PairWord* packed = words.data();
    PackBf16Rows(w, k, n0, rows, packed);
    for (int t = t0; t < t1; t += kMicroTokens) {
      const int count = std::min(kMicroTokens, t1 - t);
      for (int r = 0; r < rows; r += 32)
        RunMicroKernel(count, xb.data() + size_t(t) * k, k, packed + (r / 16) * panel_words,
                       packed + (r / 16 + 1) * panel_words, y + size_t(t) * n + n0 + r, n);
    }
  });
}

}  // namespace pixtral

#else  // off x86-64 the AVX-512 set does not exist, so nothing calls these

namespace pixtral {
void RoundRowsToBf16(const float*, int, int, uint16_t*) {}
bool Dpbf16TakesMatmul(int, int, int) { return false; }
void MatmulDpbf16(const float*, int, int, const uint16_t*, int, float*) {}
}  // namespace pixtral

#endif
