// A sequence lock over a region of the shared block: one writer thread, any number of
// readers on any thread, readers never block the writer.
//
// Writer: make the sequence odd, write the slots (relaxed atomics), make it even again.
// Reader: read the sequence, copy, read it again; retry when it was odd or changed.
// The fences follow Boehm, "Can seqlocks get along with programming language memory
// models?" (MSPC 2012), so the protocol is correct under the C++ memory model and clean
// under ThreadSanitizer. JavaScript readers use Atomics.load, which is sequentially
// consistent and therefore at least as strong.
#ifndef RUNTIME_SAMPLER_CORE_SEQLOCK_H_
#define RUNTIME_SAMPLER_CORE_SEQLOCK_H_

#include <cstdint>

#include "slot_access.h"

namespace rs {

class SeqWriter {
 public:
  explicit SeqWriter(uint32_t* seq) : seq_(seq) {}

  void Begin() {
    uint32_t s = LoadWord(seq_, __ATOMIC_RELAXED);
    StoreWord(seq_, s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
  }
  void End() {
    uint32_t s = LoadWord(seq_, __ATOMIC_RELAXED);
    StoreWord(seq_, s + 1, __ATOMIC_RELEASE);
  }

 private:
  uint32_t* seq_;
};

// RAII form: a write section must not call anything that could re-enter the writer
// (V8, libuv); compute first, then write.
class SeqWriteSection {
 public:
  explicit SeqWriteSection(uint32_t* seq) : writer_(seq) { writer_.Begin(); }
  ~SeqWriteSection() { writer_.End(); }
  SeqWriteSection(const SeqWriteSection&) = delete;
  SeqWriteSection& operator=(const SeqWriteSection&) = delete;

 private:
  SeqWriter writer_;
};

// Copies `count` slots from `src` into `dst` consistently. Returns the number of retries.
// `max_retries` bounds the wait on a writer that never finishes (a dead thread); returns
// -1 in that case with `dst` holding a possibly torn copy.
inline int SeqRead(const uint32_t* seq, const double* src, double* dst, uint32_t count,
                   int max_retries = 1 << 20) {
  for (int attempt = 0; attempt <= max_retries; attempt++) {
    uint32_t before = LoadWord(seq, __ATOMIC_ACQUIRE);
    if (before & 1u) continue;
    for (uint32_t i = 0; i < count; i++) dst[i] = LoadSlot(src + i);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint32_t after = LoadWord(seq, __ATOMIC_RELAXED);
    if (before == after) return attempt;
  }
  return -1;
}

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_SEQLOCK_H_
