#include "thread_pool.h"

#include <chrono>

namespace pixtral {

namespace {

// Spins (yielding the pipeline to the sibling hyper-thread, if any) until ready() or the budget is spent.
template <typename Ready>
bool SpinUntil(Ready ready) {
  constexpr auto kBudget = std::chrono::microseconds(100);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0;; i++) {
    if (ready()) return true;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
    if ((i & 63) == 63 && std::chrono::steady_clock::now() - start > kBudget) return false;
  }
}

}  // namespace

ThreadPool& ThreadPool::Instance() {
  static ThreadPool* pool = [] {
    auto* p = new ThreadPool();
    unsigned cores = std::thread::hardware_concurrency();
    p->Resize(cores == 0 ? 1 : int(cores));
    return p;
  }();
  return *pool;
}

ThreadPool::~ThreadPool() { Stop(); }

void ThreadPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  stopping_ = false;
}

void ThreadPool::Resize(int threads) {
  std::lock_guard<std::mutex> run(run_mutex_);
  if (threads < 1) threads = 1;
  Stop();
  for (int i = 1; i < threads; i++) workers_.emplace_back([this] { WorkerLoop(); });
}

void ThreadPool::Drain(const std::function<void(int)>* task, int count) {
  for (int i = next_.fetch_add(1); i < count; i = next_.fetch_add(1)) (*task)(i);
}

void ThreadPool::WorkerLoop() {
  unsigned seen = 0;
  for (;;) {
    const std::function<void(int)>* task;
    int count;
    SpinUntil([&] { return stopping_.load() || generation_.load() != seen; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      // The task and its count are taken together with the generation, under the lock: a worker that wakes
      // late sees the run that is current, never half of the next one.
      seen = generation_;
      task = task_.load();
      count = count_.load();
      busy_++;
    }
    Drain(task, count);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) finished_.notify_all();
    }
  }
}

void ThreadPool::Run(int count, const std::function<void(int)>& task) {
  if (count <= 0) return;
  if (workers_.empty() || count == 1) {
    for (int i = 0; i < count; i++) task(i);
    return;
  }
  std::lock_guard<std::mutex> run(run_mutex_);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // A worker still finishing a previous run (it woke after that run returned) must be out before the task
    // counter is reset, or it could take an index of this run for the previous (gone) task.
    finished_.wait(lock, [&] { return busy_ == 0; });
    task_ = &task;
    count_ = count;
    next_.store(0);
    generation_++;
  }
  wake_.notify_all();
  Drain(&task, count);
  SpinUntil([&] { return busy_.load() == 0 && next_.load() >= count; });
  std::unique_lock<std::mutex> lock(mutex_);
  // Workers that woke late find no tasks left; wait for those still running one.
  finished_.wait(lock, [&] { return busy_ == 0 && next_.load() >= count_.load(); });
}

}  // namespace pixtral
