// Embind functions that describe the module itself.
#include <emscripten/bind.h>
#include <emscripten/heap.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <string>

#include "attnkit/attnkit.h"

namespace {

std::string version() { return attnkit::kVersion; }
std::string simd() { return attnkit::simd_name(); }

// Size of the WebAssembly memory and the bytes malloc has handed out and not
// yet freed (dlmalloc's uordblks), for the tests that check the heap stays
// flat over repeated calls.
emscripten::val heap_stats() {
  const struct mallinfo info = mallinfo();
  emscripten::val stats = emscripten::val::object();
  stats.set("heapBytes", static_cast<double>(emscripten_get_heap_size()));
  stats.set("allocatedBytes", static_cast<double>(info.uordblks));
  return stats;
}

}  // namespace

EMSCRIPTEN_BINDINGS(attnkit_module) {
  emscripten::function("version", &version);
  emscripten::function("simd", &simd);
  emscripten::function("heapStats", &heap_stats);
}
