// Node-API surface of the native kernels. Arrays cross as typed arrays without copies; every call is
// synchronous on the calling thread (the server calls from its engine worker thread, never the event loop).
#include <napi.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>
#endif

#include "attention.h"
#include "bandwidth.h"
#include "cpu.h"
#include "kernel_set.h"
#include "elementwise.h"
#include "amx.h"
#include "matmul.h"
#include "thread_pool.h"

namespace pixtral {
namespace {

Napi::Value Features(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuFeatures& f = DetectCpu();
  Napi::Object out = Napi::Object::New(env);
  out.Set("avx2", f.avx2);
  out.Set("fma", f.fma);
  out.Set("avx512f", f.avx512f);
  out.Set("avx512bw", f.avx512bw);
  out.Set("avx512vl", f.avx512vl);
  out.Set("avx512vnni", f.avx512vnni);
  out.Set("avx512bf16", f.avx512bf16);
  out.Set("best", BestKernelSet().name);
  out.Set("active", ActiveKernelSet().name);
  Napi::Array levels = Napi::Array::New(env);
  for (const KernelSet* set : KernelSets())
    if (set->supported()) levels.Set(levels.Length(), set->name);
  out.Set("levels", levels);
  out.Set("amx", AmxAvailable());
  out.Set("threads", ThreadPool::Instance().threads());
  out.Set("prefetch", std::string(kWeightPrefetch.into_l2 ? "l2:" : "l1:") + std::to_string(kWeightPrefetch.ahead));
  return out;
}

// setLevel(name) → false when this CPU cannot run that kernel set; unknown names throw.
Napi::Value SetLevel(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  for (const KernelSet* set : KernelSets())
    if (name == set->name) return Napi::Boolean::New(info.Env(), SelectKernelSet(name));
  Napi::TypeError::New(info.Env(), "unknown kernel level " + name).ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  ThreadPool::Instance().Resize(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), ThreadPool::Instance().threads());
}

// probeBandwidth(bytes, passes) → { bestGBps, medianGBps, threads, vectorBytes }
Napi::Value ProbeBandwidthJs(const Napi::CallbackInfo& info) {
  double bytes = info[0].As<Napi::Number>().DoubleValue();
  int passes = info[1].As<Napi::Number>().Int32Value();
  BandwidthProbe probe = ProbeReadBandwidth(size_t(std::max(0.0, bytes)), passes);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("bestGBps", probe.best_gbps);
  out.Set("medianGBps", probe.median_gbps);
  out.Set("threads", probe.threads);
  out.Set("vectorBytes", probe.vector_bytes);
  return out;
}

template <typename T>
T* Data(const Napi::Value& v) {
  Napi::TypedArray array = v.As<Napi::TypedArray>();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
}

size_t ByteLength(const Napi::Value& v) { return v.As<Napi::TypedArray>().ByteLength(); }

constexpr size_t kHugePage = size_t(2) << 20;

// An op's output array. Large ones are usually fresh from V8's allocator: untouched anonymous pages that the op's
// first writes fault in one 4 KB page at a time — in a VM, ~15 µs a fault: 64 MB of fresh output cost more than
// the matmul that filled it. Asking for huge pages on the array's aligned 2 MB ranges (harmless where they are
// already in use) makes that 512 times fewer faults.
template <typename T>
T* Output(const Napi::Value& v) {
  T* data = Data<T>(v);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHugePage - 1) / kHugePage * kHugePage;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + ByteLength(v)) / kHugePage * kHugePage;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
  return data;
}

bool Check(const Napi::Env& env, bool ok, const char* message) {
  if (!ok) Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
  return ok;
}

