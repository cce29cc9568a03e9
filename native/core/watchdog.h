// The stall watchdog: a thread that wakes every interval and asks whether the watched
// loop has made progress — completed an iteration, or waited for events (its idle time
// grew) — since it last looked. A loop that has done neither for the threshold is stalled:
// stuck in one iteration, running JavaScript or native code. The watchdog marks the stall
// in progress in its region of the shared block (its own sequence word: it is that
// region's only writer) and tells its Probe once per stall (to request a stack capture);
// it clears the mark once the loop moves again. With a profile interval, it wakes that
// often while a stall lasts and asks its Probe for one more sample each time.
//
// No Node or V8 headers: the probe supplies the loop's counters. POSIX threads (not
// std::thread: the addon builds without exceptions, and a failed thread creation must be
// an error code, never an abort). The watched side's cost is one relaxed store per
// iteration (Probe::Iterations reads it).
#ifndef RUNTIME_SAMPLER_CORE_WATCHDOG_H_
#define RUNTIME_SAMPLER_CORE_WATCHDOG_H_

#include <pthread.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <ctime>

#include "clock.h"
#include "layout.h"
#include "seqlock.h"
#include "slot_access.h"

namespace rs {

// What the watchdog reads of the loop, from its own thread.
class WatchdogProbe {
 public:
  virtual ~WatchdogProbe() = default;
  // Iterations the loop has completed (a counter the loop thread stores: each iteration,
  // or, without a per-iteration hook, at a periodic tick).
  virtual uint64_t Iterations() = 0;
  // The loop's cumulative idle time, ns: grows while it waits for events. Thread-safe.
  virtual uint64_t IdleNs() = 0;
  // Once per stall, when it is first seen (from the watchdog thread). Returns whether it
  // asked for a stack capture (counted in STALL_STACK_REQUESTS).
  virtual bool OnStall(uint64_t iteration, uint64_t since_ns) = 0;
  // While stall `iteration` lasts, every profile interval after OnStall() (from the
  // watchdog thread): the probe may ask for one more stack sample.
  virtual void OnStallTick(uint64_t iteration) { (void)iteration; }
};

// The decision, apart from the thread so that it can be tested step by step. The first
// step primes the state with the loop's counters as they were when the watchdog started;
// nothing is judged until the loop has moved past them: the iteration running at the start
// began before the watchdog (under a preload it holds the app's synchronous start-up).
struct WatchdogState {
  bool primed = false;
  bool armed = false;  // the loop has moved since priming
  uint64_t last_iterations = 0;
  uint64_t last_idle_ns = 0;
  uint64_t progress_ns = 0;  // when the loop was last seen moving
  bool stalled = false;
};

enum class WatchdogEvent { kNone, kStallBegan, kStallEnded };

inline WatchdogEvent WatchdogStep(WatchdogState* s, uint64_t iterations, uint64_t idle_ns,
                                  uint64_t now_ns, uint64_t threshold_ns) {
  if (!s->primed || iterations != s->last_iterations || idle_ns != s->last_idle_ns) {
    s->armed = s->primed;
    s->primed = true;
    s->last_iterations = iterations;
    s->last_idle_ns = idle_ns;
    s->progress_ns = now_ns;
    if (s->stalled) {
      s->stalled = false;
      return WatchdogEvent::kStallEnded;
    }
    return WatchdogEvent::kNone;
  }
  if (s->armed && !s->stalled && now_ns - s->progress_ns >= threshold_ns) {
    s->stalled = true;
    return WatchdogEvent::kStallBegan;
  }
  return WatchdogEvent::kNone;
}

class Watchdog {
 public:
  Watchdog() = default;
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { Stop(); }

  // Starts the thread. `region` is the block's stall region (STALL_REGION_SLOTS slots).
  // `profile_interval_ns` (0: none) is the mean period of OnStallTick() during a stall
  // (exponentially distributed, see NextProfileWait()).
  // Returns 0 or an errno value (nothing started).
  int Start(double* region, uint64_t threshold_ns, uint64_t interval_ns, WatchdogProbe* probe,
            uint64_t profile_interval_ns = 0) {
    if (running_) return 0;
    region_ = region;
    threshold_ns_ = threshold_ns;
    interval_ns_ = interval_ns;
    profile_interval_ns_ = profile_interval_ns;
    jitter_state_ = MonotonicNs() | 1;
    probe_ = probe;
    stop_ = false;
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);
    if (err != 0) return err;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    err = pthread_cond_init(&cond_, &attr);
    pthread_condattr_destroy(&attr);
    if (err != 0) return err;
    err = pthread_mutex_init(&mutex_, nullptr);
    if (err != 0) {
      pthread_cond_destroy(&cond_);
      return err;
    }
    {
      SeqWriteSection section(WordOf(region_ + STALL_SEQ));
      StoreSlot(region_ + STALL_THRESHOLD_NS, static_cast<double>(threshold_ns));
      StoreSlot(region_ + STALL_INTERVAL_NS, static_cast<double>(interval_ns));
      StoreSlot(region_ + STALL_ACTIVE_SINCE_NS, 0);
    }
    // Primed here, on the starting thread, so that an iteration that begins before the
    // thread's first check is judged.
    start_state_ = WatchdogState();
    WatchdogStep(&start_state_, probe_->Iterations(), probe_->IdleNs(), MonotonicNs(),
                 threshold_ns_);
    err = pthread_create(&thread_, nullptr, &Watchdog::Main, this);
    if (err != 0) {
      pthread_mutex_destroy(&mutex_);
      pthread_cond_destroy(&cond_);
      return err;
    }
    running_ = true;
    return 0;
  }

