// Monotonic nanoseconds on the clock libuv's uv_hrtime() uses, so native timestamps
// compare directly with process.hrtime.bigint() and performance.now(). On Linux,
// clock_gettime(CLOCK_MONOTONIC) is served by the vDSO: no system call.
#ifndef RUNTIME_SAMPLER_CORE_CLOCK_H_
#define RUNTIME_SAMPLER_CORE_CLOCK_H_

#include <cstdint>
#include <ctime>

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

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_CLOCK_H_
