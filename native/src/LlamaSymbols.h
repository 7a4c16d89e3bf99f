// Table of llama.cpp / ggml entry points, resolved at runtime from the llama library that
// node-llama-cpp already loaded (CPU, CUDA, Vulkan or Metal variant: they differ only in soname).
// The addon never links against one variant, so one build serves every backend.
#pragma once

#include "llama.h"
#include "ggml.h"
#include "ggml-backend.h"
#include "gguf.h"

#include <string>
#include <vector>

#define FACET_LLAMA_SYMBOLS(X)              \
  X(llama_model_default_params)             \
  X(llama_context_default_params)           \
  X(llama_sampler_chain_default_params)     \
  X(llama_model_load_from_file)             \
  X(llama_model_free)                       \
  X(llama_init_from_model)                  \
  X(llama_free)                             \
  X(llama_model_get_vocab)                  \
  X(llama_model_n_embd)                     \
  X(llama_model_n_layer)                    \
  X(llama_model_n_head)                     \
  X(llama_model_n_head_kv)                  \
  X(llama_model_n_ctx_train)                \
  X(llama_model_meta_val_str)               \
  X(llama_model_desc)                       \
  X(llama_model_size)                       \
  X(llama_model_n_params)                   \
  X(llama_model_chat_template)              \
  X(llama_model_has_encoder)                \
  X(llama_model_is_recurrent)               \
  X(llama_vocab_n_tokens)                   \
  X(llama_vocab_bos)                        \
  X(llama_vocab_eos)                        \
  X(llama_vocab_eot)                        \
  X(llama_vocab_get_add_bos)                \
  X(llama_vocab_is_eog)                     \
  X(llama_vocab_get_text)                   \
  X(llama_tokenize)                         \
  X(llama_token_to_piece)                   \
  X(llama_detokenize)                       \
  X(llama_chat_apply_template)              \
  X(llama_get_memory)                       \
  X(llama_memory_clear)                     \
  X(llama_memory_seq_rm)                    \
  X(llama_memory_seq_cp)                    \
  X(llama_decode)                           \
  X(llama_batch_init)                       \
  X(llama_batch_free)                       \
  X(llama_set_adapter_cvec)                 \
  X(llama_n_ctx)                            \
  X(llama_n_batch)                          \
  X(llama_n_ubatch)                         \
  X(llama_n_seq_max)                        \
  X(llama_set_n_threads)                    \
  X(llama_log_get)                          \
  X(llama_log_set)                          \
  X(llama_print_system_info)                \
  X(llama_sampler_chain_init)               \
  X(llama_sampler_chain_add)                \
  X(llama_sampler_init_greedy)              \
  X(llama_sampler_init_dist)                \
  X(llama_sampler_init_top_k)               \
  X(llama_sampler_init_top_p)               \
  X(llama_sampler_init_min_p)               \
  X(llama_sampler_init_temp)                \
  X(llama_sampler_init_grammar)             \
  X(llama_sampler_init_penalties)           \
  X(llama_sampler_sample)                   \
  X(llama_sampler_apply)                    \
  X(llama_sampler_accept)                   \
  X(llama_get_logits_ith)                   \
  X(llama_n_threads)                        \
  X(llama_model_quantize)                   \
  X(llama_model_quantize_default_params)    \
  X(llama_sampler_free)                     \
  X(ggml_backend_tensor_get)                \
  X(ggml_nbytes)                            \
  X(ggml_is_contiguous)                     \
  X(ggml_backend_dev_count)                 \
  X(ggml_backend_load_all_from_path)        \
  X(gguf_init_from_file)                    \
  X(gguf_free)                              \
  X(gguf_get_version)                       \
  X(gguf_get_data_offset)                   \
  X(gguf_find_key)                          \
  X(gguf_get_kv_type)                       \
  X(gguf_get_val_str)                       \
  X(gguf_get_val_u32)                       \
  X(gguf_get_n_tensors)                     \
  X(gguf_find_tensor)                       \
  X(gguf_get_tensor_offset)                 \
  X(gguf_get_tensor_size)

struct LlamaSymbols {
#define FACET_DECLARE_SYMBOL(name) decltype(&::name) name = nullptr;
  FACET_LLAMA_SYMBOLS(FACET_DECLARE_SYMBOL)
#undef FACET_DECLARE_SYMBOL
};

/** The bound table; valid after bindLlamaLibrary() succeeded. */
extern LlamaSymbols llama;

struct BindResult {
  bool ok = false;
  std::string library;    // soname that matched
  std::string path;       // file the library was mapped from
  std::string error;      // why binding failed
};

/**
 * Finds the first of `sonames` already mapped in this process (never loads a second copy),
 * resolves every symbol of the table from it and its dependencies.
 */
BindResult bindLlamaLibrary(const std::vector<std::string>& sonames);
bool llamaLibraryBound();
