#include "matmul.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>
#include "kernels.h"
#include "kernel_set.h"
#include "thread_pool.h"

namespace pixtral {

namespace {

// Tokens processed against one weight row before moving on: the activation tile stays in L2 while
// each weight row is read from memory once per tile.
constexpr int kTokenTile = 32;
// Output rows per task: large enough to amortise the hand-out, small enough to balance two cores.
constexpr int kRowsPerTask = 64;

// Claims units of work from per-thread ranges: each thread walks its own contiguous range front to back, and a
// thread whose range is done takes units from the back of another's. Weights are read as one long stream per core
// (the hardware prefetcher and our fixed-distance prefetch both run ahead within it), where claiming the next
// unit from one shared counter had each core jump over the other's unit every few panels; taking from the back
// keeps the balancing a VM needs when a core stalls.
class StealingRanges {
 public:
  static constexpr int kMaxRanges = 64;
  StealingRanges(int units, int ranges) : ranges_(ranges) {
    for (int r = 0; r < ranges; r++) {
      const uint32_t front = uint32_t(int64_t(units) * r / ranges), back = uint32_t(int64_t(units) * (r + 1) / ranges);
      state_[r].store(Pack(front, back), std::memory_order_relaxed);
    }
  }
  // The next unit for the thread that owns `range`, or -1 when every range is empty.
  int Next(int range) {
    for (int i = 0; i < ranges_; i++) {
      const int r = (range + i) % ranges_;
      const bool own = i == 0;
      uint64_t s = state_[r].load(std::memory_order_relaxed);
      for (;;) {
        const uint32_t front = uint32_t(s >> 32), back = uint32_t(s);
        if (front >= back) break;
        const uint64_t next = own ? Pack(front + 1, back) : Pack(front, back - 1);
        if (state_[r].compare_exchange_weak(s, next, std::memory_order_relaxed)) return int(own ? front : back - 1);
      }
    }
    return -1;
  }