// matmul(format, x: Float32Array, tokens, k, w: Uint8Array|Uint16Array, n, y: Float32Array, bf16Activations?)
Napi::Value MatmulJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto format = WeightFormat(info[0].As<Napi::Number>().Int32Value());
  int tokens = info[2].As<Napi::Number>().Int32Value();
  int k = info[3].As<Napi::Number>().Int32Value();
  int n = info[5].As<Napi::Number>().Int32Value();
  if (!Check(env, tokens >= 0 && k > 0 && n >= 0, "matmul: bad sizes")) return env.Undefined();
  if (!Check(env, int(format) >= 0 && int(format) <= int(WeightFormat::kQ8P), "matmul: unknown weight format"))
    return env.Undefined();
  if (!Check(env, k % RowGranule(format) == 0, "matmul: rows of this format need k to be a multiple of its block"))
    return env.Undefined();
  if (!Check(env, ByteLength(info[1]) >= size_t(tokens) * k * 4, "matmul: x too short")) return env.Undefined();
  if (!Check(env, ByteLength(info[4]) >= size_t(n) * RowBytes(format, k), "matmul: w too short")) return env.Undefined();
  if (!Check(env, ByteLength(info[6]) >= size_t(tokens) * n * 4, "matmul: y too short")) return env.Undefined();
  if (!Check(env, !IsPanels(format) || n % kPanelRows == 0, "matmul: panels need n to be a multiple of 16"))
    return env.Undefined();
  const bool bf16_activations = info.Length() > 7 && info[7].ToBoolean().Value();
  Matmul(format, Data<float>(info[1]), tokens, k, Data<uint8_t>(info[4]), n, Output<float>(info[6]), bf16_activations);
  return env.Undefined();
}

// quantize(format, src: Float32Array [rows*k], rows, k, out: Uint8Array)
Napi::Value QuantizeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto format = WeightFormat(info[0].As<Napi::Number>().Int32Value());
  int rows = info[2].As<Napi::Number>().Int32Value();
  int k = info[3].As<Napi::Number>().Int32Value();
  if (!Check(env, IsQuantRows(format) && k > 0 && k % kBlock == 0 && rows >= 0,
             "quantize: bad format or sizes"))
    return env.Undefined();
  if (!Check(env, ByteLength(info[1]) >= size_t(rows) * k * 4, "quantize: src too short")) return env.Undefined();
  if (!Check(env, ByteLength(info[4]) >= size_t(rows) * RowBytes(format, k), "quantize: out too short"))
    return env.Undefined();
  QuantizeMatrix(format, Data<float>(info[1]), rows, k, Data<uint8_t>(info[4]));
  return env.Undefined();
}

// repackGgml(format, blocks, rows, k, out): GGUF Q8_0 / Q4_0 blocks (format q8 / q4) → our rows, exactly.
Napi::Value RepackGgmlJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto format = WeightFormat(info[0].As<Napi::Number>().Int32Value());
  int rows = info[2].As<Napi::Number>().Int32Value();
  int k = info[3].As<Napi::Number>().Int32Value();
  if (!Check(env, IsQuantRows(format) && k > 0 && k % kBlock == 0 && rows >= 0,
             "repackGgml: bad format or sizes"))
    return env.Undefined();
  const size_t block_bytes = format == WeightFormat::kQ8 ? kGgmlQ8Block : kGgmlQ4Block;
  const size_t src_row = size_t(k / kBlock) * block_bytes, dst_row = RowBytes(format, k);
  if (!Check(env, ByteLength(info[1]) >= size_t(rows) * src_row, "repackGgml: blocks too short")) return env.Undefined();
  if (!Check(env, ByteLength(info[4]) >= size_t(rows) * dst_row, "repackGgml: out too short")) return env.Undefined();
  const uint8_t* src = Data<uint8_t>(info[1]);
  uint8_t* dst = Data<uint8_t>(info[4]);
  ThreadPool::Instance().Run(rows, [&](int r) { RepackGgmlRow(format, src + r * src_row, k, dst + r * dst_row); });
  return env.Undefined();
}

// K or V for attention: a typed array of [keys, kv_width] values (and q8 scales), or — when page_positions > 0 —
// Arrays of pages of page_positions positions each (the KV cache's layout), checked page by page.
struct KvPages {
  std::vector<const void*> data;
  std::vector<const float*> scales;
};

