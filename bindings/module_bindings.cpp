// Embind functions that describe the module itself.
#include <emscripten/bind.h>

#include <emscripten/val.h>

#include <cstdint>
#include <string>

#include "attnkit/attnkit.h"
#include "binding_utils.h"

namespace {

std::string version() { return attnkit::kVersion; }
std::string simd() { return attnkit::simd_name(); }
emscripten::val set_num_threads(std::uint32_t n) { return bindings::to_js(attnkit::set_num_threads(n)); }
std::uint32_t num_threads() { return static_cast<std::uint32_t>(attnkit::num_threads()); }

}  // namespace

EMSCRIPTEN_BINDINGS(attnkit_module) {
  emscripten::function("version", &version);
  emscripten::function("simd", &simd);
  emscripten::function("setNumThreads", &set_num_threads);
  emscripten::function("numThreads", &num_threads);
}
