#include "ProbeModel.h"

#include "ProbeErrors.h"

Napi::FunctionReference* g_modelConstructor = nullptr;

Napi::Function ProbeModel::Define(Napi::Env env) {
  return DefineClass(env, "ProbeModel",
                     {
                         InstanceMethod("info", &ProbeModel::Info),
                         InstanceMethod("tokenize", &ProbeModel::Tokenize),
                         InstanceMethod("detokenize", &ProbeModel::Detokenize),
                         InstanceMethod("tokenPieces", &ProbeModel::TokenPieces),
                         InstanceMethod("applyChatTemplate", &ProbeModel::ApplyChatTemplate),
                         InstanceMethod("dispose", &ProbeModel::Dispose),
                     });
}

ProbeModel::ProbeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProbeModel>(info) {}

ProbeModel::~ProbeModel() {
  if (model_ != nullptr) llama.llama_model_free(model_);
}

void ProbeModel::adopt(llama_model* model) {
  model_ = model;
  vocab_ = llama.llama_model_get_vocab(model);
}

void ProbeModel::ensureOpen(Napi::Env env) const {
  if (model_ == nullptr) throw makeCodedError(env, "INVALID_ARGUMENT", "The model was disposed.");
}

std::string ProbeModel::metaString(const char* key) const {
  char buffer[256];
  int32_t n = llama.llama_model_meta_val_str(model_, key, buffer, sizeof(buffer));
  if (n < 0) return "";
  if (static_cast<size_t>(n) < sizeof(buffer)) return std::string(buffer, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(n) + 1, '\0');
  llama.llama_model_meta_val_str(model_, key, big.data(), big.size());
  big.resize(static_cast<size_t>(n));
  return big;
}

std::vector<llama_token> ProbeModel::tokenize(const std::string& text, bool addSpecial, bool parseSpecial) const {
  std::vector<llama_token> tokens(text.size() + 8);
  int32_t n = llama.llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                                   static_cast<int32_t>(tokens.size()), addSpecial, parseSpecial);
  if (n < 0) {
    tokens.resize(static_cast<size_t>(-n));
    n = llama.llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                             static_cast<int32_t>(tokens.size()), addSpecial, parseSpecial);
  }
  tokens.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return tokens;
}

std::string ProbeModel::piece(llama_token token, bool special) const {
  char buffer[128];
  int32_t n = llama.llama_token_to_piece(vocab_, token, buffer, sizeof(buffer), 0, special);
  if (n >= 0) return std::string(buffer, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(-n), '\0');
  n = llama.llama_token_to_piece(vocab_, token, big.data(), static_cast<int32_t>(big.size()), 0, special);
  big.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return big;
}

Napi::Value ProbeModel::Info(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
  Napi::Env env = info.Env();
  ensureOpen(env);
  Napi::Object out = Napi::Object::New(env);
  out.Set("architecture", metaString("general.architecture"));
  out.Set("name", metaString("general.name"));
  out.Set("nLayer", llama.llama_model_n_layer(model_));
  out.Set("nEmbd", llama.llama_model_n_embd(model_));
  out.Set("nHead", llama.llama_model_n_head(model_));
  out.Set("nHeadKv", llama.llama_model_n_head_kv(model_));
  out.Set("nCtxTrain", llama.llama_model_n_ctx_train(model_));
  out.Set("nVocab", llama.llama_vocab_n_tokens(vocab_));
  out.Set("bos", llama.llama_vocab_bos(vocab_));
  out.Set("eos", llama.llama_vocab_eos(vocab_));
  out.Set("eot", llama.llama_vocab_eot(vocab_));
  out.Set("addBos", llama.llama_vocab_get_add_bos(vocab_));
  out.Set("sizeBytes", static_cast<double>(llama.llama_model_size(model_)));
  out.Set("nParams", static_cast<double>(llama.llama_model_n_params(model_)));
  out.Set("hasEncoder", llama.llama_model_has_encoder(model_));
  out.Set("isRecurrent", llama.llama_model_is_recurrent(model_));
  const char* tmpl = llama.llama_model_chat_template(model_, nullptr);
  out.Set("chatTemplate", tmpl == nullptr ? env.Null() : Napi::String::New(env, tmpl));
  char desc[256];
  int32_t n = llama.llama_model_desc(model_, desc, sizeof(desc));
  out.Set("description", std::string(desc, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof(desc) - 1) : 0));
  return out;
  });
}