bool ReadKv(Napi::Env env, const Napi::Value& data, const Napi::Value& scales, KvFormat format, int keys,
            size_t kv_width, int kv_heads, int page_positions, KvSource* out, KvPages* pages) {
  const size_t value_bytes = format == KvFormat::kF32 ? 4 : format == KvFormat::kF16 ? 2 : 1;
  const bool q8 = format == KvFormat::kQ8;
  *out = KvSource{format, nullptr, nullptr};
  if (page_positions <= 0) {
    if (!Check(env, data.IsTypedArray() && ByteLength(data) >= size_t(keys) * kv_width * value_bytes,
               "attention: k/v too short"))
      return false;
    out->data = Data<uint8_t>(data);
    if (!q8) return true;
    if (!Check(env, scales.IsTypedArray() && ByteLength(scales) >= size_t(keys) * kv_heads * 4,
               "attention: q8 scales too short"))
      return false;
    out->scales = Data<float>(scales);
    return true;
  }
  const uint32_t needed = uint32_t((keys + page_positions - 1) / page_positions);
  if (!Check(env, data.IsArray() && data.As<Napi::Array>().Length() >= needed, "attention: missing k/v pages") ||
      !Check(env, !q8 || (scales.IsArray() && scales.As<Napi::Array>().Length() >= needed),
             "attention: missing q8 scale pages"))
    return false;
  for (uint32_t i = 0; i < needed; i++) {
    const size_t rows = std::min<size_t>(page_positions, size_t(keys) - size_t(i) * page_positions);
    Napi::Value page = data.As<Napi::Array>().Get(i);
    if (!Check(env, page.IsTypedArray() && ByteLength(page) >= rows * kv_width * value_bytes,
               "attention: k/v page too short"))
      return false;
    pages->data.push_back(Data<uint8_t>(page));
    if (!q8) continue;
    Napi::Value page_scales = scales.As<Napi::Array>().Get(i);
    if (!Check(env, page_scales.IsTypedArray() && ByteLength(page_scales) >= rows * kv_heads * 4,
               "attention: q8 scale page too short"))
      return false;
    pages->scales.push_back(Data<float>(page_scales));
  }
  out->pages = pages->data.data();
  out->page_scales = q8 ? pages->scales.data() : nullptr;
  out->page_positions = page_positions;
  return true;
}

// attention(q, k, v, out, queries, keys, heads, kvHeads, headDim, scale, queryStart | -1, kvFormat, kScales, vScales,
//           bf16?, pagePositions?)
// k/v: Float32Array (f32), Uint16Array (f16) or Int8Array (q8, with one scale per position and kv head); with
// pagePositions > 0, Arrays of such pages (and of scale pages).
Napi::Value AttentionJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int queries = info[4].As<Napi::Number>().Int32Value(), keys = info[5].As<Napi::Number>().Int32Value();
  int heads = info[6].As<Napi::Number>().Int32Value(), kv_heads = info[7].As<Napi::Number>().Int32Value();
  int head_dim = info[8].As<Napi::Number>().Int32Value();
  float scale = info[9].As<Napi::Number>().FloatValue();
  int query_start = info[10].As<Napi::Number>().Int32Value();
  auto format = KvFormat(info.Length() > 11 ? info[11].As<Napi::Number>().Int32Value() : 0);
  const bool bf16 = info.Length() > 14 && info[14].ToBoolean().Value();
  const int page_positions = info.Length() > 15 ? info[15].As<Napi::Number>().Int32Value() : 0;
  if (!Check(env, queries >= 0 && keys >= 0 && heads > 0 && kv_heads > 0 && heads % kv_heads == 0 && head_dim > 0,
             "attention: bad shape"))
    return env.Undefined();
  size_t q_len = size_t(queries) * heads * head_dim, kv_width = size_t(kv_heads) * head_dim;
  if (!Check(env, ByteLength(info[0]) >= q_len * 4 && ByteLength(info[3]) >= q_len * 4, "attention: q/out too short"))
    return env.Undefined();
  Napi::Value no_scales = env.Undefined();
  KvSource k, v;
  KvPages k_pages, v_pages;
  if (!ReadKv(env, info[1], info.Length() > 12 ? info[12] : no_scales, format, keys, kv_width, kv_heads,
              page_positions, &k, &k_pages) ||
      !ReadKv(env, info[2], info.Length() > 13 ? info[13] : no_scales, format, keys, kv_width, kv_heads,
              page_positions, &v, &v_pages))
    return env.Undefined();
  Attention(Data<float>(info[0]), k, v, Output<float>(info[3]), queries, keys, heads, kv_heads, head_dim, scale,
            query_start, bf16);
  return env.Undefined();
}

