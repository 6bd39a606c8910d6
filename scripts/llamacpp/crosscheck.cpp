// llama.cpp's own answers for the cross-engine tests of GGUF support (test/data/llamacpp/): built against a
// llama.cpp build, run by a developer, never by CI. Prints JSON on stdout.
//
//   crosscheck tokens-logits MODEL.gguf IDS...   token ids (comma-separated lists, one per prompt) → llama.cpp's
//                                                logits after each whole prompt (top 32 and the log-sum-exp)
//   crosscheck tokenize MODEL.gguf TEXT...       llama.cpp's ids for each text (no specials added or parsed)
//   crosscheck blocks FILE.gguf TENSOR COUNT     the raw bytes of a tensor's first COUNT blocks and ggml's
//                                                dequantization of them (type traits to_float)
//
// Build (see test/data/llamacpp/README.md): g++ -O2 -std=c++17 crosscheck.cpp -I$LLAMA/include
//   -I$LLAMA/ggml/include -L$LLAMA/build/bin -lllama -lggml -lggml-base -Wl,-rpath,$LLAMA/build/bin
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ggml.h"
#include "gguf.h"
#include "llama.h"

static std::vector<llama_token> ParseIds(const char* list) {
  std::vector<llama_token> ids;
  for (const char* p = list; *p;) {
    ids.push_back(llama_token(std::strtol(p, const_cast<char**>(&p), 10)));
    if (*p == ',') p++;
  }
  return ids;
}

static void Quiet(ggml_log_level, const char*, void*) {}

static int Logits(const char* path, int count, char** lists) {
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(path, mp);
  if (!model) return std::fprintf(stderr, "cannot load %s\n", path), 1;
  const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::printf("{\"vocab\": %d, \"prompts\": [", vocab);
  for (int i = 0; i < count; i++) {
    std::vector<llama_token> ids = ParseIds(lists[i]);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 512;
    cp.n_batch = 512;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    // A float32 KV cache (llama.cpp's default is f16), so the comparison sees the model's math, not cache rounding.
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    llama_context* ctx = llama_init_from_model(model, cp);
    if (llama_decode(ctx, llama_batch_get_one(ids.data(), int32_t(ids.size()))) != 0)
      return std::fprintf(stderr, "decode failed\n"), 1;
    const float* logits = llama_get_logits_ith(ctx, -1);
    std::vector<int> order(vocab);
    for (int j = 0; j < vocab; j++) order[j] = j;
    std::partial_sort(order.begin(), order.begin() + 32, order.end(),
                      [&](int a, int b) { return logits[a] > logits[b]; });
    double max = logits[order[0]], sum = 0;
    for (int j = 0; j < vocab; j++) sum += std::exp(double(logits[j]) - max);
    std::printf("%s{\"ids\": [%s], \"logsumexp\": %.9g, \"top\": [", i ? ", " : "", lists[i], max + std::log(sum));
    for (int j = 0; j < 32; j++) std::printf("%s[%d, %.9g]", j ? ", " : "", order[j], logits[order[j]]);
    std::printf("]}");
    llama_free(ctx);
  }
  std::printf("]}\n");
  llama_model_free(model);
  return 0;
}

static int Tokenize(const char* path, int count, char** texts) {
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  mp.vocab_only = true;
  llama_model* model = llama_model_load_from_file(path, mp);
  if (!model) return std::fprintf(stderr, "cannot load %s\n", path), 1;
  const llama_vocab* vocab = llama_model_get_vocab(model);
  std::printf("[");
  for (int i = 0; i < count; i++) {
    std::vector<llama_token> ids(std::strlen(texts[i]) + 8);
    int n = llama_tokenize(vocab, texts[i], int32_t(std::strlen(texts[i])), ids.data(), int32_t(ids.size()), false, false);
    if (n < 0) return std::fprintf(stderr, "tokenize failed\n"), 1;
    std::printf("%s[", i ? ", " : "");
    for (int j = 0; j < n; j++) std::printf("%s%d", j ? ", " : "", ids[j]);
    std::printf("]");
  }
  std::printf("]\n");
  llama_model_free(model);
  return 0;
}

static int Blocks(const char* path, const char* name, int count) {
  ggml_context* data = nullptr;
  gguf_init_params params = {false, &data};
  gguf_context* file = gguf_init_from_file(path, params);
  if (!file) return std::fprintf(stderr, "cannot read %s\n", path), 1;
  ggml_tensor* t = ggml_get_tensor(data, name);
  if (!t) return std::fprintf(stderr, "no tensor %s\n", name), 1;
  const ggml_type_traits* traits = ggml_get_type_traits(t->type);
  const int64_t values = std::min<int64_t>(int64_t(count) * traits->blck_size, ggml_nelements(t));
  const size_t bytes = size_t(values / traits->blck_size) * traits->type_size;
  std::vector<float> out(values);
  if (traits->to_float) traits->to_float(t->data, out.data(), values);
  else if (t->type == GGML_TYPE_F32) std::memcpy(out.data(), t->data, values * 4);
  std::printf("{\"tensor\": \"%s\", \"type\": \"%s\", \"bytes\": \"", name, ggml_type_name(t->type));
  for (size_t i = 0; i < bytes; i++) std::printf("%02x", static_cast<const unsigned char*>(t->data)[i]);
  std::printf("\", \"values\": [");
  // Exact float32 bit patterns, so the comparison is bit for bit.
  for (int64_t i = 0; i < values; i++) {
    uint32_t bits;
    std::memcpy(&bits, &out[i], 4);
    std::printf("%s%u", i ? ", " : "", bits);
  }
  std::printf("]}\n");
  gguf_free(file);
  ggml_free(data);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) return std::fprintf(stderr, "usage: crosscheck tokens-logits|tokenize|blocks FILE ...\n"), 2;
  llama_log_set(Quiet, nullptr);
  llama_backend_init();
  std::string what = argv[1];
  if (what == "tokens-logits") return Logits(argv[2], argc - 3, argv + 3);
  if (what == "tokenize") return Tokenize(argv[2], argc - 3, argv + 3);
  if (what == "blocks" && argc == 5) return Blocks(argv[2], argv[3], std::atoi(argv[4]));
  return std::fprintf(stderr, "unknown command %s\n", argv[1]), 2;
}