// tokenize(text, addSpecial, parseSpecial) -> Int32Array
Napi::Value ProbeModel::Tokenize(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
  Napi::Env env = info.Env();
  ensureOpen(env);
  std::string text = info[0].As<Napi::String>().Utf8Value();
  bool addSpecial = info[1].ToBoolean().Value();
  bool parseSpecial = info[2].ToBoolean().Value();
  std::vector<llama_token> tokens = tokenize(text, addSpecial, parseSpecial);
  Napi::Int32Array out = Napi::Int32Array::New(env, tokens.size());
  std::copy(tokens.begin(), tokens.end(), out.Data());
  return out;
  });
}

// detokenize(Int32Array, removeSpecial, unparseSpecial) -> string
Napi::Value ProbeModel::Detokenize(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
  Napi::Env env = info.Env();
  ensureOpen(env);
  Napi::Int32Array tokens = info[0].As<Napi::Int32Array>();
  bool removeSpecial = info[1].ToBoolean().Value();
  bool unparseSpecial = info[2].ToBoolean().Value();
  int32_t nVocab = llama.llama_vocab_n_tokens(vocab_);
  for (size_t i = 0; i < tokens.ElementLength(); i++) {
    if (tokens[i] < 0 || tokens[i] >= nVocab) {
      throw makeCodedError(env, "INVALID_ARGUMENT", "Token id " + std::to_string(tokens[i]) + " is outside the vocabulary (0.." + std::to_string(nVocab - 1) + ").");
    }
  }
  std::string text(tokens.ElementLength() * 8 + 16, '\0');
  int32_t n = llama.llama_detokenize(vocab_, tokens.Data(), static_cast<int32_t>(tokens.ElementLength()), text.data(),
                                     static_cast<int32_t>(text.size()), removeSpecial, unparseSpecial);
  if (n < 0) {
    text.resize(static_cast<size_t>(-n));
    n = llama.llama_detokenize(vocab_, tokens.Data(), static_cast<int32_t>(tokens.ElementLength()), text.data(),
                               static_cast<int32_t>(text.size()), removeSpecial, unparseSpecial);
  }
  text.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return Napi::String::New(env, text);
  });
}

// tokenPieces(Int32Array) -> Buffer[] (raw bytes: a piece may hold part of a UTF-8 character)
Napi::Value ProbeModel::TokenPieces(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
  Napi::Env env = info.Env();
  ensureOpen(env);
  Napi::Int32Array tokens = info[0].As<Napi::Int32Array>();
  int32_t nVocab = llama.llama_vocab_n_tokens(vocab_);
  Napi::Array out = Napi::Array::New(env, tokens.ElementLength());
  for (size_t i = 0; i < tokens.ElementLength(); i++) {
    llama_token token = tokens[i];
    std::string text = token >= 0 && token < nVocab ? piece(token, true) : std::string();
    out.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, text.data(), text.size()));
  }
  return out;
  });
}

