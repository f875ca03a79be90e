// Embind functions that describe the module itself.
#include <emscripten/bind.h>

#include <string>

#include "attnkit/attnkit.h"

namespace {

std::string version() { return attnkit::kVersion; }
std::string simd() { return attnkit::simd_name(); }

}  // namespace

EMSCRIPTEN_BINDINGS(attnkit_module) {
  emscripten::function("version", &version);
  emscripten::function("simd", &simd);
}
