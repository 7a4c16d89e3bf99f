// Keeps the last warning/error lines llama.cpp logged on each thread, so a failed load can say why,
// and forwards every message to the callback that was installed before (node-llama-cpp's).
#include "LlamaSymbols.h"
#include "ProbeErrors.h"

#include <cstdlib>
#include <cstdio>

static ggml_log_callback g_previous = nullptr;
static void* g_previous_data = nullptr;
static bool g_installed = false;
static thread_local std::string t_recent;
static thread_local ggml_log_level t_last_level = GGML_LOG_LEVEL_NONE;

static void tapCallback(ggml_log_level level, const char* text, void* /*data*/) {
  ggml_log_level effective = level == GGML_LOG_LEVEL_CONT ? t_last_level : level;
  if (level != GGML_LOG_LEVEL_CONT) t_last_level = level;
  if (effective >= GGML_LOG_LEVEL_WARN && text != nullptr) {
    t_recent += text;
    if (t_recent.size() > 4000) t_recent.erase(0, t_recent.size() - 4000);
  }
  if (g_previous != nullptr) {
    g_previous(level, text, g_previous_data);
  } else if (std::getenv("FACET_LLAMA_LOG") != nullptr && text != nullptr) {
    std::fputs(text, stderr);
  }
}

void installLogTap() {
  if (g_installed) return;
  llama.llama_log_get(&g_previous, &g_previous_data);
  if (g_previous == tapCallback) g_previous = nullptr;
  llama.llama_log_set(tapCallback, nullptr);
  g_installed = true;
}

std::string recentLlamaLog() {
  std::string out;
  // keep the last few lines, trimmed
  size_t end = t_recent.find_last_not_of(" \n");
  if (end == std::string::npos) return out;
  size_t start = end;
  int lines = 0;
  while (start > 0) {
    if (t_recent[start - 1] == '\n' && ++lines >= 3) break;
    --start;
  }
  out = t_recent.substr(start, end - start + 1);
  return out;
}

void clearRecentLlamaLog() { t_recent.clear(); }
