#include "attention.h"

#include <algorithm>
#include <cmath>
#include <vector>
#include "attention_amx.h"
#include "attention_tiles.h"
#include "thread_pool.h"

namespace pixtral {
namespace {

constexpr int kFewRows = 8;  // up to this many query rows per kv head, keys are used as rows (no transposed tile)

struct Shape {
  int queries, keys, heads, kv_heads, head_dim, query_start;
  float scale;
};

// Online softmax over one key tile: scores become weights exp(score − running max) (zero for keys a row may
// not see), the running max and total move on, and correction[r] says how much to scale what was accumulated.
void SoftmaxUpdate(float* scores, int rows, int count, int j0, const int* position, float* max, float* total,
                   float* correction) {
  for (int r = 0; r < rows; r++) {
    const int limit = std::max(0, std::min(count, position[r] + 1 - j0));
    float* row = scores + size_t(r) * kKeyTile;
    std::fill(row + limit, row + count, 0.0f);
    correction[r] = 1.0f;
    if (limit == 0) continue;
    const float new_max = std::max(max[r], RowMax(row, limit));
    correction[r] = std::isinf(max[r]) ? 0.0f : FastExp(max[r] - new_max);
    float sum;
    ExpInPlace(row, limit, new_max, &sum);
    total[r] = total[r] * correction[r] + sum;
    max[r] = new_max;
  }
}

// One task: every query head that shares kv head `kvh`, for queries [t0, t1): K/V tiles are packed once and
// used by all of them (the grouped-query saving), so decode reads the cache once per kv head.
template <int D>
void AttendBlock(const Shape& s, const float* q, const KvSource& k, const KvSource& v, float* out, int kvh, int t0,
                 int t1) {
  const int d = s.head_dim, q_stride = s.heads * d;
  const int group = s.heads / s.kv_heads;
  const int queries = t1 - t0, rows = group * queries;
  std::vector<const float*> q_rows(rows);
  std::vector<int> position(rows);
  for (int g = 0; g < group; g++)
    for (int t = 0; t < queries; t++) {
      q_rows[g * queries + t] = q + size_t(t0 + t) * q_stride + size_t(kvh * group + g) * d;
      position[g * queries + t] = s.query_start < 0 ? s.keys - 1 : s.query_start + t0 + t;
    }
  std::vector<float> kt(size_t(d) * kKeyTile), vt(size_t(kKeyTile) * d), keys(size_t(kKeyTile) * d);
  std::vector<float> scores(size_t(rows) * kKeyTile), acc(size_t(rows) * d, 0.0f);
  std::vector<float> max(rows, -INFINITY), total(rows, 0.0f), correction(rows);
  const int visible_end = s.query_start < 0 ? s.keys : std::min(s.keys, s.query_start + t1);
  for (int j0 = 0; j0 < visible_end; j0 += kKeyTile) {
    const int count = std::min(kKeyTile, visible_end - j0);
    LoadRows(v, size_t(j0), count, s.kv_heads, kvh, 1, d, vt.data());
    LoadRows(k, size_t(j0), count, s.kv_heads, kvh, 1, d, keys.data());
    if (rows <= kFewRows) KeyRowScores<D>(q_rows.data(), rows, keys.data(), d, count, d, s.scale, scores.data());
    else {
      Transpose(keys.data(), count, d, kt.data());
      TileScores(q_rows.data(), rows, kt.data(), d, s.scale, scores.data());
    }
    SoftmaxUpdate(scores.data(), rows, count, j0, position.data(), max.data(), total.data(), correction.data());
    TileValues<D>(acc.data(), correction.data(), scores.data(), rows, count, vt.data(), d, d);
  }
  for (int r = 0; r < rows; r++) {
    const int g = r / queries, t = r % queries;
    float* o = out + size_t(t0 + t) * q_stride + size_t(kvh * group + g) * d;
    const float inv = total[r] > 0 ? 1.0f / total[r] : 0.0f;
    for (int i = 0; i < d; i++) o[i] = acc[size_t(r) * d + i] * inv;
  }
}

// Decode (a few query rows per kv head), split-K: each task takes a range of keys for every head, reading whole
// positions (all kv heads, contiguous in the cache) a tile at a time, and leaves each row's partial softmax
// state (max, total, unnormalised output); the partials are merged at the end (flash-decoding).
template <int D>
void AttendDecode(const Shape& s, const float* q, const KvSource& k, const KvSource& v, float* out) {
  const int d = s.head_dim, q_stride = s.heads * d, kv_width = s.kv_heads * d;
  const int group = s.heads / s.kv_heads, queries = s.queries, rows = group * queries;
  const int all_rows = s.kv_heads * rows;
  std::vector<const float*> q_rows(all_rows);
  std::vector<int> position(all_rows);
  for (int h = 0; h < s.kv_heads; h++)
    for (int g = 0; g < group; g++)
      for (int t = 0; t < queries; t++) {
        q_rows[h * rows + g * queries + t] = q + size_t(t) * q_stride + size_t(h * group + g) * d;
        position[h * rows + g * queries + t] = s.query_start < 0 ? s.keys - 1 : s.query_start + t;
      }
  const int visible_end = s.query_start < 0 ? s.keys : std::min(s.keys, s.query_start + queries);
  const int parts = 2 * ThreadPool::Instance().threads();
  const int span = std::max(1, (visible_end + parts * kKeyTile - 1) / (parts * kKeyTile)) * kKeyTile;
  const int chunks = std::max(1, (visible_end + span - 1) / span);
  std::vector<float> part_max(size_t(chunks) * all_rows), part_total(size_t(chunks) * all_rows);
  std::vector<float> part_acc(size_t(chunks) * all_rows * d);
  ThreadPool::Instance().Run(chunks, [&](int c) {
    float* max = &part_max[size_t(c) * all_rows];
    float* total = &part_total[size_t(c) * all_rows];
    float* acc = &part_acc[size_t(c) * all_rows * d];
    std::fill(max, max + all_rows, -INFINITY);
    std::fill(total, total + all_rows, 0.0f);
    std::fill(acc, acc + size_t(all_rows) * d, 0.0f);
    std::vector<float> keys(size_t(kKeyTile) * kv_width), values(size_t(kKeyTile) * kv_width);
    std::vector<float> scores(size_t(rows) * kKeyTile), correction(rows);
    const int end = std::min(visible_end, (c + 1) * span);
    for (int j0 = c * span; j0 < end; j0 += kKeyTile) {
      const int count = std::min(kKeyTile, end - j0);
      LoadRows(k, size_t(j0), count, s.kv_heads, 0, s.kv_heads, d, keys.data());
      LoadRows(v, size_t(j0), count, s.kv_heads, 0, s.kv_heads, d, values.data());
      for (int h = 0; h < s.kv_heads; h++) {
        const int r0 = h * rows;
        KeyRowScores<D>(&q_rows[r0], rows, &keys[size_t(h) * d], kv_width, count, d, s.scale, scores.data());
        SoftmaxUpdate(scores.data(), rows, count, j0, &position[r0], max + r0, total + r0, correction.data());
        TileValues<D>(acc + size_t(r0) * d, correction.data(), scores.data(), rows, count, &values[size_t(h) * d],
                      kv_width, d);
      }
    }
  });
  for (int r = 0; r < all_rows; r++) {
    float merged_max = -INFINITY;
    for (int c = 0; c < chunks; c++) merged_max = std::max(merged_max, part_max[size_t(c) * all_rows + r]);
    const int h = r / rows, g = (r % rows) / queries, t = r % queries;
    float* o = out + size_t(t) * q_stride + size_t(h * group + g) * d;
    std::fill(o, o + d, 0.0f);
    float total = 0;
    for (int c = 0; c < chunks; c++) {
      const size_t at = size_t(c) * all_rows + r;
      if (std::isinf(part_max[at])) continue;  // no key of this chunk is visible to the row
      const float weight = FastExp(part_max[at] - merged_max);
      total += part_total[at] * weight;
      const float* a = &part_acc[at * d];
      for (int i = 0; i < d; i++) o[i] += a[i] * weight;
    }
    const float inv = total > 0 ? 1.0f / total : 0.0f;
    for (int i = 0; i < d; i++) o[i] *= inv;
  }
}

}  // namespace

void Attention(const float* q, KvSource k, KvSource v, float* out, int queries, int keys, int heads, int kv_heads,
               int head_dim, float scale, int query_start, bool bf16) {
  if (bf16 && query_start < 0 && k.format == KvFormat::kF32 && v.format == KvFormat::kF32 && !k.pages && !v.pages &&
      AmxTakesAttention(queries, keys, heads, kv_heads, head_dim)) {
    AttentionAmx(q, static_cast<const float*>(k.data), static_cast<const float*>(v.data), out, queries, keys, heads,
                 kv_heads, head_dim, scale);
    return;
  }
  Shape s{queries, keys, heads, kv_heads, head_dim, query_start, scale};
  const int group = heads / kv_heads;
  if (group * queries <= kFewRows) {
    auto decode = head_dim == 128 ? AttendDecode<128> : head_dim == 64 ? AttendDecode<64> : AttendDecode<0>;
    decode(s, q, k, v, out);
    return;
  }
  // Enough query rows per task (~256 with all heads of the group) to amortise packing each key tile, few
  // enough to keep both cores busy.
  const int block = std::max(1, std::min(std::max(1, 256 / group), (queries + 1) / 2));
  const int blocks = (queries + block - 1) / block;
  auto attend = head_dim == 128 ? AttendBlock<128> : head_dim == 64 ? AttendBlock<64> : AttendBlock<0>;
  ThreadPool::Instance().Run(kv_heads * blocks, [&](int task) {
    const int kvh = task / blocks, b = task % blocks;
    attend(s, q, k, v, out, kvh, b * block, std::min(queries, (b + 1) * block));
  });
}

}  // namespace pixtral
