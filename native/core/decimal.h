// Decimal numbers in kernel text (/proc, cgroup files), shared by proc.h and cgroup.h.
#ifndef RUNTIME_SAMPLER_CORE_DECIMAL_H_
#define RUNTIME_SAMPLER_CORE_DECIMAL_H_

#include <cstdint>

namespace rs {

// An unsigned decimal at *p (digits only); advances *p past it. False when there is none or
// it does not fit 64 bits.
inline bool ParseU64(const char** p, const char* end, uint64_t* out) {
  const char* q = *p;
  uint64_t v = 0;
  bool any = false;
  while (q < end && *q >= '0' && *q <= '9') {
    const uint64_t d = static_cast<uint64_t>(*q - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
    any = true;
    q++;
  }
  if (!any) return false;
  *p = q;
  *out = v;
  return true;
}

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_DECIMAL_H_
