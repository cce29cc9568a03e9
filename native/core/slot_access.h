// Relaxed atomic access to 8-byte slots and 4-byte words of the shared block.
//
// The block is plain memory also read by JavaScript (Float64Array / Atomics on an
// Int32Array), so std::atomic objects cannot live there. The GCC/Clang __atomic builtins
// give the same guarantees on plain memory, are understood by ThreadSanitizer, and
// compile to ordinary moves on x86-64 and AArch64 for relaxed 8-byte accesses.
#ifndef RUNTIME_SAMPLER_CORE_SLOT_ACCESS_H_
#define RUNTIME_SAMPLER_CORE_SLOT_ACCESS_H_

#include <cstdint>
#include <cstring>

namespace rs {

inline void StoreSlot(double* slot, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  __atomic_store_n(reinterpret_cast<uint64_t*>(slot), bits, __ATOMIC_RELAXED);
}

inline double LoadSlot(const double* slot) {
  uint64_t bits = __atomic_load_n(reinterpret_cast<const uint64_t*>(slot), __ATOMIC_RELAXED);
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// The slot's first four bytes as a 32-bit word (JavaScript sees it as Int32Array[2 * slot]).
inline uint32_t* WordOf(double* slot) { return reinterpret_cast<uint32_t*>(slot); }
inline const uint32_t* WordOf(const double* slot) {
  return reinterpret_cast<const uint32_t*>(slot);
}

inline uint32_t LoadWord(const uint32_t* word, int order = __ATOMIC_ACQUIRE) {
  return __atomic_load_n(word, order);
}
inline void StoreWord(uint32_t* word, uint32_t value, int order = __ATOMIC_RELEASE) {
  __atomic_store_n(word, value, order);
}

// A counter or nanosecond value as a slot value. Our integers stay far below 2^63, and the
// signed conversion is one instruction where the unsigned one is a branchy sequence.
inline double SlotValue(uint64_t v) { return static_cast<double>(static_cast<int64_t>(v)); }

// Single-writer read-modify-write helpers: only the owning thread writes these slots.
inline void AddSlot(double* slot, double delta) { StoreSlot(slot, LoadSlot(slot) + delta); }
inline void MaxSlot(double* slot, double value) {
  if (value > LoadSlot(slot)) StoreSlot(slot, value);
}

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_SLOT_ACCESS_H_
