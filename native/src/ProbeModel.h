#pragma once

#include <napi.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "LlamaSymbols.h"

/** A loaded llama_model. JS object: tokenizer and template calls are synchronous (cheap). */
class ProbeModel : public Napi::ObjectWrap<ProbeModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ProbeModel(const Napi::CallbackInfo& info);
  ~ProbeModel() override;

  llama_model* model() const { return model_; }
  const llama_vocab* vocab() const { return vocab_; }
  void adopt(llama_model* model);

  std::vector<llama_token> tokenize(const std::string& text, bool addSpecial, bool parseSpecial) const;
  std::string piece(llama_token token, bool special) const;

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Tokenize(const Napi::CallbackInfo& info);
  Napi::Value Detokenize(const Napi::CallbackInfo& info);
  Napi::Value TokenPieces(const Napi::CallbackInfo& info);
  Napi::Value ApplyChatTemplate(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  void ensureOpen(Napi::Env env) const;
  std::string metaString(const char* key) const;

  llama_model* model_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
};

/** Loads a model file off the JS thread and resolves with a ProbeModel. */
Napi::Value LoadModel(const Napi::CallbackInfo& info);

extern Napi::FunctionReference* g_modelConstructor;
