// libuv's threadpool size as libuv itself derives it from UV_THREADPOOL_SIZE. No Node or
// libuv headers: the caller passes the variable's value and the libuv version it runs on.
#ifndef RUNTIME_SAMPLER_CORE_THREADPOOL_H_
#define RUNTIME_SAMPLER_CORE_THREADPOOL_H_

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace rs {

constexpr uint32_t kUvDefaultThreadpoolSize = 4;
constexpr uint32_t kUvMaxThreadpoolSize = 1024;  // libuv >= 1.30
// From libuv 1.52 the variable is read with uv_os_getenv into a 16-byte buffer: a value of
// 16 bytes or more does not fit and counts as unset.
constexpr unsigned kUvGetenvThreadpoolVersion = (1u << 16) | (52u << 8);
constexpr size_t kUvThreadpoolEnvBuffer = 16;

// libuv's init_threads (src/threadpool.c, 1.30 to 1.52): unset gives 4, anything else
// atoi's result as an unsigned int, 0 becoming 1 and anything above 1024 becoming 1024.
// So "abc" and "" give 1 (atoi's 0), "-1" gives 1024 (a huge unsigned), "8x" gives 8. The
// same conversion as atoi (glibc's is exactly this strtol) without its undefined overflow.
inline uint32_t ThreadpoolSize(const char* value, unsigned uv_version) {
  if (value == nullptr) return kUvDefaultThreadpoolSize;
  if (uv_version >= kUvGetenvThreadpoolVersion && std::strlen(value) >= kUvThreadpoolEnvBuffer) {
    return kUvDefaultThreadpoolSize;
  }
  const long parsed = std::strtol(value, nullptr, 10);
  // long → int → unsigned wraps as atoi's callers see it (modulo 2^32 on every target).
  const unsigned n = static_cast<unsigned>(static_cast<int>(parsed));
  if (n == 0) return 1;
  return n > kUvMaxThreadpoolSize ? kUvMaxThreadpoolSize : n;
}

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_THREADPOOL_H_
