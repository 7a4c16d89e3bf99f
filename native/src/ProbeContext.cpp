#include "ProbeContext.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "ProbeErrors.h"
#include "ProbeModel.h"

Napi::FunctionReference* g_contextConstructor = nullptr;

Napi::Function ProbeContext::Define(Napi::Env env) {
  return DefineClass(env, "ProbeContext",
                     {
                         InstanceMethod("info", &ProbeContext::Info),
                         InstanceMethod("capture", &ProbeContext::Capture),
                         InstanceMethod("generate", &ProbeContext::Generate),
                         InstanceMethod("setSteering", &ProbeContext::SetSteering),
                         InstanceMethod("abort", &ProbeContext::Abort),
                         InstanceMethod("progress", &ProbeContext::Progress),
                         InstanceMethod("dispose", &ProbeContext::Dispose),
                     });
}

ProbeContext::ProbeContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProbeContext>(info) {}

ProbeContext::~ProbeContext() {
  if (ctx_ != nullptr) llama.llama_free(ctx_);
}

void ProbeContext::adopt(llama_context* ctx, ProbeModel* model, Napi::Object modelObject) {
  ctx_ = ctx;
  model_ = model;
  modelRef_ = Napi::Persistent(modelObject);
}

void ProbeContext::ensureOpen(Napi::Env env) const {
  if (ctx_ == nullptr || model_ == nullptr || model_->model() == nullptr) {
    throw makeCodedError(env, "INVALID_ARGUMENT", "The context (or its model) was disposed.");
  }
}

bool ProbeContext::abortCallback(void* userData) {
  return static_cast<ProbeContext*>(userData)->abort_.load();
}

// Called by the graph scheduler for every node: ask=true "do you want to see this node?",
// ask=false "here it is, computed"; returning false then cancels the rest of the graph.
bool ProbeContext::evalCallback(ggml_tensor* tensor, bool ask, void* userData) {
  auto* self = static_cast<ProbeContext*>(userData);
  CaptureState* state = self->capture;
  if (state == nullptr) return !ask;
  const char* name = tensor->name;
  if (std::strncmp(name, "l_out-", 6) != 0) return !ask;
  char* end = nullptr;
  long layer = std::strtol(name + 6, &end, 10);
  if (end == name + 6 || *end != '\0') return !ask;
  auto it = std::find(state->layers.begin(), state->layers.end(), static_cast<int32_t>(layer));
  if (it == state->layers.end()) return !ask;
  if (ask) return true;
  size_t slot = static_cast<size_t>(it - state->layers.begin());
  if (state->seenInCall[slot]) return true;
  state->seenInCall[slot] = true;
  if (tensor->type != GGML_TYPE_F32 || tensor->ne[0] != state->nEmbd || !llama.ggml_is_contiguous(tensor)) {
    state->error = std::string("tensor ") + name + " is not a contiguous float32 [n_embd, tokens] tensor";
    return false;
  }
  if (tensor->ne[1] != state->callTokens) {
    state->error = std::string("tensor ") + name + " has " + std::to_string(tensor->ne[1]) + " rows, expected " +
                   std::to_string(state->callTokens);
    return false;
  }
  float* dest = state->outputs[slot] + state->callStart * state->nEmbd;
  llama.ggml_backend_tensor_get(tensor, dest, 0, static_cast<size_t>(state->callTokens * state->nEmbd) * sizeof(float));
  if (state->stopEarly && static_cast<int32_t>(layer) == state->layers.back()) {
    state->stoppedEarly = true;
    return false;
  }
  return true;
}

Napi::Value ProbeContext::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureOpen(env);
  Napi::Object out = Napi::Object::New(env);
  out.Set("nCtx", llama.llama_n_ctx(ctx_));
  out.Set("nBatch", llama.llama_n_batch(ctx_));
  out.Set("nUbatch", llama.llama_n_ubatch(ctx_));
  out.Set("nSeqMax", llama.llama_n_seq_max(ctx_));
  return out;
}

Napi::Value ProbeContext::Progress(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), generated_.load());
}

Napi::Value ProbeContext::Abort(const Napi::CallbackInfo& info) {
  abort_.store(true);
  return info.Env().Undefined();
}

// setSteering(Float32Array | null, layerStart, layerEnd): data = n_embd floats per layer from layer 1.
Napi::Value ProbeContext::SetSteering(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureOpen(env);
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) throw makeCodedError(env, "INVALID_ARGUMENT", "The context is busy; set steering between calls.");
  int32_t nEmbd = llama.llama_model_n_embd(model_->model());
  int32_t result;
  if (info[0].IsNull() || info[0].IsUndefined()) {
    result = llama.llama_set_adapter_cvec(ctx_, nullptr, 0, nEmbd, 0, 0);
  } else {
    Napi::Float32Array data = info[0].As<Napi::Float32Array>();
    int32_t start = info[1].As<Napi::Number>().Int32Value();
    int32_t endLayer = info[2].As<Napi::Number>().Int32Value();
    result = llama.llama_set_adapter_cvec(ctx_, data.Data(), data.ElementLength(), nEmbd, start, endLayer);
  }
  if (result != 0) {
    throw makeCodedError(env, "INTERNAL", "llama.cpp refused the steering vector: " + recentLlamaLog());
  }
  return env.Undefined();
}