// applyChatTemplate(template | null, [{role, content}], addAssistant) -> string
// Uses llama.cpp's built-in template matcher (a template string or a built-in name such as "llama3").
Napi::Value ProbeModel::ApplyChatTemplate(const Napi::CallbackInfo& info) {
  return guardNative(info.Env(), [&]() -> Napi::Value {
  Napi::Env env = info.Env();
  ensureOpen(env);
  std::string tmpl;
  bool hasTemplate = info[0].IsString();
  if (hasTemplate) tmpl = info[0].As<Napi::String>().Utf8Value();
  Napi::Array messages = info[1].As<Napi::Array>();
  bool addAssistant = info[2].ToBoolean().Value();
  std::vector<std::string> roles, contents;
  for (uint32_t i = 0; i < messages.Length(); i++) {
    Napi::Object message = messages.Get(i).As<Napi::Object>();
    roles.push_back(message.Get("role").As<Napi::String>().Utf8Value());
    contents.push_back(message.Get("content").As<Napi::String>().Utf8Value());
  }
  std::vector<llama_chat_message> chat(roles.size());
  size_t total = 0;
  for (size_t i = 0; i < roles.size(); i++) {
    chat[i].role = roles[i].c_str();
    chat[i].content = contents[i].c_str();
    total += contents[i].size();
  }
  const char* tmplPtr = hasTemplate ? tmpl.c_str() : llama.llama_model_chat_template(model_, nullptr);
  std::string out(total * 2 + 256, '\0');
  int32_t n = llama.llama_chat_apply_template(tmplPtr, chat.data(), chat.size(), addAssistant, out.data(),
                                              static_cast<int32_t>(out.size()));
  if (n > static_cast<int32_t>(out.size())) {
    out.resize(static_cast<size_t>(n));
    n = llama.llama_chat_apply_template(tmplPtr, chat.data(), chat.size(), addAssistant, out.data(),
                                        static_cast<int32_t>(out.size()));
  }
  if (n < 0) {
    throw makeCodedError(env, "MODEL_ARCH_UNSUPPORTED",
                         "llama.cpp does not recognise this model's chat template; pass --no-template or a built-in template name.");
  }
  out.resize(static_cast<size_t>(n));
  return Napi::String::New(env, out);
  });
}

Napi::Value ProbeModel::Dispose(const Napi::CallbackInfo& info) {
  if (model_ != nullptr) {
    llama.llama_model_free(model_);
    model_ = nullptr;
    vocab_ = nullptr;
  }
  return info.Env().Undefined();
}

// ---- loading ----

class LoadModelWorker : public Napi::AsyncWorker {
 public:
  LoadModelWorker(Napi::Env env, std::string path, int32_t gpuLayers, bool useMmap)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        gpuLayers_(gpuLayers), useMmap_(useMmap) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    clearRecentLlamaLog();
    llama_model_params params = llama.llama_model_default_params();
    params.n_gpu_layers = gpuLayers_;
    params.load_mode = useMmap_ ? params.load_mode : LLAMA_LOAD_MODE_NONE;
    model_ = llama.llama_model_load_from_file(path_.c_str(), params);
    if (model_ == nullptr) {
      std::string why = recentLlamaLog();
      SetError("llama.cpp could not load " + path_ + (why.empty() ? "" : ": " + why));
    }
  }

  void OnOK() override {
    Napi::Object object = g_modelConstructor->New({});
    ProbeModel::Unwrap(object)->adopt(model_);
    deferred_.Resolve(object);
  }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(makeCodedError(Env(), "MODEL_LOAD_FAILED", error.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  int32_t gpuLayers_;
  bool useMmap_;
  llama_model* model_ = nullptr;
};

// loadModel(path, { gpuLayers, useMmap }) -> Promise<ProbeModel>
Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!llamaLibraryBound()) throw makeCodedError(env, "ADDON_LOAD_FAILED", "bind() must succeed before loadModel().");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Object options = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  int32_t gpuLayers = options.Has("gpuLayers") ? options.Get("gpuLayers").As<Napi::Number>().Int32Value() : 0;
  bool useMmap = options.Has("useMmap") ? options.Get("useMmap").ToBoolean().Value() : true;
  auto* worker = new LoadModelWorker(env, path, gpuLayers, useMmap);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}
