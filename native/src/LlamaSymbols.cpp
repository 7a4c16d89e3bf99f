#include "LlamaSymbols.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

LlamaSymbols llama;
static bool g_bound = false;

bool llamaLibraryBound() { return g_bound; }

BindResult bindLlamaLibrary(const std::vector<std::string>& sonames) {
  BindResult result;
  if (g_bound) {
    result.ok = true;
    return result;
  }
  void* handle = nullptr;
  for (const auto& name : sonames) {
#ifdef _WIN32
    handle = reinterpret_cast<void*>(GetModuleHandleA(name.c_str()));
#else
    // RTLD_NOLOAD: only accept a library node-llama-cpp already mapped, so both addons share
    // one copy (one backend registry, one log callback).
    handle = dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_LOCAL);
#endif
    if (handle != nullptr) {
      result.library = name;
      break;
    }
  }
  if (handle == nullptr) {
    std::string tried;
    for (const auto& name : sonames) tried += (tried.empty() ? "" : ", ") + name;
    result.error = "none of the llama libraries [" + tried + "] is loaded in this process";
    return result;
  }

  LlamaSymbols table;
  std::string missing;
#ifdef _WIN32
#define FACET_RESOLVE_SYMBOL(name) \
  table.name = reinterpret_cast<decltype(table.name)>(GetProcAddress(reinterpret_cast<HMODULE>(handle), #name));
#else
#define FACET_RESOLVE_SYMBOL(name) table.name = reinterpret_cast<decltype(table.name)>(dlsym(handle, #name));
#endif
  FACET_LLAMA_SYMBOLS(FACET_RESOLVE_SYMBOL)
#undef FACET_RESOLVE_SYMBOL
#define FACET_CHECK_SYMBOL(name) \
  if (table.name == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(#name);
  FACET_LLAMA_SYMBOLS(FACET_CHECK_SYMBOL)
#undef FACET_CHECK_SYMBOL
  if (!missing.empty()) {
    result.error = "library " + result.library + " lacks symbols: " + missing +
                   " (the addon was built for another llama.cpp version)";
    return result;
  }

#ifndef _WIN32
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(table.llama_decode), &info) != 0 && info.dli_fname != nullptr) {
    result.path = info.dli_fname;
  }
#endif
  llama = table;
  g_bound = true;
  result.ok = true;
  return result;
}
