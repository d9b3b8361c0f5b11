// The sleeping thread pool behind parallel_for (see parallel.h).
#include "engine/cpu/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ser::cpu {

namespace {

thread_local bool t_inside_parallel = false;

class Pool {
 public:
  explicit Pool(int threads) : threads_(std::max(1, threads)) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return threads_; }

  // Runs body(chunk) for chunk in [0, chunks), chunks <= threads(); returns when all are done.
  void run(int chunks, const std::function<void(int)>& body) {
    std::lock_guard<std::mutex> one_job(job_mutex_);  // one parallel_for at a time
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      chunks_ = chunks;
      pending_ = chunks - 1;
      ++generation_;
    }
    wake_.notify_all();
    t_inside_parallel = true;
    run_chunk(body, 0);
    t_inside_parallel = false;
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });  // never leave workers running on `body`
    body_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void work(int index) {
    t_inside_parallel = true;
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* body = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= chunks_) continue;
        body = body_;
      }
      run_chunk(*body, index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  // Runs one chunk; the first exception of a job is kept and rethrown by run().
  void run_chunk(const std::function<void(int)>& body, int index) {
    try {
      body(index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::exception_ptr error_;
  std::mutex job_mutex_, mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* body_ = nullptr;
  int chunks_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

int configured_threads() {
  if (const char* env = std::getenv("SER_CPU_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

Pool& pool() {
  static Pool instance(configured_threads());
  return instance;
}

}  // namespace

int cpu_threads() { return pool().threads(); }

void parallel_for_chunks(int64_t n, int64_t min_per_thread, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  const int64_t by_work = std::max<int64_t>(1, n / std::max<int64_t>(1, min_per_thread));
  const int chunks = t_inside_parallel ? 1 : static_cast<int>(std::min<int64_t>({by_work, n, cpu_threads()}));
  if (chunks <= 1) {
    body(0, n);
    return;
  }
  pool().run(chunks, [&](int chunk) {
    const int64_t begin = n * chunk / chunks, end = n * (chunk + 1) / chunks;
    body(begin, end);
  });
}

}  // namespace ser::cpu