  // Wakes the thread and waits for it to finish. Idempotent. Clears any stall mark.
  void Stop() {
    if (!running_) return;
    pthread_mutex_lock(&mutex_);
    stop_ = true;
    pthread_cond_signal(&cond_);
    pthread_mutex_unlock(&mutex_);
    pthread_join(thread_, nullptr);
    pthread_mutex_destroy(&mutex_);
    pthread_cond_destroy(&cond_);
    running_ = false;
  }

  bool running() const { return running_; }

 private:
  static void* Main(void* arg) {
    static_cast<Watchdog*>(arg)->Run();
    return nullptr;
  }

  void Run() {
    WatchdogState state = start_state_;
    uint64_t checks = 0;
    uint64_t requests = 0;
    pthread_mutex_lock(&mutex_);
    while (!stop_) {
      struct timespec deadline;
      clock_gettime(CLOCK_MONOTONIC, &deadline);
      // During a stall the profile's clock alone: a stall's end needs no prompt check
      // (the loop records it itself).
      const uint64_t wait =
          state.stalled && profile_interval_ns_ != 0 ? NextProfileWait() : interval_ns_;
      const uint64_t ns = static_cast<uint64_t>(deadline.tv_nsec) + wait;
      deadline.tv_sec += static_cast<time_t>(ns / 1000000000u);
      deadline.tv_nsec = static_cast<long>(ns % 1000000000u);
      while (!stop_) {
        const int err = pthread_cond_timedwait(&cond_, &mutex_, &deadline);
        if (err == ETIMEDOUT) break;
      }
      if (stop_) break;
      pthread_mutex_unlock(&mutex_);
      Check(&state, ++checks, &requests);
      pthread_mutex_lock(&mutex_);
    }
    pthread_mutex_unlock(&mutex_);
    SeqWriteSection section(WordOf(region_ + STALL_SEQ));
    StoreSlot(region_ + STALL_ACTIVE_SINCE_NS, 0);
  }

  void Check(WatchdogState* state, uint64_t checks, uint64_t* requests) {
    const uint64_t iterations = probe_->Iterations();
    const uint64_t idle = probe_->IdleNs();
    const uint64_t now = MonotonicNs();
    const WatchdogEvent e = WatchdogStep(state, iterations, idle, now, threshold_ns_);
    {
      SeqWriteSection section(WordOf(region_ + STALL_SEQ));
      StoreSlot(region_ + STALL_CHECKS, static_cast<double>(checks));
      if (e == WatchdogEvent::kStallBegan) {
        StoreSlot(region_ + STALL_ACTIVE_SINCE_NS, static_cast<double>(state->progress_ns));
        StoreSlot(region_ + STALL_ITERATION, static_cast<double>(iterations));
      } else if (e == WatchdogEvent::kStallEnded) {
        StoreSlot(region_ + STALL_ACTIVE_SINCE_NS, 0);
      }
    }
    if (e == WatchdogEvent::kStallBegan && probe_->OnStall(iterations, state->progress_ns)) {
      SeqWriteSection section(WordOf(region_ + STALL_SEQ));
      StoreSlot(region_ + STALL_STACK_REQUESTS, static_cast<double>(++*requests));
    } else if (e == WatchdogEvent::kNone && state->stalled && profile_interval_ns_ != 0) {
      probe_->OnStallTick(iterations);
    }
  }

  // Exponentially distributed profile intervals of the configured mean (Poisson sampling):
  // with a fixed period, work that repeats at about that period (a 7 ms + 3 ms cycle at
  // 10 ms) is caught at nearly the same phase sample after sample; with memoryless
  // intervals each sample's phase is independent of the last, and the samples' shares are
  // unbiased estimates of the time shares (PASTA). Bounded to [mean/10, 4 × mean] so that
  // no wait is degenerate. xorshift64 and a logarithm: no system call, no lock.
  uint64_t NextProfileWait() {
    uint64_t x = jitter_state_;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    jitter_state_ = x;
    const double u = (static_cast<double>(x >> 11) + 0.5) / 9007199254740992.0;  // (0, 1)
    double wait = -std::log(u) * static_cast<double>(profile_interval_ns_);
    const double mean = static_cast<double>(profile_interval_ns_);
    if (wait < mean / 10) wait = mean / 10;
    if (wait > mean * 4) wait = mean * 4;
    return static_cast<uint64_t>(wait);
  }

  double* region_ = nullptr;
  uint64_t threshold_ns_ = 0;
  uint64_t interval_ns_ = 0;
  uint64_t profile_interval_ns_ = 0;
  uint64_t jitter_state_ = 1;  // the watchdog thread's once started
  WatchdogProbe* probe_ = nullptr;
  WatchdogState start_state_;  // written before the thread starts, read once by it
  pthread_t thread_{};
  pthread_mutex_t mutex_;
  pthread_cond_t cond_;
  bool stop_ = false;     // guarded by mutex_
  bool running_ = false;  // the owning thread's
};

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_WATCHDOG_H_
