// Cost and resolution of the clocks the loop hook could use for per-iteration durations:
// rs::MonotonicNs (clock_gettime(CLOCK_MONOTONIC)) and the CPU's tick counter (the TSC on
// x64, the generic timer's virtual counter CNTVCT_EL0 on arm64). Built and run by
// bench/clock.mjs for the host and, cross-built, for arm64 under qemu-user.
#include <cstdint>
#include <cstdio>

#include "../../native/core/clock.h"

static inline uint64_t Ticks() {
#if defined(__aarch64__)
  uint64_t v;
  asm volatile("mrs %0, cntvct_el0" : "=r"(v));
  return v;
#elif RS_HAVE_TSC
  return rs::ReadTsc();
#else
  return 0;
#endif
}

static inline uint64_t TickFrequency() {
#if defined(__aarch64__)
  uint64_t f;
  asm volatile("mrs %0, cntfrq_el0" : "=r"(f));
  return f;
#else
  return 0;  // the TSC has no architectural frequency register: calibrated instead
#endif
}

template <typename F>
static void Measure(const char* name, F read, uint64_t n) {
  uint64_t sink = 0, min_step = UINT64_MAX, prev = read();
  const uint64_t t0 = rs::MonotonicNs();
  for (uint64_t i = 0; i < n; i++) {
    const uint64_t v = read();
    if (v > prev && v - prev < min_step) min_step = v - prev;
    sink += v;
    prev = v;
  }
  const uint64_t t1 = rs::MonotonicNs();
  std::printf(
      "{\"clock\":\"%s\",\"reads\":%llu,\"nsPerRead\":%.2f,\"minStepUnits\":%llu,\"sink\":%llu}\n",
      name, static_cast<unsigned long long>(n),
      static_cast<double>(t1 - t0) / static_cast<double>(n),
      static_cast<unsigned long long>(min_step), static_cast<unsigned long long>(sink & 1));
}

int main() {
  const uint64_t n = 2000000;
  Measure(
      "monotonic", [] { return rs::MonotonicNs(); }, n);
  Measure(
      "ticks", [] { return Ticks(); }, n);
  // Tick rate against the monotonic clock over 200 ms.
  const uint64_t k0 = Ticks(), m0 = rs::MonotonicNs();
  while (rs::MonotonicNs() - m0 < 200000000u) {
  }
  const uint64_t k1 = Ticks(), m1 = rs::MonotonicNs();
  std::printf("{\"tickHzMeasured\":%.0f,\"tickHzRegister\":%llu,\"invariantTsc\":%d}\n",
              static_cast<double>(k1 - k0) * 1e9 / static_cast<double>(m1 - m0),
              static_cast<unsigned long long>(TickFrequency()),
              rs::InvariantTscAvailable() ? 1 : 0);
  return 0;
}