size_t Floats(const Napi::Value& v) { return ByteLength(v) / 4; }

// rmsNorm(x, weight, out, rows, width, eps)
Napi::Value RmsNormJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rows = info[3].As<Napi::Number>().Int32Value(), width = info[4].As<Napi::Number>().Int32Value();
  size_t n = size_t(rows) * width;
  if (!Check(env, rows >= 0 && width > 0 && Floats(info[0]) >= n && Floats(info[2]) >= n && Floats(info[1]) >= size_t(width),
             "rmsNorm: bad sizes"))
    return env.Undefined();
  RmsNorm(Data<float>(info[0]), Data<float>(info[1]), Output<float>(info[2]), rows, width,
          info[5].As<Napi::Number>().FloatValue());
  return env.Undefined();
}

// rope(x, out, rows, heads, headDim, cos, sin)
Napi::Value RopeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rows = info[2].As<Napi::Number>().Int32Value(), heads = info[3].As<Napi::Number>().Int32Value();
  int head_dim = info[4].As<Napi::Number>().Int32Value();
  size_t n = size_t(rows) * heads * head_dim, angles = size_t(rows) * (head_dim / 2);
  if (!Check(env, rows >= 0 && heads > 0 && head_dim > 0 && head_dim % 2 == 0 && Floats(info[0]) >= n &&
                      Floats(info[1]) >= n && Floats(info[5]) >= angles && Floats(info[6]) >= angles,
             "rope: bad sizes"))
    return env.Undefined();
  Rope(Data<float>(info[0]), Output<float>(info[1]), rows, heads, head_dim, Data<float>(info[5]), Data<float>(info[6]));
  return env.Undefined();
}

// unary(name, x, out) and binary(name, a, b, out) over whole arrays
Napi::Value UnaryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  size_t n = Floats(info[1]);
  if (!Check(env, Floats(info[2]) >= n && name == "gelu", "unary: bad op or sizes")) return env.Undefined();
  Gelu(Data<float>(info[1]), Output<float>(info[2]), n);
  return env.Undefined();
}

Napi::Value BinaryJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  size_t n = Floats(info[1]);
  if (!Check(env, Floats(info[2]) == n && Floats(info[3]) >= n && (name == "siluMul" || name == "add"),
             "binary: bad op or sizes"))
    return env.Undefined();
  if (name == "add") Add(Data<float>(info[1]), Data<float>(info[2]), Output<float>(info[3]), n);
  else SiluMul(Data<float>(info[1]), Data<float>(info[2]), Output<float>(info[3]), n);
  return env.Undefined();
}

// toHalf(src: Float32Array, dst: Uint16Array, at) — dst[at + i] = half(src[i]): the f16 KV cache's store.
Napi::Value ToHalfJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = Floats(info[0]);
  const double at = info[2].As<Napi::Number>().DoubleValue();
  if (!Check(env, info[1].IsTypedArray() && at >= 0 && at + double(n) <= double(ByteLength(info[1]) / 2),
             "toHalf: dst too short"))
    return env.Undefined();
  ToHalf(Data<float>(info[0]), Data<uint16_t>(info[1]) + size_t(at), n);
  return env.Undefined();
}

