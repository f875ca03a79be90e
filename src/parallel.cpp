// Thread pool behind detail::parallel_for and set_num_threads.
#include "parallel.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "attnkit/attnkit.h"

namespace attnkit {
namespace {

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
constexpr bool kThreadsAvailable = false;
#else
constexpr bool kThreadsAvailable = true;
#endif

// Workers wait for a new generation, then take items until none are left.
class ThreadPool {
 public:
  explicit ThreadPool(std::size_t workers) {
    for (std::size_t i = 0; i < workers; ++i) {
      threads_.emplace_back([this, i] { worker_loop(i + 1); });
    }
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  std::size_t size() const { return threads_.size() + 1; }

  void run(std::size_t count,
           const std::function<void(std::size_t, std::size_t)>& body) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      count_ = count;
      next_item_.store(0);
      busy_workers_ = threads_.size();
      ++generation_;
    }
    wake_.notify_all();
    take_items(0);

    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return busy_workers_ == 0; });
    body_ = nullptr;
  }

 private:
  void take_items(std::size_t thread_index) {
    for (std::size_t item = next_item_.fetch_add(1); item < count_;
         item = next_item_.fetch_add(1)) {
      (*body_)(thread_index, item);
    }
  }

  void worker_loop(std::size_t thread_index) {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stopping_) return;
      }
      take_items(thread_index);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --busy_workers_;
      }
      done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t, std::size_t)>* body_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> next_item_{0};
  std::size_t busy_workers_ = 0;
  std::size_t generation_ = 0;
  bool stopping_ = false;
};

std::unique_ptr<ThreadPool>& pool() {
  static std::unique_ptr<ThreadPool> instance;
  return instance;
}

}  // namespace

Status set_num_threads(std::size_t n) {
  if (n == 0) {
    return Status::InvalidArgument("setNumThreads: the thread count must be positive, got 0");
  }
  if (n > 1 && !kThreadsAvailable) {
    return Status::InvalidArgument("setNumThreads: this build has no thread support, so it runs 1 thread, not " +
                                   std::to_string(n));
  }
  if (n == num_threads()) return Status::Ok();
  pool().reset();
  if (n > 1) pool() = std::make_unique<ThreadPool>(n - 1);
  return Status::Ok();
}

std::size_t num_threads() { return pool() ? pool()->size() : 1; }

namespace detail {

void parallel_for(std::size_t count,
                  const std::function<void(std::size_t thread_index, std::size_t item)>& body) {
  if (!pool() || count <= 1) {
    for (std::size_t item = 0; item < count; ++item) body(0, item);
    return;
  }
  pool()->run(count, body);
}

}  // namespace detail
}  // namespace attnkit
