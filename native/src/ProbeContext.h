#pragma once

#include <napi.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "LlamaSymbols.h"

class ProbeModel;

/**
 * What the eval callback fills during one capture: rows of `l_out-<layer>` for a range of the
 * token stream (all samples concatenated in order).
 */
struct CaptureState {
  std::vector<int32_t> layers;          // wanted block indices, ascending
  std::vector<float*> outputs;          // per wanted layer: [streamTokens, nEmbd] row-major
  int32_t nEmbd = 0;
  int64_t callStart = 0;                // stream index of the first token in the current decode
  int64_t callTokens = 0;               // tokens in the current decode
  std::vector<bool> seenInCall;         // per wanted layer
  bool stopEarly = false;               // abort the graph after the deepest wanted layer
  bool stoppedEarly = false;
  std::string error;
};

class ProbeContext : public Napi::ObjectWrap<ProbeContext> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ProbeContext(const Napi::CallbackInfo& info);
  ~ProbeContext() override;

  void adopt(llama_context* ctx, ProbeModel* model, Napi::Object modelObject);

  llama_context* ctx() const { return ctx_; }
  ProbeModel* model() const { return model_; }
  std::mutex& busy() { return busy_; }
  std::atomic<bool>& abortFlag() { return abort_; }
  /** Tokens produced by the running generation (read from the JS thread for progress). */
  std::atomic<int32_t>& generatedTokens() { return generated_; }
  CaptureState* capture = nullptr;

  static bool evalCallback(ggml_tensor* tensor, bool ask, void* userData);
  static bool abortCallback(void* userData);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Capture(const Napi::CallbackInfo& info);
  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value SetSteering(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Progress(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  void ensureOpen(Napi::Env env) const;

  llama_context* ctx_ = nullptr;
  ProbeModel* model_ = nullptr;
  Napi::ObjectReference modelRef_;
  std::mutex busy_;
  std::atomic<bool> abort_{false};
  std::atomic<int32_t> generated_{0};
};

/** createContext(model, options) -> Promise<ProbeContext> */
Napi::Value CreateContext(const Napi::CallbackInfo& info);

extern Napi::FunctionReference* g_contextConstructor;
