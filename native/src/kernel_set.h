// One dispatch mechanism for every native op: a kernel set per instruction-set level (one file each: the level's
// inner loops, plus the shared op bodies of level_ops.h compiled for that level), and one registry that knows every
// set, what CPU capabilities each needs, and which is active. Ops call ActiveKernelSet(); nothing else chooses.
// Adding an ISA (ARM NEON next) is one file defining its set and one line in registry.cc's list.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "attention.h"
#include "formats.h"
#include "kernels.h"

namespace pixtral {

// Whole ops whose bodies are the same source for every level (level_ops.h), compiled once per level so each level
// really runs its own code.
struct OpKernels {
  void (*rms_norm)(const float* x, const float* weight, float* out, int rows, int width, float eps);
  void (*rope)(const float* x, float* out, int rows, int heads, int head_dim, const float* cos, const float* sin);
  void (*silu_mul)(const float* gate, const float* up, float* out, size_t count);
  void (*gelu)(const float* x, float* out, size_t count);
  void (*add)(const float* a, const float* b, float* out, size_t count);
  void (*to_half)(const float* x, uint16_t* out, size_t count);
  void (*attention)(const float* q, KvSource k, KvSource v, float* out, int queries, int keys, int heads,
                    int kv_heads, int head_dim, float scale, int query_start);
  // One token's activations → int8 blocks for the quantized matmuls (the same bytes at every level).
  void (*quantize_activations)(const float* x, int k, bool split, int8_t* q, float* scale, float* offset8);
};

// A matrix unit that takes whole matmuls / attentions of some shapes (AMX). Null members: the set has none.
struct AcceleratorKernels {
  bool (*takes_matmul)(int tokens, int k, int n) = nullptr;
  void (*matmul_bf16)(const float* x, int tokens, int k, const uint16_t* w, int n, float* y) = nullptr;
  // q: int8 activations [round_up(tokens, quant_token_step)][k] in block order; scales one per (token, block).
  void (*matmul_quant)(WeightFormat format, const int8_t* q, const float* scales, int tokens, int k,
                       const uint8_t* w, int n, float* y) = nullptr;
  int quant_token_step = 1;
  bool (*takes_attention)(int queries, int keys, int heads, int kv_heads, int head_dim) = nullptr;
  void (*attention_bf16)(const float* q, const float* k, const float* v, float* out, int queries, int keys,
                         int heads, int kv_heads, int head_dim, float scale) = nullptr;
};

struct KernelSet {
  const char* name;        // what --kernels calls it: "amx", "avx512", "avx2", "portable"
  bool (*supported)();     // this CPU (and OS) can run it
  Kernels dot;             // matmul inner loops (dot products, multi-token and multi-row micro-kernels)
  OpKernels ops;
  AcceleratorKernels accelerator;
};

// The sets, best first, in registry.cc.
const std::vector<const KernelSet*>& KernelSets();
// The set ops run now: the best supported one unless SelectKernelSet chose another.
const KernelSet& ActiveKernelSet();
const KernelSet& BestKernelSet();
// False (and no change) when the name is unknown or the CPU cannot run that set.
bool SelectKernelSet(const std::string& name);

// Each level's set, defined in its own file.
const KernelSet& PortableKernelSet();
#if defined(__x86_64__)
const KernelSet& Avx2KernelSet();
const KernelSet& Avx512KernelSet();
const KernelSet& AmxKernelSet();
#endif

}  // namespace pixtral
