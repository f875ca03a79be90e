// Helpers shared by the Embind files: conversion of heap offsets and of
// Status values. Every bound function returns null on success or
// { code, message }, and none throws or aborts, so the module stays usable
// after an error.
#pragma once

#include <emscripten/val.h>

#include <cstdint>

#include "attnkit/attnkit.h"

namespace bindings {

template <class T>
T* from_offset(std::uintptr_t offset) {
  return reinterpret_cast<T*>(offset);
}

inline emscripten::val to_js(const attnkit::Status& status) {
  if (status.ok()) {
    return emscripten::val::null();
  }
  emscripten::val error = emscripten::val::object();
  error.set("code", static_cast<int>(status.code));
  error.set("message", status.message);
  return error;
}

}  // namespace bindings
