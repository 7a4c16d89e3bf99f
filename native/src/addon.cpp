// Facet's llama.cpp probe: residual-stream capture (l_out-<L>), steering vectors and sampling on
// the llama.cpp libraries that node-llama-cpp ships and loads.
#include <napi.h>

#include <cstdio>
#include <cstring>

#include "LlamaSymbols.h"
#include "ProbeContext.h"
#include "ProbeErrors.h"
#include "ProbeModel.h"

namespace {

// bind(sonames: string[], backendDirectory: string) -> { library, path }
Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> sonames;
  Napi::Array names = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < names.Length(); i++) sonames.push_back(names.Get(i).As<Napi::String>().Utf8Value());
  BindResult result = bindLlamaLibrary(sonames);
  if (!result.ok) throw makeCodedError(env, "ADDON_LOAD_FAILED", result.error);
  installLogTap();
  // node-llama-cpp normally registered the backends already; never load them twice.
  if (llama.ggml_backend_dev_count() == 0) {
    std::string directory = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
    if (directory.empty() && !result.path.empty()) directory = result.path.substr(0, result.path.find_last_of('/'));
    llama.ggml_backend_load_all_from_path(directory.empty() ? nullptr : directory.c_str());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("library", result.library);
  out.Set("path", result.path);
  out.Set("devices", static_cast<double>(llama.ggml_backend_dev_count()));
  out.Set("systemInfo", llama.llama_print_system_info());
  return out;
}

/** Reads a GGUF header and metadata (no tensor data) to classify broken files before llama.cpp sees them. */
class InspectWorker : public Napi::AsyncWorker {
 public:
  InspectWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    clearRecentLlamaLog();
    FILE* file = std::fopen(path_.c_str(), "rb");
    if (file == nullptr) {
      status_ = "missing";
      return;
    }
    char magic[4] = {0, 0, 0, 0};
    size_t got = std::fread(magic, 1, 4, file);
    std::fseek(file, 0, SEEK_END);
    fileSize_ = static_cast<double>(std::ftell(file));
    std::fclose(file);
    if (got < 4 || std::memcmp(magic, "GGUF", 4) != 0) {
      status_ = "not-gguf";
      return;
    }
    gguf_init_params params{true, nullptr};
    gguf_context* gguf = llama.gguf_init_from_file(path_.c_str(), params);
    if (gguf == nullptr) {
      status_ = "unreadable";
      log_ = recentLlamaLog();
      return;
    }
    version_ = llama.gguf_get_version(gguf);
    int64_t key = llama.gguf_find_key(gguf, "general.architecture");
    if (key >= 0 && llama.gguf_get_kv_type(gguf, key) == GGUF_TYPE_STRING) architecture_ = llama.gguf_get_val_str(gguf, key);
    nTensors_ = static_cast<double>(llama.gguf_get_n_tensors(gguf));
    size_t dataOffset = llama.gguf_get_data_offset(gguf);
    size_t end = dataOffset;
    for (int64_t i = 0; i < llama.gguf_get_n_tensors(gguf); i++) {
      end = std::max(end, dataOffset + llama.gguf_get_tensor_offset(gguf, i) + llama.gguf_get_tensor_size(gguf, i));
    }
    dataEnd_ = static_cast<double>(end);
    std::string blockKey = architecture_ + ".block_count";
    int64_t blocks = llama.gguf_find_key(gguf, blockKey.c_str());
    if (blocks >= 0 && llama.gguf_get_kv_type(gguf, blocks) == GGUF_TYPE_UINT32) blockCount_ = llama.gguf_get_val_u32(gguf, blocks);
    llama.gguf_free(gguf);
    status_ = dataEnd_ > fileSize_ ? "truncated" : "ok";
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("status", status_);
    out.Set("fileSize", fileSize_);
    out.Set("version", version_);
    out.Set("architecture", architecture_);
    out.Set("tensorCount", nTensors_);
    out.Set("dataEnd", dataEnd_);
    out.Set("blockCount", blockCount_);
    out.Set("log", log_);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  std::string status_;
  std::string architecture_;
  std::string log_;
  double fileSize_ = 0;
  double dataEnd_ = 0;
  double nTensors_ = 0;
  uint32_t version_ = 0;
  int64_t blockCount_ = -1;
};

