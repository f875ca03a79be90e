// A fixed pool of worker threads for the entry points.
//
// The pool size is set once (attnkit::set_num_threads) and the workers
// stay alive. parallel_for hands out work items one at a time from an
// atomic counter, so uneven items (causal attention) balance out. Each item
// is computed entirely by one thread with the same code, so results are
// bit-identical whatever the thread count.
#pragma once

#include <cstddef>
#include <functional>

namespace attnkit {
namespace detail {

// Runs body(thread_index, item) for every item in [0, count) on the pool
// and the calling thread, and returns when all are done. thread_index is in
// [0, num_threads()) and picks per-thread scratch memory. body must not
// allocate from the WebAssembly heap in a worker, because memory growth in
// a worker would leave the JavaScript views of the calling thread stale.
void parallel_for(std::size_t count,
                  const std::function<void(std::size_t thread_index, std::size_t item)>& body);

}  // namespace detail
}  // namespace attnkit
