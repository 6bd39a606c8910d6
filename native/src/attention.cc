#include "attention.h"

#include "kernel_set.h"

namespace pixtral {

void Attention(const float* q, KvSource k, KvSource v, float* out, int queries, int keys, int heads, int kv_heads,
               int head_dim, float scale, int query_start, bool bf16) {
  const KernelSet& set = ActiveKernelSet();
  const AcceleratorKernels& unit = set.accelerator;
  // A matrix unit takes unmasked attention over contiguous float32 K/V when the caller accepts bf16 rounding.
  if (bf16 && unit.attention_bf16 && query_start < 0 && k.format == KvFormat::kF32 && v.format == KvFormat::kF32 &&
      !k.pages && !v.pages && unit.takes_attention(queries, keys, heads, kv_heads, head_dim)) {
    unit.attention_bf16(q, static_cast<const float*>(k.data), static_cast<const float*>(v.data), out, queries, keys,
                        heads, kv_heads, head_dim, scale);
    return;
  }
  set.ops.attention(q, k, v, out, queries, keys, heads, kv_heads, head_dim, scale, query_start);
}

}  // namespace pixtral