Napi::Value InspectGguf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!llamaLibraryBound()) throw makeCodedError(env, "ADDON_LOAD_FAILED", "bind() must succeed before inspectGguf().");
  auto* worker = new InspectWorker(env, info[0].As<Napi::String>().Utf8Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

/** llama.cpp's own quantizer (llama_model_quantize) on a worker thread. */
class QuantizeWorker : public Napi::AsyncWorker {
 public:
  QuantizeWorker(Napi::Env env, std::string input, std::string output, llama_ftype type, int32_t threads)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), input_(std::move(input)), output_(std::move(output)), type_(type), threads_(threads) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    clearRecentLlamaLog();
    llama_model_quantize_params params = llama.llama_model_quantize_default_params();
    params.ftype = type_;
    params.nthread = threads_;
    if (llama.llama_model_quantize(input_.c_str(), output_.c_str(), &params) != 0) SetError("llama_model_quantize failed: " + recentLlamaLog());
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(makeCodedError(Env(), "MODEL_LOAD_FAILED", error.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string input_;
  std::string output_;
  llama_ftype type_;
  int32_t threads_;
};

// quantize(input, output, typeName, threads) -> Promise<void>
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!llamaLibraryBound()) throw makeCodedError(env, "ADDON_LOAD_FAILED", "bind() must succeed before quantize().");
  static const std::pair<const char*, llama_ftype> types[] = {
      {"f16", LLAMA_FTYPE_MOSTLY_F16},       {"bf16", LLAMA_FTYPE_MOSTLY_BF16},     {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},
      {"q6_k", LLAMA_FTYPE_MOSTLY_Q6_K},     {"q5_k_m", LLAMA_FTYPE_MOSTLY_Q5_K_M}, {"q5_k_s", LLAMA_FTYPE_MOSTLY_Q5_K_S},
      {"q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},     {"q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},     {"q4_k_m", LLAMA_FTYPE_MOSTLY_Q4_K_M},
      {"q4_k_s", LLAMA_FTYPE_MOSTLY_Q4_K_S}, {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},     {"q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},
      {"q3_k_m", LLAMA_FTYPE_MOSTLY_Q3_K_M}, {"q3_k_s", LLAMA_FTYPE_MOSTLY_Q3_K_S}, {"q3_k_l", LLAMA_FTYPE_MOSTLY_Q3_K_L},
      {"q2_k", LLAMA_FTYPE_MOSTLY_Q2_K},
  };
  std::string name = info[2].As<Napi::String>().Utf8Value();
  for (const auto& [known, type] : types) {
    if (name == known) {
      auto* worker = new QuantizeWorker(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(), type, info[3].As<Napi::Number>().Int32Value());
      Napi::Promise promise = worker->Promise();
      worker->Queue();
      return promise;
    }
  }
  std::string list;
  for (const auto& entry : types) list += (list.empty() ? "" : ", ") + std::string(entry.first);
  throw makeCodedError(env, "INVALID_ARGUMENT", "llama.cpp does not know the quantization type '" + name + "'; use one of " + list);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  g_modelConstructor = new Napi::FunctionReference(Napi::Persistent(ProbeModel::Define(env)));
  g_contextConstructor = new Napi::FunctionReference(Napi::Persistent(ProbeContext::Define(env)));
  exports.Set("bind", Napi::Function::New(env, Bind));
  exports.Set("inspectGguf", Napi::Function::New(env, InspectGguf));
  exports.Set("loadModel", Napi::Function::New(env, LoadModel));
  exports.Set("createContext", Napi::Function::New(env, CreateContext));
  exports.Set("quantize", Napi::Function::New(env, Quantize));
  exports.Set("abiVersion", Napi::Number::New(env, 4));
  return exports;
}

}  // namespace

NODE_API_MODULE(facet_probe, Init)