Napi::Value ProbeContext::Dispose(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(busy_);
  if (ctx_ != nullptr) {
    llama.llama_free(ctx_);
    ctx_ = nullptr;
  }
  if (!modelRef_.IsEmpty()) modelRef_.Reset();
  model_ = nullptr;
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- capture

namespace {

/** One llama_decode call of the capture: a slice [start, start+count) of the token stream. */
struct CapturePiece {
  int32_t sample;
  int32_t offset;  // position of the first token inside the sample
  int32_t count;
  int32_t seq;
};

class CaptureWorker : public Napi::AsyncWorker {
 public:
  CaptureWorker(Napi::Env env, ProbeContext* owner, Napi::Object ownerObject)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner) {
    ownerRef_ = Napi::Persistent(ownerObject);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  std::vector<std::vector<llama_token>> samples;
  CaptureState state;
  bool earlyStop = true;
  Napi::ObjectReference outputsRef;
  int32_t calls = 0;
  int32_t earlyCalls = 0;
  std::string errorCode = "INTERNAL";

  void Execute() override {
    std::lock_guard<std::mutex> lock(owner_->busy());
    clearRecentLlamaLog();
    llama_context* ctx = owner_->ctx();
    llama_model* model = owner_->model()->model();
    llama_memory_t memory = llama.llama_get_memory(ctx);
    const int32_t nLayer = llama.llama_model_n_layer(model);
    const int32_t nCtx = static_cast<int32_t>(llama.llama_n_ctx(ctx));
    const int32_t nBatch = static_cast<int32_t>(std::min(llama.llama_n_batch(ctx), llama.llama_n_ubatch(ctx)));
    const int32_t nSeq = static_cast<int32_t>(llama.llama_n_seq_max(ctx));
    // The last block only yields rows for tokens that produce outputs: ask for all of them.
    const bool allOutputs = state.layers.back() == nLayer - 1;
    // Early stop buys nothing when the deepest wanted layer is the last block.
    const bool mayStop = earlyStop && !allOutputs;
    // A sample split across decodes needs its earlier pieces' KV rows for blocks <= L. When the
    // scheduler ends a stopped graph as success (rc 0) the rows stay in memory and split samples
    // can stop early too; if it reports an abort (rc 2) llama.cpp drops the ubatch's rows, so the
    // decode is redone in full and splitting falls back to full graphs.
    bool splitStop = mayStop;

    for (const auto& sample : samples) {
      if (static_cast<int32_t>(sample.size()) > nCtx) {
        errorCode = "PROMPT_TOO_LONG";
        SetError("a sample has " + std::to_string(sample.size()) + " tokens but the context holds " + std::to_string(nCtx));
        return;
      }
    }

    llama_batch batch = llama.llama_batch_init(nBatch, 0, 1);
    llama.llama_memory_clear(memory, false);
    owner_->capture = &state;
    state.seenInCall.assign(state.layers.size(), false);

    size_t sampleIndex = 0;
    int32_t offset = 0;      // next token inside samples[sampleIndex]
    int32_t carriedSeq = -1; // sequence of a sample split across decodes
    int64_t streamPos = 0;
    std::vector<CapturePiece> pieces;

    while (sampleIndex < samples.size()) {
      if (owner_->abortFlag().load()) {
        errorCode = "CANCELLED";
        SetError("Cancelled.");
        break;
      }
      // Fill one decode densely; when split samples cannot stop early, end the decode at a sample
      // boundary instead (a sample is then split only when it cannot fit in an empty decode).
      pieces.clear();
      int32_t used = 0;
      // tokens of a split sample already in memory count against the context
      int32_t capacity = std::min(nBatch, nCtx - offset);
      size_t scan = sampleIndex;
      int32_t scanOffset = offset;
      bool partialAtEnd = false;
      while (scan < samples.size() && used < capacity && static_cast<int32_t>(pieces.size()) < nSeq) {
        int32_t remaining = static_cast<int32_t>(samples[scan].size()) - scanOffset;
        int32_t space = capacity - used;
        if (remaining <= space) {
          pieces.push_back({static_cast<int32_t>(scan), scanOffset, remaining, 0});
          used += remaining;
          scan++;
          scanOffset = 0;
          continue;
        }
        if (pieces.empty() || !mayStop || splitStop) {
          pieces.push_back({static_cast<int32_t>(scan), scanOffset, space, 0});
          used += space;
          scanOffset += space;
          partialAtEnd = true;
        }
        break;
      }
      // sequence ids: a carried sample keeps its id, the others take the free ones
      int32_t nextSeq = 0;
      for (auto& piece : pieces) {
        if (piece.offset > 0 && carriedSeq >= 0) {
          piece.seq = carriedSeq;
        } else {
          if (nextSeq == carriedSeq) nextSeq++;
          piece.seq = nextSeq++;
        }
      }
      batch.n_tokens = 0;
      for (const auto& piece : pieces) {
        const auto& tokens = samples[static_cast<size_t>(piece.sample)];
        for (int32_t i = 0; i < piece.count; i++) {
          int32_t k = batch.n_tokens++;
          batch.token[k] = tokens[static_cast<size_t>(piece.offset + i)];
          batch.pos[k] = piece.offset + i;
          batch.n_seq_id[k] = 1;
          batch.seq_id[k][0] = piece.seq;
          batch.logits[k] = allOutputs ? 1 : 0;
        }
      }
      if (!allOutputs) batch.logits[batch.n_tokens - 1] = 1;

      state.callStart = streamPos;
      state.callTokens = batch.n_tokens;
      std::fill(state.seenInCall.begin(), state.seenInCall.end(), false);
      state.stopEarly = mayStop && (!partialAtEnd || splitStop);
      state.stoppedEarly = false;

      int32_t rc = llama.llama_decode(ctx, batch);
      calls++;
      if (rc == 2 && state.stoppedEarly && partialAtEnd && state.error.empty() && !owner_->abortFlag().load()) {
        splitStop = false;
        std::fill(state.seenInCall.begin(), state.seenInCall.end(), false);
        state.stopEarly = false;
        state.stoppedEarly = false;
        rc = llama.llama_decode(ctx, batch);
        calls++;
      }
      if (!state.error.empty()) {
        SetError(state.error);
        break;
      }
      // The scheduler either skips the rest of the graph (rc 0) or reports an abort (rc 2).
      if ((rc == 0 || rc == 2) && state.stoppedEarly) {
        earlyCalls++;
      } else if (rc == 2 || owner_->abortFlag().load()) {
        errorCode = "CANCELLED";
        SetError("Cancelled.");
        break;
      } else if (rc == 1) {
        errorCode = "PROMPT_TOO_LONG";
        SetError("the context has no room for " + std::to_string(batch.n_tokens) + " more tokens (context " +
                 std::to_string(nCtx) + "); use a larger context or shorter samples");
        break;
      } else if (rc != 0) {
        SetError("llama_decode failed with code " + std::to_string(rc) + ": " + recentLlamaLog());
        break;
      }
      for (size_t slot = 0; slot < state.layers.size(); slot++) {
        if (!state.seenInCall[slot]) {
          errorCode = "MODEL_ARCH_UNSUPPORTED";
          state.error = "the compute graph has no tensor l_out-" + std::to_string(state.layers[slot]) +
                        " (this architecture does not expose the residual stream per block)";
          break;
        }
      }
      if (!state.error.empty()) {
        SetError(state.error);
        break;
      }

      // finished samples leave memory; a split one stays for its next piece
      carriedSeq = -1;
      for (const auto& piece : pieces) {
        bool finished = piece.offset + piece.count == static_cast<int32_t>(samples[static_cast<size_t>(piece.sample)].size());
        if (finished) {
          llama.llama_memory_seq_rm(memory, piece.seq, -1, -1);
        } else {
          carriedSeq = piece.seq;
        }
      }
      streamPos += batch.n_tokens;
      sampleIndex = scan;
      offset = scanOffset;
    }

    owner_->capture = nullptr;
    llama.llama_memory_clear(memory, false);
    llama.llama_batch_free(batch);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("layers", outputsRef.Value());
    result.Set("calls", calls);
    result.Set("earlyStoppedCalls", earlyCalls);
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(makeCodedError(Env(), errorCode, error.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ProbeContext* owner_;
  Napi::ObjectReference ownerRef_;
};

}  // namespace

// capture(samples: Int32Array[], layers: Int32Array (ascending), earlyStop: boolean)
//   -> Promise<{ layers: Float32Array[] each [sum(len), nEmbd], calls, earlyStoppedCalls }>
Napi::Value ProbeContext::Capture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureOpen(env);
  Napi::Array samplesArray = info[0].As<Napi::Array>();
  Napi::Int32Array layersArray = info[1].As<Napi::Int32Array>();
  bool earlyStop = info[2].ToBoolean().Value();
  llama_model* model = model_->model();
  const int32_t nLayer = llama.llama_model_n_layer(model);
  const int32_t nEmbd = llama.llama_model_n_embd(model);
  const int32_t nVocab = llama.llama_vocab_n_tokens(model_->vocab());

  auto* worker = new CaptureWorker(env, this, Value());
  worker->earlyStop = earlyStop;
  worker->state.nEmbd = nEmbd;
  try {
    if (layersArray.ElementLength() == 0) throw makeCodedError(env, "INVALID_ARGUMENT", "capture needs at least one layer");
    for (size_t i = 0; i < layersArray.ElementLength(); i++) {
      int32_t layer = layersArray[i];
      if (layer < 0 || layer >= nLayer) {
        throw makeCodedError(env, "LAYER_OUT_OF_RANGE",
                             "layer " + std::to_string(layer) + " is outside 0.." + std::to_string(nLayer - 1));
      }
      if (i > 0 && layer <= layersArray[i - 1]) throw makeCodedError(env, "INVALID_ARGUMENT", "layers must ascend");
      worker->state.layers.push_back(layer);
    }
    int64_t total = 0;
    for (uint32_t i = 0; i < samplesArray.Length(); i++) {
      Napi::Int32Array tokens = samplesArray.Get(i).As<Napi::Int32Array>();
      if (tokens.ElementLength() == 0) throw makeCodedError(env, "INVALID_ARGUMENT", "sample " + std::to_string(i) + " has no tokens");
      std::vector<llama_token> copy(tokens.Data(), tokens.Data() + tokens.ElementLength());
      for (llama_token token : copy) {
        if (token < 0 || token >= nVocab) {
          throw makeCodedError(env, "INVALID_ARGUMENT", "sample " + std::to_string(i) + " holds token id " + std::to_string(token) + " outside the vocabulary");
        }
      }
      total += static_cast<int64_t>(copy.size());
      worker->samples.push_back(std::move(copy));
    }
    if (worker->samples.empty()) throw makeCodedError(env, "INVALID_ARGUMENT", "capture needs at least one sample");
    // Outputs live in JS-owned buffers (no external buffers: Electron forbids them).
    Napi::Array outputs = Napi::Array::New(env, worker->state.layers.size());
    for (size_t slot = 0; slot < worker->state.layers.size(); slot++) {
      Napi::Float32Array array = Napi::Float32Array::New(env, static_cast<size_t>(total * nEmbd));
      worker->state.outputs.push_back(array.Data());
      outputs.Set(static_cast<uint32_t>(slot), array);
    }
    worker->outputsRef = Napi::Persistent(outputs.As<Napi::Object>());
  } catch (...) {
    delete worker;
    throw;
  }
  abort_.store(false);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// ---------------------------------------------------------------- generation

namespace {

struct SamplingOptions {
  float temperature = 0.8f;
  float topP = 0.95f;
  int32_t topK = 40;
  float minP = 0.05f;
  float repeatPenalty = 1.0f;
  int32_t repeatLastN = 64;
  uint32_t seed = 0;
  std::string grammar;
  std::string grammarRoot = "root";
};

// One generated sequence: its prompt, the earlier sequence whose KV cells it reuses for the first
// `shared` prompt tokens (or -1), its sampler and its output.
struct Candidate {
  std::vector<llama_token> prompt;
  int32_t donor = -1;
  int32_t shared = 0;
  std::vector<llama_token> tokens;
  std::string text;
  std::string finish = "length";
  llama_sampler* sampler = nullptr;
  llama_sampler* grammar = nullptr;
  // The vocabulary as candidates, refilled from the logits at every step (one buffer per sequence,
  // so sequences can be sampled on several threads).
  std::vector<llama_token_data> scratch;
  bool active = true;
  int32_t batchIndex = -1;
  // Position of the next token this sequence feeds to the model.
  int32_t position = 0;
};

class GenerateWorker : public Napi::AsyncWorker {
 public:
  GenerateWorker(Napi::Env env, ProbeContext* owner, Napi::Object ownerObject)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner) {
    ownerRef_ = Napi::Persistent(ownerObject);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  int32_t maxTokens = 128;
  SamplingOptions options;
  std::vector<std::string> stops;
  std::string errorCode = "INTERNAL";
  std::vector<Candidate> candidates;

  // The sampling chain (penalties, top-k/top-p/min-p, temperature, then dist or greedy), without the grammar.
  llama_sampler* makeSampler(const llama_vocab* vocab, uint32_t seed) {
    llama_sampler* chain = llama.llama_sampler_chain_init(llama.llama_sampler_chain_default_params());
    if (options.repeatPenalty != 1.0f) {
      llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_penalties(llama.llama_vocab_n_tokens(vocab), options.repeatLastN,
                                                                              options.repeatPenalty, 0.0f, 0.0f));
    }
    if (options.temperature <= 0.0f) {
      llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_greedy());
      return chain;
    }
    if (options.topK > 0) llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_top_k(options.topK));
    if (options.topP < 1.0f) llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_top_p(options.topP, 1));
    if (options.minP > 0.0f) llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_min_p(options.minP, 1));
    llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_temp(options.temperature));
    llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_dist(seed));
    return chain;
  }

  // Samples a sequence's next token. With a grammar, the token the chain picks from the full
  // vocabulary is checked against the grammar alone (one candidate, cheap); only when the grammar
  // rejects it is the grammar applied to every token and the chain run again on what is left. The
  // grammar then always decides, but a model that follows the format (most steps of a real model)
  // does not pay for matching the grammar against the whole vocabulary at every step.
  llama_token sample(Candidate& candidate, llama_context* ctx, int32_t nVocab) {
    const float* logits = llama.llama_get_logits_ith(ctx, candidate.batchIndex);
    auto fill = [&]() {
      for (int32_t t = 0; t < nVocab; t++) candidate.scratch[static_cast<size_t>(t)] = llama_token_data{t, logits[t], 0.0f};
      return llama_token_data_array{candidate.scratch.data(), static_cast<size_t>(nVocab), -1, false};
    };
    candidate.scratch.resize(static_cast<size_t>(nVocab));
    llama_token_data_array all = fill();
    llama.llama_sampler_apply(candidate.sampler, &all);
    llama_token token = all.data[all.selected].id;
    if (candidate.grammar != nullptr) {
      llama_token_data single{token, 1.0f, 0.0f};
      llama_token_data_array one{&single, 1, -1, false};
      llama.llama_sampler_apply(candidate.grammar, &one);
      if (std::isinf(single.logit)) {
        all = fill();
        // The chain keeps at most `needed` tokens (greedy: 1, top-k: k). When the grammar leaves at
        // least that many among the highest-logit tokens, they are exactly the ones it would keep
        // from the whole vocabulary, so matching the grammar against that head is enough.
        const size_t needed = options.temperature <= 0.0f ? 1 : static_cast<size_t>(std::max(0, options.topK));
        const size_t head = std::min<size_t>(all.size, std::max<size_t>(1024, 25 * needed));
        bool done = false;
        // (A repeat penalty changes logits inside the chain, so then the whole vocabulary is matched.)
        if (needed > 0 && head < all.size && options.repeatPenalty == 1.0f) {
          std::nth_element(all.data, all.data + head, all.data + all.size, [](const llama_token_data& a, const llama_token_data& b) { return a.logit > b.logit; });
          llama_token_data_array top{all.data, head, -1, false};
          llama.llama_sampler_apply(candidate.grammar, &top);
          size_t allowed = 0;
          for (size_t t = 0; t < top.size; t++) allowed += std::isinf(top.data[t].logit) ? 0 : 1;
          if (allowed >= needed) {
            llama.llama_sampler_apply(candidate.sampler, &top);
            token = top.data[top.selected].id;
            done = true;
          } else {
            all = fill();
          }
        }
        if (!done) {
          llama.llama_sampler_apply(candidate.grammar, &all);
          llama.llama_sampler_apply(candidate.sampler, &all);
          token = all.data[all.selected].id;
        }
      }
      llama.llama_sampler_accept(candidate.grammar, token);
    }
    llama.llama_sampler_accept(candidate.sampler, token);
    return token;
  }

  // Samples the given sequences, spread over the context's threads (each sequence has its own
  // samplers and buffer), then appends the tokens in sequence order. False if sampling threw.
  bool sampleAll(const std::vector<int32_t>& which, llama_context* ctx, int32_t nVocab, const llama_vocab* vocab) {
    if (which.empty()) return true;
    const int32_t workers = std::min<int32_t>(static_cast<int32_t>(which.size()), std::max<int32_t>(1, llama.llama_n_threads(ctx)));
    std::vector<llama_token> tokens(which.size());
    std::atomic<bool> threw{false};
    std::string what;
    std::mutex whatLock;
    auto work = [&](int32_t worker) {
      try {
        for (size_t j = static_cast<size_t>(worker); j < which.size(); j += static_cast<size_t>(workers)) {
          tokens[j] = sample(candidates[static_cast<size_t>(which[j])], ctx, nVocab);
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> guard(whatLock);
        what = e.what();
        threw.store(true);
      }
    };
    std::vector<std::thread> pool;
    for (int32_t worker = 1; worker < workers; worker++) pool.emplace_back(work, worker);
    work(0);
    for (auto& thread : pool) thread.join();
    if (threw.load()) {
      SetError("sampling failed: " + what);
      return false;
    }
    for (size_t j = 0; j < which.size(); j++) {
      Candidate& candidate = candidates[static_cast<size_t>(which[j])];
      candidate.active = accept(candidate, tokens[j], vocab);
    }
    return true;
  }

  // Appends a token; returns false when the candidate is finished.
  bool accept(Candidate& candidate, llama_token token, const llama_vocab* vocab) {
    if (llama.llama_vocab_is_eog(vocab, token)) {
      candidate.finish = "eog";
      return false;
    }
    candidate.tokens.push_back(token);
    owner_->generatedTokens().fetch_add(1);
    std::string piece = owner_->model()->piece(token, false);
    size_t before = candidate.text.size();
    candidate.text += piece;
    for (const auto& stop : stops) {
      size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
      size_t at = candidate.text.find(stop, from);
      if (at != std::string::npos) {
        candidate.text.resize(at);
        candidate.finish = "stop";
        return false;
      }
    }
    if (static_cast<int32_t>(candidate.tokens.size()) >= maxTokens) {
      candidate.finish = "length";
      return false;
    }
    return true;
  }

  void Execute() override {
    std::lock_guard<std::mutex> lock(owner_->busy());
    clearRecentLlamaLog();
    llama_context* ctx = owner_->ctx();
    const llama_vocab* vocab = owner_->model()->vocab();
    llama_memory_t memory = llama.llama_get_memory(ctx);
    const int32_t nCtx = static_cast<int32_t>(llama.llama_n_ctx(ctx));
    const int32_t nBatch = static_cast<int32_t>(llama.llama_n_batch(ctx));
    const int32_t nSeq = static_cast<int32_t>(llama.llama_n_seq_max(ctx));
    const int32_t n = static_cast<int32_t>(candidates.size());
    if (n > nSeq) {
      errorCode = "INVALID_ARGUMENT";
      SetError(std::to_string(n) + " sequences exceed the context's " + std::to_string(nSeq) + " parallel sequences");
      return;
    }
    int64_t needed = 0;
    for (int32_t i = 0; i < n; i++) {
      Candidate& candidate = candidates[static_cast<size_t>(i)];
      const int32_t length = static_cast<int32_t>(candidate.prompt.size());
      const bool donorOk = candidate.donor < 0 ? candidate.shared == 0
                                               : candidate.donor < i && candidate.shared >= 1 && candidate.shared < length &&
                                                     candidate.shared <= static_cast<int32_t>(candidates[static_cast<size_t>(candidate.donor)].prompt.size());
      if (!donorOk || !std::equal(candidate.prompt.begin(), candidate.prompt.begin() + candidate.shared,
                                  candidate.donor < 0 ? candidate.prompt.begin() : candidates[static_cast<size_t>(candidate.donor)].prompt.begin())) {
        errorCode = "INVALID_ARGUMENT";
        SetError("sequence " + std::to_string(i) + " names a shared prefix its donor sequence does not hold");
        return;
      }
      needed += length - candidate.shared + static_cast<int64_t>(maxTokens);
    }
    if (needed > nCtx) {
      errorCode = "PROMPT_TOO_LONG";
      SetError(std::to_string(n) + " prompts (" + std::to_string(needed - static_cast<int64_t>(n) * maxTokens) + " tokens not shared) plus " +
               std::to_string(n) + " x " + std::to_string(maxTokens) + " new tokens exceed the context of " + std::to_string(nCtx) + " tokens");
      return;
    }
    for (int32_t i = 0; i < n; i++) {
      Candidate& candidate = candidates[static_cast<size_t>(i)];
      candidate.sampler = makeSampler(vocab, options.seed + static_cast<uint32_t>(i));
      if (!options.grammar.empty()) {
        candidate.grammar = llama.llama_sampler_init_grammar(vocab, options.grammar.c_str(), options.grammarRoot.c_str());
        if (candidate.grammar == nullptr) {
          errorCode = "INVALID_ARGUMENT";
          SetError("the grammar does not parse: " + recentLlamaLog());
          release();
          return;
        }
      }
    }
    const int32_t nVocab = llama.llama_vocab_n_tokens(vocab);

    llama.llama_memory_clear(memory, false);
    llama_batch batch = llama.llama_batch_init(std::max(nBatch, n), 0, 1);
    bool failed = false;
    // 1. Prompts, packed into batches. A sequence first takes its donor's KV cells for the prefix
    //    they share (llama_memory_seq_cp tags the same cells, nothing is recomputed), so only its
    //    own tail is evaluated; it samples its first token right after the batch that holds its
    //    last prompt token, before the next decode reuses the logits.
    {
      std::vector<int32_t> finishing;
      int32_t firstInBatch = 0;
      auto flush = [&](int32_t next) {
        if (batch.n_tokens > 0) failed = !decode(ctx, batch);
        if (!failed) failed = !sampleAll(finishing, ctx, nVocab, vocab);
        finishing.clear();
        batch.n_tokens = 0;
        firstInBatch = next;
      };
      for (int32_t i = 0; i < n && !failed; i++) {
        Candidate& candidate = candidates[static_cast<size_t>(i)];
        const int32_t length = static_cast<int32_t>(candidate.prompt.size());
        if (candidate.donor >= 0) {
          // The donor's cells must exist before they can be shared.
          if (candidate.donor >= firstInBatch && batch.n_tokens > 0) flush(i);
          if (failed) break;
          llama.llama_memory_seq_cp(memory, candidate.donor, i, 0, candidate.shared);
        }
        for (int32_t position = candidate.shared; position < length && !failed; position++) {
          if (batch.n_tokens >= nBatch) flush(i);
          if (failed) break;
          int32_t k = batch.n_tokens++;
          batch.token[k] = candidate.prompt[static_cast<size_t>(position)];
          batch.pos[k] = position;
          batch.n_seq_id[k] = 1;
          batch.seq_id[k][0] = i;
          const bool last = position == length - 1;
          batch.logits[k] = last ? 1 : 0;
          if (last) {
            candidate.batchIndex = k;
            finishing.push_back(i);
          }
        }
        candidate.position = length;
      }
      if (!failed) flush(n);
    }
    // 3. Decode every live sequence together, one token each per step.
    while (!failed) {
      if (owner_->abortFlag().load()) {
        errorCode = "CANCELLED";
        SetError("Cancelled.");
        break;
      }
      batch.n_tokens = 0;
      for (int32_t i = 0; i < n; i++) {
        Candidate& candidate = candidates[static_cast<size_t>(i)];
        candidate.batchIndex = -1;
        if (!candidate.active) continue;
        int32_t k = batch.n_tokens++;
        batch.token[k] = candidate.tokens.back();
        batch.pos[k] = candidate.position++;
        batch.n_seq_id[k] = 1;
        batch.seq_id[k][0] = i;
        batch.logits[k] = 1;
        candidate.batchIndex = k;
      }
      if (batch.n_tokens == 0) break;
      if (!decode(ctx, batch)) break;
      std::vector<int32_t> live;
      for (int32_t i = 0; i < n; i++) {
        if (candidates[static_cast<size_t>(i)].batchIndex >= 0) live.push_back(i);
      }
      if (!sampleAll(live, ctx, nVocab, vocab)) break;
    }
    llama.llama_batch_free(batch);
    llama.llama_memory_clear(memory, false);
    release();
  }

  bool decode(llama_context* ctx, llama_batch& batch) {
    int32_t rc = llama.llama_decode(ctx, batch);
    if (rc == 0) return true;
    if (rc == 2 || owner_->abortFlag().load()) {
      errorCode = "CANCELLED";
      SetError("Cancelled.");
    } else if (rc == 1) {
      errorCode = "PROMPT_TOO_LONG";
      SetError("the context is full; use a larger context or fewer/shorter candidates");
    } else {
      SetError("llama_decode failed with code " + std::to_string(rc) + ": " + recentLlamaLog());
    }
    return false;
  }

  void release() {
    for (auto& candidate : candidates) {
      if (candidate.sampler != nullptr) llama.llama_sampler_free(candidate.sampler);
      if (candidate.grammar != nullptr) llama.llama_sampler_free(candidate.grammar);
      candidate.sampler = nullptr;
      candidate.grammar = nullptr;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, candidates.size());
    for (size_t i = 0; i < candidates.size(); i++) {
      Napi::Object item = Napi::Object::New(env);
      Napi::Int32Array tokens = Napi::Int32Array::New(env, candidates[i].tokens.size());
      std::copy(candidates[i].tokens.begin(), candidates[i].tokens.end(), tokens.Data());
      item.Set("tokens", tokens);
      item.Set("text", Napi::Buffer<char>::Copy(env, candidates[i].text.data(), candidates[i].text.size()));
      item.Set("finish", candidates[i].finish);
      out.Set(static_cast<uint32_t>(i), item);
    }
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(makeCodedError(Env(), errorCode, error.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ProbeContext* owner_;
  Napi::ObjectReference ownerRef_;
};

}  // namespace

// generate(prompts: Int32Array[], donors: Int32Array, shared: Int32Array, options) -> Promise<{tokens, text: Buffer, finish}[]>
// One output per prompt, sampled with seed + i. Sequence i reuses the KV cells of sequence donors[i]
// (an earlier one, or -1) for its first shared[i] tokens, which both prompts must hold.
Napi::Value ProbeContext::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureOpen(env);
  Napi::Array prompts = info[0].As<Napi::Array>();
  Napi::Int32Array donors = info[1].As<Napi::Int32Array>();
  Napi::Int32Array shared = info[2].As<Napi::Int32Array>();
  Napi::Object options = info[3].As<Napi::Object>();
  const uint32_t n = prompts.Length();
  if (n == 0) throw makeCodedError(env, "INVALID_ARGUMENT", "generation needs at least one prompt");
  if (donors.ElementLength() != n || shared.ElementLength() != n) throw makeCodedError(env, "INVALID_ARGUMENT", "one donor and one shared length per prompt");
  const int32_t nVocab = llama.llama_vocab_n_tokens(model_->vocab());
  for (uint32_t i = 0; i < n; i++) {
    Napi::Int32Array prompt = prompts.Get(i).As<Napi::Int32Array>();
    if (prompt.ElementLength() == 0) throw makeCodedError(env, "INVALID_ARGUMENT", "generation needs a non-empty prompt");
    for (size_t t = 0; t < prompt.ElementLength(); t++) {
      if (prompt[t] < 0 || prompt[t] >= nVocab) throw makeCodedError(env, "INVALID_ARGUMENT", "prompt holds a token id outside the vocabulary");
    }
  }
  auto* worker = new GenerateWorker(env, this, Value());
  worker->candidates.resize(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Int32Array prompt = prompts.Get(i).As<Napi::Int32Array>();
    worker->candidates[i].prompt.assign(prompt.Data(), prompt.Data() + prompt.ElementLength());
    worker->candidates[i].donor = donors[i];
    worker->candidates[i].shared = shared[i];
  }
  auto number = [&](const char* key, double fallback) {
    Napi::Value value = options.Get(key);
    return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : fallback;
  };
  worker->maxTokens = static_cast<int32_t>(number("maxTokens", 128));
  worker->options.temperature = static_cast<float>(number("temperature", 0.8));
  worker->options.topP = static_cast<float>(number("topP", 0.95));
  worker->options.topK = static_cast<int32_t>(number("topK", 40));
  worker->options.minP = static_cast<float>(number("minP", 0.05));
  worker->options.repeatPenalty = static_cast<float>(number("repeatPenalty", 1.0));
  worker->options.repeatLastN = static_cast<int32_t>(number("repeatLastN", 64));
  worker->options.seed = static_cast<uint32_t>(number("seed", 0));
  if (options.Get("grammar").IsString()) worker->options.grammar = options.Get("grammar").As<Napi::String>().Utf8Value();
  if (options.Get("grammarRoot").IsString()) worker->options.grammarRoot = options.Get("grammarRoot").As<Napi::String>().Utf8Value();
  if (options.Get("stop").IsArray()) {
    Napi::Array stops = options.Get("stop").As<Napi::Array>();
    for (uint32_t i = 0; i < stops.Length(); i++) {
      std::string stop = stops.Get(i).As<Napi::String>().Utf8Value();
      if (!stop.empty()) worker->stops.push_back(stop);
    }
  }
  if (worker->maxTokens < 1) {
    delete worker;
    throw makeCodedError(env, "INVALID_ARGUMENT", "maxTokens must be at least 1");
  }
  abort_.store(false);
  generated_.store(0);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// ---------------------------------------------------------------- creation

namespace {

class CreateContextWorker : public Napi::AsyncWorker {
 public:
  CreateContextWorker(Napi::Env env, ProbeModel* model, Napi::Object modelObject)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), model_(model) {
    modelRef_ = Napi::Persistent(modelObject);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  llama_context_params params{};
  ProbeContext* target = nullptr;
  Napi::ObjectReference targetRef;

  void Execute() override {
    clearRecentLlamaLog();
    ctx_ = llama.llama_init_from_model(model_->model(), params);
    if (ctx_ == nullptr) SetError("llama.cpp could not create a context: " + recentLlamaLog());
  }

  void OnOK() override {
    target->adopt(ctx_, model_, modelRef_.Value());
    deferred_.Resolve(targetRef.Value());
  }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(makeCodedError(Env(), "MODEL_LOAD_FAILED", error.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ProbeModel* model_;
  Napi::ObjectReference modelRef_;
  llama_context* ctx_ = nullptr;
};

}  // namespace

// createContext(model, { nCtx, nBatch, nUbatch, nSeqMax, threads, kvF32, flashAttn: -1|0|1 })
Napi::Value CreateContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object modelObject = info[0].As<Napi::Object>();
  ProbeModel* model = ProbeModel::Unwrap(modelObject);
  if (model == nullptr || model->model() == nullptr) throw makeCodedError(env, "INVALID_ARGUMENT", "The model was disposed.");
  Napi::Object options = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  auto number = [&](const char* key, double fallback) {
    Napi::Value value = options.Get(key);
    return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : fallback;
  };
  Napi::Object contextObject = g_contextConstructor->New({});
  auto* worker = new CreateContextWorker(env, model, modelObject);
  worker->target = ProbeContext::Unwrap(contextObject);
  worker->targetRef = Napi::Persistent(contextObject);
  llama_context_params params = llama.llama_context_default_params();
  params.n_ctx = static_cast<uint32_t>(number("nCtx", 2048));
  params.n_batch = static_cast<uint32_t>(number("nBatch", 512));
  params.n_ubatch = static_cast<uint32_t>(number("nUbatch", params.n_batch));
  params.n_seq_max = static_cast<uint32_t>(number("nSeqMax", 1));
  params.n_threads = static_cast<int32_t>(number("threads", 1));
  params.n_threads_batch = params.n_threads;
  // One KV stream: micro-batches keep batch order, which the capture relies on to place rows.
  params.kv_unified = true;
  params.no_perf = true;
  if (options.Get("kvF32").ToBoolean().Value()) {
    params.type_k = GGML_TYPE_F32;
    params.type_v = GGML_TYPE_F32;
  }
  params.flash_attn_type = static_cast<llama_flash_attn_type>(static_cast<int32_t>(number("flashAttn", -1)));
  params.cb_eval = &ProbeContext::evalCallback;
  params.cb_eval_user_data = worker->target;
  params.abort_callback = &ProbeContext::abortCallback;
  params.abort_callback_data = worker->target;
  worker->params = params;
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}
