// A persistent pool with one worker per core (the calling thread is one of them). Work is handed out as a
// range of task indices claimed with an atomic counter, in large chunks. Between calls a worker spins briefly
// (decode makes a hundred small calls per token, and waking a sleeping thread costs tens of microseconds on a
// VM), then sleeps.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pixtral {

class ThreadPool {
 public:
  static ThreadPool& Instance();
  ~ThreadPool();

  int threads() const { return int(workers_.size()) + 1; }
  void Resize(int threads);
  // Runs task(i) for i in [0, count) across the pool and returns when all are done.
  void Run(int count, const std::function<void(int)>& task);

 private:
  ThreadPool() = default;
  void Stop();
  void WorkerLoop();
  void Drain(const std::function<void(int)>* task, int count);

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one Run at a time (several JS threads may call in)
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::atomic<const std::function<void(int)>*> task_{nullptr};
  std::atomic<int> count_{0};
  std::atomic<int> next_{0};
  // Changed under mutex_, atomic so the spinning side may read them without it.
  std::atomic<int> busy_{0};
  std::atomic<unsigned> generation_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace pixtral
