// Errors thrown from worker threads carry a Facet error code (see src/shared/FacetError.ts) so the
// TypeScript side can rethrow them as FacetError without parsing messages.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

class ProbeError : public std::runtime_error {
 public:
  ProbeError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

inline Napi::Error makeCodedError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("facetCode", Napi::String::New(env, code));
  return error;
}

/**
 * Runs a JS-thread method body and turns a C++ exception thrown inside llama.cpp (e.g. the
 * std::out_of_range of a vocabulary without byte tokens) into a coded JS error: escaping an N-API
 * callback, it would otherwise call std::terminate and abort the process.
 */
template <typename Body>
Napi::Value guardNative(Napi::Env env, Body&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw makeCodedError(env, "INTERNAL", std::string("llama.cpp failed: ") + e.what());
  }
}

/** Tail of recent llama.cpp warnings/errors logged on the calling thread (for error messages). */
std::string recentLlamaLog();
void clearRecentLlamaLog();
void installLogTap();
