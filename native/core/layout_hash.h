// A fingerprint of the layout this binary was compiled from: FNV-1a (64-bit) over the
// entries of slots.def, in file order, one "KIND NAME\n" (or "CONST NAME VALUE\n") a line.
// scripts/gen-layout.mjs computes the same over the same text for TypeScript
// (LAYOUT_HASH); the loader refuses a binary whose hash differs, so a stale build can
// never be read at the wrong offsets. Computed by the compiler: it cannot go stale.
#ifndef RUNTIME_SAMPLER_CORE_LAYOUT_HASH_H_
#define RUNTIME_SAMPLER_CORE_LAYOUT_HASH_H_

#include <cstdint>

namespace rs {

constexpr char kLayoutText[] =
#define MAIN(name) "MAIN " #name "\n"
#define SPACE(name) "SPACE " #name "\n"
#define HIST(name) "HIST " #name "\n"
#define RECORD(name) "RECORD " #name "\n"
#define STALL(name) "STALL " #name "\n"
#define CONST(name, value) "CONST " #name " " #value "\n"
#include "slots.def"
    "";

constexpr uint64_t Fnv1a64(const char* s) {
  uint64_t h = 14695981039346656037ull;
  for (; *s != 0; ++s) {
    h ^= static_cast<unsigned char>(*s);
    h *= 1099511628211ull;
  }
  return h;
}

constexpr uint64_t kLayoutHash = Fnv1a64(kLayoutText);

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_LAYOUT_HASH_H_