 private:
  static uint64_t Pack(uint32_t front, uint32_t back) { return uint64_t(front) << 32 | back; }
  std::atomic<uint64_t> state_[kMaxRanges];
  int ranges_;
};

// Runs unit(u) for every u in [0, units) across the pool, each core walking a range of its own (StealingRanges).
template <typename Unit>
void ForEachUnit(int units, Unit unit) {
  ThreadPool& pool = ThreadPool::Instance();
  const int ranges = std::max(1, std::min({pool.threads(), units, StealingRanges::kMaxRanges}));
  StealingRanges claims(units, ranges);
  pool.Run(ranges, [&](int range) {
    for (int u; (u = claims.Next(range)) >= 0;) unit(u);
  });
}

// Calls body(t0, count, o) for every output row o and every group of up to kMaxTokens tokens, rows split
// across the cores; within a task the token tile is reused for each weight row.
template <typename Body>
void ForEachOutput(int tokens, int n, Body body) {
  ForEachUnit((n + kRowsPerTask - 1) / kRowsPerTask, [&](int task) {
    int begin = task * kRowsPerTask, end = std::min(n, begin + kRowsPerTask);
    for (int t0 = 0; t0 < tokens; t0 += kTokenTile) {
      int t1 = std::min(tokens, t0 + kTokenTile);
      for (int o = begin; o < end; o++)
        for (int t = t0; t < t1; t += kMaxTokens) body(t, std::min(kMaxTokens, t1 - t), o);
    }
  });
}

// As ForEachOutput, `group` output rows per call where the task has them (fewer at the task's end).
template <typename Body>
void ForEachOutputRows(int tokens, int n, int group, Body body) {
  ForEachUnit((n + kRowsPerTask - 1) / kRowsPerTask, [&](int task) {
    int begin = task * kRowsPerTask, end = std::min(n, begin + kRowsPerTask);
    for (int t0 = 0; t0 < tokens; t0 += kTokenTile) {
      int t1 = std::min(tokens, t0 + kTokenTile);
      for (int o = begin; o < end; o += group)
        for (int t = t0; t < t1; t += kMaxTokens) body(t, std::min(kMaxTokens, t1 - t), o, std::min(group, end - o));
    }
  });
}

// Calls body(t, count, o) for the panel starting at output row o and up to kPanelTokens tokens from t; panels
// go to the cores a few at a time, tokens tiled so a tile's activations stay in L2 while its panels stream past
// (within a tile each panel is read once, from memory, for all the tile's tokens).
template <typename Body>
void ForEachPanel(int tokens, int n, Body body) {
  constexpr int kPanelsPerTask = kRowsPerTask / kPanelRows;
  constexpr int kPanelTokenTile = 64;
  const int panels = n / kPanelRows;
  ForEachUnit((panels + kPanelsPerTask - 1) / kPanelsPerTask, [&](int task) {
    const int begin = task * kPanelsPerTask, end = std::min(panels, begin + kPanelsPerTask);
    for (int t0 = 0; t0 < tokens; t0 += kPanelTokenTile) {
      const int t1 = std::min(tokens, t0 + kPanelTokenTile);
      for (int p = begin; p < end; p++)
        for (int t = t0; t < t1; t += kPanelTokens) body(t, std::min(kPanelTokens, t1 - t), p * kPanelRows);
    }
  });
}

}  // namespace

bool PackPanels(WeightFormat rows_format, uint8_t* w, int n, int k) {
  if (!ActiveKernelSet().dot.prefers_panels || n % kPanelRows != 0 || k % kBlock != 0) return false;
  const size_t panel_bytes = kPanelRows * RowBytes(rows_format, k);
  ThreadPool::Instance().Run(n / kPanelRows, [&](int p) {
    thread_local std::vector<uint8_t> scratch;
    scratch.resize(panel_bytes);
    PackPanel(rows_format, w + size_t(p) * panel_bytes, k, scratch.data());
  });
  return true;
}

void Matmul(WeightFormat format, const float* x, int tokens, int k, const uint8_t* w, int n, float* y,
            bool bf16_activations) {
  const KernelSet& set = ActiveKernelSet();
  const Kernels& kernels = set.dot;
  const AcceleratorKernels& unit = set.accelerator;
  size_t row_bytes = RowBytes(format, k);
  // A matrix unit takes bf16 weights only when the caller accepts bf16 activations; quantized ones always
  // (same int8 activations, same products).
  if (format == WeightFormat::kF16) {
    ForEachOutput(tokens, n, [&](int t, int count, int o) {
      for (int i = 0; i < count; i++)
        y[size_t(t + i) * n + o] =
            kernels.dot_f16(x + size_t(t + i) * k, reinterpret_cast<const uint16_t*>(w + o * row_bytes), k);
    });
    return;
  }
  const bool accelerated = !IsKQuant(format) && !IsPanels(format) && unit.takes_matmul && unit.takes_matmul(tokens, k, n) &&
                           (format == WeightFormat::kBf16 ? bf16_activations && unit.matmul_bf16 != nullptr
                                                           : unit.matmul_quant != nullptr);
  if (format == WeightFormat::kBf16 && accelerated) {
    unit.matmul_bf16(x, tokens, k, reinterpret_cast<const uint16_t*>(w), n, y);
    return;
  }
  if (format == WeightFormat::kBf16 && kernels.quad_bf16 && tokens > 1) {
    ForEachOutputRows(tokens, n, 4, [&](int t, int count, int o, int rows) {
      const uint16_t* row = (const uint16_t*)(w + o * row_bytes);
      if (rows == 4) kernels.quad_bf16(x + size_t(t) * k, size_t(k), count, row, k, y + size_t(t) * n + o, size_t(n));
      else
        for (int r = 0; r < rows; r++)
          kernels.multi_bf16(x + size_t(t) * k, size_t(k), count, row + size_t(r) * k, k, y + size_t(t) * n + o + r,
                             size_t(n));
    });
    return;
  }
  if (format == WeightFormat::kBf16) {
    ForEachOutput(tokens, n, [&](int t, int count, int o) {
      kernels.multi_bf16(x + size_t(t) * k, size_t(k), count, (const uint16_t*)(w + o * row_bytes), k,
                         y + size_t(t) * n + o, size_t(n));
    });
    return;
  }
  // Activations are quantized once per matmul, not per weight row.
  const int blocks = k / kBlock;
  const bool q4 = format == WeightFormat::kQ4 || format == WeightFormat::kQ4P;
  // The matrix unit reads whole token steps (padding rows stay zero) and wants q4 activations in block order.
  const size_t step = size_t(unit.quant_token_step);
  const size_t rows = accelerated ? (size_t(tokens) + step - 1) / step * step : size_t(tokens);
  const bool split = q4 && !accelerated;
  // Per-block Σx (as offset8) for q4's +8 nibbles and the K-quants' mins and offsets.
  const bool sums = split || IsKQuant(format) || format == WeightFormat::kQ8P;
  std::vector<int8_t> q(rows * k);
  std::vector<float> scales(rows * blocks), offsets(sums ? size_t(tokens) * blocks : 0);
  ThreadPool::Instance().Run(tokens, [&](int t) {
    set.ops.quantize_activations(x + size_t(t) * k, k, split, &q[size_t(t) * k], &scales[size_t(t) * blocks],
                                 sums ? &offsets[size_t(t) * blocks] : nullptr);
  });
  if (accelerated) {
    unit.matmul_quant(format, q.data(), scales.data(), tokens, k, w, n, y);
    return;
  }
  std::vector<ActivationView> views(tokens);
  for (int t = 0; t < tokens; t++)
    views[t] = {&q[size_t(t) * k], &scales[size_t(t) * blocks], sums ? &offsets[size_t(t) * blocks] : nullptr};
  if (IsPanels(format)) {
    auto panel = format == WeightFormat::kQ4P ? kernels.panel_q4 : kernels.panel_q8;
    ForEachPanel(tokens, n, [&](int t, int count, int o) {
      panel(&views[t], count, w + o * row_bytes, k, y + size_t(t) * n + o, size_t(n));
    });
    return;
  }
  if (IsKQuant(format)) {
    auto dot = format == WeightFormat::kQ4K ? kernels.dot_q4k
               : format == WeightFormat::kQ5K ? kernels.dot_q5k
                                              : kernels.dot_q6k;
    ForEachOutput(tokens, n, [&](int t, int count, int o) {
      for (int i = 0; i < count; i++) y[size_t(t + i) * n + o] = dot(views[t + i], w + o * row_bytes, k);
    });
    return;
  }
  auto multi = q4 ? kernels.multi_q4 : kernels.multi_q8;
  if (q4 && kernels.quad_q4 && tokens > 1) {
    // Rows four at a time (the rows a task has left over one by one), every token group reusing them.
    ForEachOutputRows(tokens, n, 4, [&](int t, int count, int o, int rows) {
      if (rows == 4 && count > 1)
        kernels.quad_q4(&views[t], count, w + o * row_bytes, row_bytes, k, y + size_t(t) * n + o, size_t(n));
      else
        for (int r = 0; r < rows; r++)
          multi(&views[t], count, w + (o + r) * row_bytes, k, y + size_t(t) * n + o + r, size_t(n));
    });
    return;
  }
  ForEachOutput(tokens, n, [&](int t, int count, int o) {
    multi(&views[t], count, w + o * row_bytes, k, y + size_t(t) * n + o, size_t(n));
  });
}

void QuantizeMatrix(WeightFormat format, const float* src, int rows, int k, uint8_t* out) {
  size_t row_bytes = RowBytes(format, k);
  ThreadPool::Instance().Run(rows, [&](int r) {
    const float* row = src + size_t(r) * k;
    if (format == WeightFormat::kQ8) QuantizeRowQ8(row, out + r * row_bytes, k);
    else QuantizeRowQ4(row, out + r * row_bytes, k);
  });
}

}  // namespace pixtral
