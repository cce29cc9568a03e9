// The base-2 exponential histogram shared with lib/histogram.ts (same bucket function,
// proven equal by test/native/histogram_vectors). OpenTelemetry exponential-histogram
// semantics: at scale s, bucket i holds values in (2^(i / 2^s), 2^((i + 1) / 2^s)].
// The index is computed exactly from the double's exponent bits and a binary search of
// the shared boundary table, never with log(), so C++ and JavaScript agree on every value.
#ifndef RUNTIME_SAMPLER_CORE_HISTOGRAM_H_
#define RUNTIME_SAMPLER_CORE_HISTOGRAM_H_

#include <cstdint>
#include <cstring>

#include "bucket_table.h"
#include "layout.h"
#include "seqlock.h"
#include "slot_access.h"

namespace rs {

// Bucket index of a value > 0 at `scale`, clamped to [-1, HIST_TOP_OCTAVE * 2^scale - 1].
inline int32_t BucketIndex(double value, uint32_t scale) {
  const int32_t per_octave = 1 << scale;
  const int32_t max_index = static_cast<int32_t>(k::HIST_TOP_OCTAVE) * per_octave - 1;
  if (!(value > 1.0)) return -1;  // also NaN
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const int32_t exponent = static_cast<int32_t>((bits >> 52) & 0x7ff) - 1023;
  if (exponent >= static_cast<int32_t>(k::HIST_TOP_OCTAVE)) return max_index;
  // The mantissa scaled into [1, 2), exactly.
  const uint64_t mbits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
  double mantissa;
  std::memcpy(&mantissa, &mbits, sizeof mantissa);
  // lower_bound over boundaries[j << (MAX - scale)], j in [0, per_octave): the number of
  // boundaries strictly below the mantissa.
  const uint32_t stride_shift = k::HIST_MAX_SCALE - scale;
  int32_t lo = 0, hi = per_octave;
  while (lo < hi) {
    int32_t mid = (lo + hi) >> 1;
    if (kBucketBoundaries[static_cast<uint32_t>(mid) << stride_shift] < mantissa) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  int32_t index = exponent * per_octave + lo - 1;
  return index > max_index ? max_index : index;
}

// Lower boundary of bucket `index` at `scale`: 2^(index / 2^scale).
inline double BucketLowerBound(int32_t index, uint32_t scale) {
  const int32_t per_octave = 1 << scale;
  int32_t octave = index >= 0 ? index / per_octave : -((-index + per_octave - 1) / per_octave);
  int32_t sub = index - octave * per_octave;
  double base = kBucketBoundaries[static_cast<uint32_t>(sub) << (k::HIST_MAX_SCALE - scale)];
  // ldexp without <cmath>: build 2^octave directly (octave is small).
  uint64_t pbits = static_cast<uint64_t>(octave + 1023) << 52;
  double pow2;
  std::memcpy(&pow2, &pbits, sizeof pow2);
  return base * pow2;
}

// A histogram living in a region of the shared block (header + buckets), written by one
// thread under its own sequence word. Recording touches only that memory.
class BlockHistogram {
 public:
  BlockHistogram() = default;
  explicit BlockHistogram(double* region) : region_(region) {}

  static void Init(double* region, uint32_t scale) {
    std::memset(region, 0, sizeof(double) * HistRegionSlots(scale));
    StoreSlot(region + HIST_SCALE, scale);
    StoreSlot(region + HIST_INDEX_OFFSET, kHistIndexOffset);
    StoreSlot(region + HIST_BUCKETS, HistBucketCount(scale));
  }

  void Record(double value) {
    const uint32_t scale = static_cast<uint32_t>(LoadSlot(region_ + HIST_SCALE));
    SeqWriteSection section(WordOf(region_ + HIST_SEQ));
    const double count = LoadSlot(region_ + HIST_COUNT);
    if (count == 0 || value < LoadSlot(region_ + HIST_MIN)) StoreSlot(region_ + HIST_MIN, value);
    if (count == 0 || value > LoadSlot(region_ + HIST_MAX)) StoreSlot(region_ + HIST_MAX, value);
    StoreSlot(region_ + HIST_COUNT, count + 1);
    AddSlot(region_ + HIST_SUM, value);
    if (!(value > 0)) {
      AddSlot(region_ + HIST_ZERO_COUNT, 1);
      return;
    }
    const int32_t index = BucketIndex(value, scale);
    AddSlot(buckets() + (index - kHistIndexOffset), 1);
  }

  double* region() const { return region_; }
  double* buckets() const { return region_ + k::HIST_HEADER_SLOTS; }

 private:
  double* region_ = nullptr;
};

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_HISTOGRAM_H_
