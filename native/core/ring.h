// A lock-free single-producer / single-consumer ring of fixed-size records in the shared
// block. Head and tail are free-running 32-bit counters (wraparound is harmless because
// the capacity is a power of two no larger than 2^16). When the ring is full the producer
// drops the record and the caller counts it: it never blocks and never grows.
#ifndef RUNTIME_SAMPLER_CORE_RING_H_
#define RUNTIME_SAMPLER_CORE_RING_H_

#include <cstdint>

#include "layout.h"
#include "slot_access.h"

namespace rs {

class Ring {
 public:
  Ring() = default;
  // `control` is the ring control area, `records` capacity * RECORD_SLOTS slots.
  Ring(double* control, double* records, uint32_t capacity)
      : head_(WordOf(control + k::RING_HEAD_SLOT)),
        tail_(WordOf(control + k::RING_TAIL_SLOT)),
        records_(records),
        mask_(capacity - 1) {}

  // Initialises the control area of a fresh block.
  static void Init(double* control, uint32_t capacity) {
    StoreWord(WordOf(control + k::RING_HEAD_SLOT), 0);
    StoreWord(WordOf(control + k::RING_TAIL_SLOT), 0);
    StoreSlot(control + k::RING_CAPACITY_SLOT, capacity);
  }

  uint32_t capacity() const { return mask_ + 1; }

  // Producer: a slot to fill, or nullptr when full. Publish it with Commit().
  double* Reserve() {
    uint32_t head = LoadWord(head_, __ATOMIC_RELAXED);
    uint32_t tail = LoadWord(tail_, __ATOMIC_ACQUIRE);
    if (head - tail > mask_) return nullptr;
    return records_ + static_cast<size_t>(head & mask_) * k::RECORD_SLOTS;
  }
  void Commit() {
    uint32_t head = LoadWord(head_, __ATOMIC_RELAXED);
    StoreWord(head_, head + 1, __ATOMIC_RELEASE);
  }

  // Consumer: copies the oldest record into `out` (RECORD_SLOTS doubles).
  bool Pop(double* out) {
    uint32_t tail = LoadWord(tail_, __ATOMIC_RELAXED);
    uint32_t head = LoadWord(head_, __ATOMIC_ACQUIRE);
    if (tail == head) return false;
    const double* rec = records_ + static_cast<size_t>(tail & mask_) * k::RECORD_SLOTS;
    for (uint32_t i = 0; i < k::RECORD_SLOTS; i++) out[i] = LoadSlot(rec + i);
    StoreWord(tail_, tail + 1, __ATOMIC_RELEASE);
    return true;
  }

  uint32_t Size() const {
    return LoadWord(head_, __ATOMIC_ACQUIRE) - LoadWord(tail_, __ATOMIC_ACQUIRE);
  }

 private:
  uint32_t* head_ = nullptr;
  uint32_t* tail_ = nullptr;
  double* records_ = nullptr;
  uint32_t mask_ = 0;
};

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_RING_H_