// The byte ranges mapFile handed out (read-only): packPanels leaves them as they are.
std::mutex mapped_mutex;
std::map<uintptr_t, size_t> mapped_ranges;  // start → length

bool InsideMapping(const void* p) {
  std::lock_guard<std::mutex> lock(mapped_mutex);
  auto at = reinterpret_cast<uintptr_t>(p);
  auto next = mapped_ranges.upper_bound(at);
  if (next == mapped_ranges.begin()) return false;
  --next;
  return at < next->first + next->second;
}

// packPanels(format: Q8|Q4, w: Uint8Array, n, k) → true when the rows were rewritten in place as panels (kQ8P /
// kQ4P: the active kernel level prefers them, n is a multiple of 16 and w is memory of the process's own, not a
// mapped file); false, w unchanged, otherwise.
Napi::Value PackPanelsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto format = WeightFormat(info[0].As<Napi::Number>().Int32Value());
  int n = info[2].As<Napi::Number>().Int32Value(), k = info[3].As<Napi::Number>().Int32Value();
  if (!Check(env, IsQuantRows(format) && n > 0 && k > 0 && k % kBlock == 0,
             "packPanels: bad format or sizes"))
    return env.Undefined();
  if (!Check(env, ByteLength(info[1]) >= size_t(n) * RowBytes(format, k), "packPanels: w too short"))
    return env.Undefined();
  uint8_t* w = Data<uint8_t>(info[1]);
  if (InsideMapping(w)) return Napi::Boolean::New(env, false);
  return Napi::Boolean::New(env, PackPanels(format, w, n, k));
}

// quantizeActivations(x, k, split, q, scales, offsets?): one token's activations as the active level's matmuls
// quantize them (tests compare every level's bytes).
Napi::Value QuantizeActivationsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int k = info[1].As<Napi::Number>().Int32Value();
  bool split = info[2].As<Napi::Boolean>().Value();
  const bool offsets = info.Length() > 5 && !info[5].IsUndefined();
  if (!Check(env, k > 0 && k % kBlock == 0, "quantizeActivations: k must be a positive multiple of 32"))
    return env.Undefined();
  const size_t blocks = size_t(k / kBlock);
  if (!Check(env, ByteLength(info[0]) >= size_t(k) * 4 && ByteLength(info[3]) >= size_t(k) &&
                      ByteLength(info[4]) >= blocks * 4 && (!offsets || ByteLength(info[5]) >= blocks * 4),
             "quantizeActivations: an array is too short"))
    return env.Undefined();
  ActiveKernelSet().ops.quantize_activations(Data<float>(info[0]), k, split, Data<int8_t>(info[3]),
                                             Data<float>(info[4]), offsets ? Data<float>(info[5]) : nullptr);
  return env.Undefined();
}

