// Clocks. MonotonicNs: nanoseconds on the clock libuv's uv_hrtime() uses, so native
// timestamps compare directly with process.hrtime.bigint() and performance.now(); on Linux
// clock_gettime(CLOCK_MONOTONIC) is served by the vDSO (no system call, ~20-25 ns).
// TickClock: the CPU's time-stamp counter where it is invariant (constant rate, runs in
// every power state: CPUID 0x80000007 EDX bit 8), read in ~10 ns, for the loop hook's
// per-iteration durations; calibrated against MonotonicNs, never used for timestamps.
// arm64 has no tick path on purpose (bench/clock.mjs, bench/README.md): Linux's arm64 vDSO
// clock_gettime already reads the generic timer's CNTVCT_EL0 and only scales it, the
// kernel may deny EL0 access to the counter (a trap would kill the process) or work around
// counter errata that a raw read would not, and its rate is implementation-defined (under
// qemu-user 62.5 MHz advancing in ~1 us steps).
#ifndef RUNTIME_SAMPLER_CORE_CLOCK_H_
#define RUNTIME_SAMPLER_CORE_CLOCK_H_

#include <cstdint>
#include <ctime>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <x86intrin.h>
#define RS_HAVE_TSC 1
#else
#define RS_HAVE_TSC 0
#endif

namespace rs {

inline uint64_t MonotonicNs() {
#if defined(__APPLE__)
  return clock_gettime_nsec_np(CLOCK_UPTIME_RAW);
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
#endif
}

inline bool InvariantTscAvailable() {
#if RS_HAVE_TSC
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return false;
  if (!__get_cpuid(0x80000007u, &a, &b, &c, &d)) return false;
  return (d & (1u << 8)) != 0;
#else
  return false;
#endif
}

inline uint64_t ReadTsc() {
#if RS_HAVE_TSC
  return __rdtsc();
#else
  return 0;
#endif
}

// Converts tick differences to nanoseconds once enough time has passed to know the tick
// rate well: the rate is measured against MonotonicNs over the whole time since Begin()
// (≥ kMinBaselineNs, so clock-read jitter of ~100 ns is below 1e-5 of it). A tick count
// that disagrees with the monotonic clock (a TSC that jumped, e.g. after a VM migration)
// turns the tick clock off for good: callers then use MonotonicNs alone.
class TickCalibration {
 public:
  static constexpr uint64_t kMinBaselineNs = 20000000;  // 20 ms

  void Begin(uint64_t ticks, uint64_t ns) {
    if (!enabled_) return;
    if (!ready_) {
      base_ticks_ = ticks;
      base_ns_ = ns;
    }
    last_ticks_ = ticks;
    last_ns_ = ns;
  }
  // With a (ticks, ns) pair read together: refines the rate; checks the last interval.
  void Update(uint64_t ticks, uint64_t ns) {
    if (!enabled_) return;
    if (ready_) {
      const double by_ticks =
          static_cast<double>(static_cast<int64_t>(ticks - last_ticks_)) * ns_per_tick_;
      const double by_clock = static_cast<double>(static_cast<int64_t>(ns - last_ns_));
      const double diff = by_ticks > by_clock ? by_ticks - by_clock : by_clock - by_ticks;
      if (ticks < last_ticks_ || diff > 1e6 + 0.01 * by_clock) {
        enabled_ = false;
        ready_ = false;
        return;
      }
    }
    last_ticks_ = ticks;
    last_ns_ = ns;
    if (ns > base_ns_ && ns - base_ns_ >= kMinBaselineNs && ticks > base_ticks_) {
      ns_per_tick_ = static_cast<double>(ns - base_ns_) / static_cast<double>(ticks - base_ticks_);
      ready_ = true;
    }
  }
  void Disable() {
    enabled_ = false;
    ready_ = false;
  }
  bool enabled() const { return enabled_; }
  bool ready() const { return ready_; }
  double ns_per_tick() const { return ns_per_tick_; }
  // How many ticks make `ns` nanoseconds (only when ready()).
  uint64_t TicksFor(uint64_t ns) const {
    return static_cast<uint64_t>(static_cast<double>(ns) / ns_per_tick_);
  }

 private:
  bool enabled_ = true;
  bool ready_ = false;
  uint64_t base_ticks_ = 0, base_ns_ = 0;
  uint64_t last_ticks_ = 0, last_ns_ = 0;
  double ns_per_tick_ = 0;
};

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_CLOCK_H_
