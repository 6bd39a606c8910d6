#include "attention.h"

#include <algorithm>
#include <cmath>
#include <vector>
#include "thread_pool.h"
#include "vector_math.h"

namespace pixtral {
namespace {

constexpr int kQueryBlock = 8;   // queries of one head processed against each key tile
constexpr int kKeyTile = 64;     // keys whose scores live at once

struct Shape {
  int queries, keys, heads, kv_heads, head_dim, query_start;
  float scale;
};

PIXTRAL_MULTIVERSION
void Scores(const float* q_rows, int q_stride, int rows, const float* k, int k_stride, int count, int head_dim,
            float scale, float* scores) {
  for (int r = 0; r < rows; r++) {
    const float* qr = q_rows + size_t(r) * q_stride;
    for (int j = 0; j < count; j++) {
      const float* kj = k + size_t(j) * k_stride;
      float dot = 0;
      for (int d = 0; d < head_dim; d++) dot += qr[d] * kj[d];
      scores[r * kKeyTile + j] = dot * scale;
    }
  }
}

PIXTRAL_MULTIVERSION
void ExpInPlace(float* x, int count, float max, float* sum) {
  float s = 0;
  for (int j = 0; j < count; j++) {
    x[j] = FastExp(x[j] - max);
    s += x[j];
  }
  *sum = s;
}

PIXTRAL_MULTIVERSION
void ScaleAndAccumulate(float* acc, float correction, const float* p, int count, const float* v, int v_stride,
                        int head_dim) {
  for (int d = 0; d < head_dim; d++) acc[d] *= correction;
  for (int j = 0; j < count; j++) {
    const float pj = p[j];
    const float* vj = v + size_t(j) * v_stride;
    for (int d = 0; d < head_dim; d++) acc[d] += pj * vj[d];
  }
}

// One task: query heads [head, head+1) sharing kv head kvh, queries [t0, t1).
void AttendBlock(const Shape& s, const float* q, const float* k, const float* v, float* out, int head, int t0,
                 int t1) {
  const int d = s.head_dim, q_stride = s.heads * d, kv_stride = s.kv_heads * d;
  const int kvh = head / (s.heads / s.kv_heads);
  const int rows = t1 - t0;
  std::vector<float> scores(size_t(rows) * kKeyTile), acc(size_t(rows) * d, 0.0f);
  std::vector<float> max(rows, -INFINITY), total(rows, 0.0f);
  // Keys any query of the block can see: the causal limit of the last query.
  int visible_end = s.query_start < 0 ? s.keys : std::min(s.keys, s.query_start + t1);
  for (int j0 = 0; j0 < visible_end; j0 += kKeyTile) {
    int count = std::min(kKeyTile, visible_end - j0);
    const float* kt = k + size_t(j0) * kv_stride + size_t(kvh) * d;
    const float* vt = v + size_t(j0) * kv_stride + size_t(kvh) * d;
    Scores(q + size_t(t0) * q_stride + size_t(head) * d, q_stride, rows, kt, kv_stride, count, d, s.scale,
           scores.data());
    for (int r = 0; r < rows; r++) {
      float* row = &scores[size_t(r) * kKeyTile];
      int limit = count;
      if (s.query_start >= 0) limit = std::max(0, std::min(count, s.query_start + t0 + r + 1 - j0));
      if (limit == 0) continue;
      float tile_max = row[0];
      for (int j = 1; j < limit; j++) tile_max = std::max(tile_max, row[j]);
      float new_max = std::max(max[r], tile_max);
      float correction = std::isinf(max[r]) ? 0.0f : FastExp(max[r] - new_max);
      float sum;
      ExpInPlace(row, limit, new_max, &sum);
      total[r] = total[r] * correction + sum;
      max[r] = new_max;
      ScaleAndAccumulate(&acc[size_t(r) * d], correction, row, limit, vt, kv_stride, d);
    }
  }
  for (int r = 0; r < rows; r++) {
    float* o = out + size_t(t0 + r) * q_stride + size_t(head) * d;
    float inv = total[r] > 0 ? 1.0f / total[r] : 0.0f;
    for (int i = 0; i < d; i++) o[i] = acc[size_t(r) * d + i] * inv;
  }
}

}  // namespace

void Attention(const float* q, const float* k, const float* v, float* out, int queries, int keys, int heads,
               int kv_heads, int head_dim, float scale, int query_start) {
  Shape s{queries, keys, heads, kv_heads, head_dim, query_start, scale};
  int blocks = (queries + kQueryBlock - 1) / kQueryBlock;
  // Heads sharing a kv head run next to each other, so their K/V tiles are still in cache.
  ThreadPool::Instance().Run(heads * blocks, [&](int task) {
    int head = task / blocks, block = task % blocks;
    int t0 = block * kQueryBlock, t1 = std::min(queries, t0 + kQueryBlock);
    AttendBlock(s, q, k, v, out, head, t0, t1);
  });
}

}  // namespace pixtral