// mapFile(path, offset, length) → Uint8Array over a read-only shared mapping of that byte range (unmapped when
// collected): weights are paged in from the page cache on use and never copied. One mapping per tensor keeps
// every buffer under V8's ArrayBuffer size limit however large the file.
Napi::Value MapFileJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(__unix__) || defined(__APPLE__)
  std::string path = info[0].As<Napi::String>();
  double offset_arg = info[1].As<Napi::Number>().DoubleValue(), length_arg = info[2].As<Napi::Number>().DoubleValue();
  if (!Check(env, offset_arg >= 0 && length_arg > 0 && length_arg <= double(1ull << 32) - 1, "mapFile: bad range"))
    return env.Undefined();
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    Napi::Error::New(env, "cannot open " + path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct stat st;
  size_t offset = size_t(offset_arg), length = size_t(length_arg);
  if (fstat(fd, &st) != 0 || offset + length > size_t(st.st_size)) {
    close(fd);
    Napi::Error::New(env, "mapFile: range outside " + path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t page = size_t(sysconf(_SC_PAGESIZE));
  size_t start = offset / page * page, delta = offset - start, size = delta + length;
  void* data = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, off_t(start));
  close(fd);
  if (data == MAP_FAILED) {
    Napi::Error::New(env, "mmap failed for " + path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* mapped_size = new size_t(size);
  {
    std::lock_guard<std::mutex> lock(mapped_mutex);
    mapped_ranges[reinterpret_cast<uintptr_t>(data)] = size;
  }
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, data, size,
      [](Napi::Env, void* p, size_t* n) {
        {
          std::lock_guard<std::mutex> lock(mapped_mutex);
          mapped_ranges.erase(reinterpret_cast<uintptr_t>(p));
        }
        munmap(p, *n);
        delete n;
      },
      mapped_size);
  return Napi::Uint8Array::New(env, length, buffer, delta);
#else
  Napi::Error::New(env, "memory mapping is not available on this platform").ThrowAsJavaScriptException();
  return env.Undefined();
#endif
}

// allocateWeights(bytes) → zeroed Uint8Array in anonymous memory backed by 2 MB pages where the kernel grants
// them (freed when collected): decode streams every weight each token, and 4 KB pages cost a TLB miss per 4 KB.
Napi::Value AllocateWeightsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double bytes_arg = info[0].As<Napi::Number>().DoubleValue();
  if (!Check(env, bytes_arg > 0 && bytes_arg <= double(1ull << 32) - 1, "allocateWeights: bad size"))
    return env.Undefined();
  constexpr size_t kPage = 4096;
  size_t bytes = size_t(bytes_arg), size = (bytes + kPage - 1) / kPage * kPage;
#if defined(__linux__)
  // Over-allocated by one huge page so the array can start on a 2 MB boundary (only aligned 2 MB ranges get huge
  // pages); only whole huge pages are asked for, so the tail past the last one takes no more than it needs.
  struct Mapping {
    void* base;
    size_t size;
  };
  void* base = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    Napi::Error::New(env, "out of memory allocating " + std::to_string(bytes) + " bytes of weights")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* data = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(base) + kHugePage - 1) / kHugePage * kHugePage);
#if defined(MADV_HUGEPAGE)
  if (size >= kHugePage) madvise(data, size / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
  auto* mapping = new Mapping{base, size + kHugePage};
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, data, size, [](Napi::Env, void*, Mapping* m) { munmap(m->base, m->size); delete m; }, mapping);
  return Napi::Uint8Array::New(env, bytes, buffer, 0);
#else
  return Napi::Uint8Array::New(env, bytes);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, MapFileJs));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNormJs));
  exports.Set("rope", Napi::Function::New(env, RopeJs));
  exports.Set("unary", Napi::Function::New(env, UnaryJs));
  exports.Set("binary", Napi::Function::New(env, BinaryJs));
  exports.Set("toHalf", Napi::Function::New(env, ToHalfJs));
  exports.Set("attention", Napi::Function::New(env, AttentionJs));
  exports.Set("features", Napi::Function::New(env, Features));
  exports.Set("setLevel", Napi::Function::New(env, SetLevel));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("matmul", Napi::Function::New(env, MatmulJs));
  exports.Set("allocateWeights", Napi::Function::New(env, AllocateWeightsJs));
  exports.Set("probeBandwidth", Napi::Function::New(env, ProbeBandwidthJs));
  exports.Set("quantize", Napi::Function::New(env, QuantizeJs));
  exports.Set("repackGgml", Napi::Function::New(env, RepackGgmlJs));
  exports.Set("packPanels", Napi::Function::New(env, PackPanelsJs));
  exports.Set("quantizeActivations", Napi::Function::New(env, QuantizeActivationsJs));
  return exports;
}

}  // namespace
}  // namespace pixtral

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return pixtral::Init(env, exports); }

NODE_API_MODULE(pixtral_native, InitModule)
