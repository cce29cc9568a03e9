// The base-2 exponential histogram shared with lib/histogram.ts (same bucket function,
// proven equal by test/native/histogram_vectors). OpenTelemetry exponential-histogram
// semantics: at scale s, bucket i holds values in (2^(i / 2^s), 2^((i + 1) / 2^s)].
// The index is computed exactly from the double's exponent bits and the shared boundary
// table, never with log(), so C++ and JavaScript agree on every value.
#ifndef RUNTIME_SAMPLER_CORE_HISTOGRAM_H_
#define RUNTIME_SAMPLER_CORE_HISTOGRAM_H_

#include <cstdint>
#include <cstring>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

#include "bucket_table.h"
#include "layout.h"
#include "seqlock.h"
#include "slot_access.h"

namespace rs {

namespace detail {

// A first guess for the bucket search: the mantissa's top 9 bits pick one of 512 equal
// bins of [1, 2); kBinFirst[b] is the number of finest-scale boundaries below the bin's
// start. Bins (width 2^-9 ≈ 0.00195) are narrower than the closest two boundaries
// (2^(1/256) - 1 ≈ 0.00271, near 1), so a bin holds at most one boundary and one
// comparison finishes the search. Built at compile time from the shared table.
constexpr int kBinBits = 9;
struct BinTable {
  uint16_t first[1 << kBinBits];
};
constexpr BinTable MakeBinTable() {
  BinTable t{};
  int k = 0;
  for (int b = 0; b < (1 << kBinBits); b++) {
    const double start = 1.0 + static_cast<double>(b) / (1 << kBinBits);  // exact
    while (k < (1 << k::HIST_MAX_SCALE) && kBucketBoundaries[k] < start) k++;
    t.first[b] = static_cast<uint16_t>(k);
  }
  return t;
}
inline constexpr BinTable kBins = MakeBinTable();
static_assert(kBins.first[0] == 0, "the first boundary is 1");

// Number of finest-scale boundaries strictly below `mantissa` (in [1, 2)), whose bits
// (with the exponent of 1.0) are `mbits`: the lower_bound a binary search would give.
inline uint32_t BoundariesBelow(double mantissa, uint64_t mbits) {
  const uint32_t bin = static_cast<uint32_t>((mbits >> (52 - kBinBits)) & ((1u << kBinBits) - 1));
  const uint32_t first = kBins.first[bin];
  const uint32_t n = 1u << k::HIST_MAX_SCALE;
  return first + (first < n && kBucketBoundaries[first < n ? first : 0] < mantissa ? 1u : 0u);
}

}  // namespace detail

// floor(log2(v)) for v > 0.
inline uint32_t FloorLog2(uint32_t v) {
#if defined(_MSC_VER) && !defined(__clang__)
  unsigned long bit;
  _BitScanReverse(&bit, v);
  return static_cast<uint32_t>(bit);
#else
  return 31u - static_cast<uint32_t>(__builtin_clz(v));
#endif
}

// A value split for the bucket search: its binary exponent and its mantissa in [1, 2)
// (with the mantissa's bits). Returns false, with `*index` set, when the value needs no
// search: -1 for values ≤ 1 (and NaN), the top bucket for values at or past the top octave.
struct Split {
  int32_t exponent;
  double mantissa;
  uint64_t mbits;
};
inline bool SplitForBucket(double value, uint32_t scale, Split* out, int32_t* index) {
  const int32_t per_octave = 1 << scale;
  if (!(value > 1.0)) {
    *index = -1;  // also NaN
    return false;
  }
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  out->exponent = static_cast<int32_t>((bits >> 52) & 0x7ff) - 1023;
  if (out->exponent >= static_cast<int32_t>(k::HIST_TOP_OCTAVE)) {
    *index = static_cast<int32_t>(k::HIST_TOP_OCTAVE) * per_octave - 1;
    return false;
  }
  out->mbits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;  // exactly [1, 2)
  std::memcpy(&out->mantissa, &out->mbits, sizeof out->mantissa);
  return true;
}

// An integer v > 1 split exactly as SplitForBucket splits the double v, without the
// conversion (the loop hook's batches). A uint32_t is far below HIST_TOP_OCTAVE.
static_assert(k::HIST_TOP_OCTAVE > 32, "uint32_t values need no clamp");
inline Split SplitInteger(uint32_t v) {
  Split out;
  const uint32_t e = FloorLog2(v);
  out.exponent = static_cast<int32_t>(e);
  out.mbits = ((static_cast<uint64_t>(v) << (52 - e)) & 0x000fffffffffffffull) |
              0x3ff0000000000000ull;  // v / 2^e, exactly, in [1, 2)
  std::memcpy(&out.mantissa, &out.mbits, sizeof out.mantissa);
  return out;
}

// The bucket index of a split value at `scale`, before clamping: the finest-scale count of
// boundaries below the mantissa, c, from a bin table and one comparison; at a coarser scale
// (every 2^(MAX - scale)-th boundary) the count is ceil(c / 2^(MAX - scale)).
inline int32_t SplitIndex(const Split& v, uint32_t scale) {
  const uint32_t shift = k::HIST_MAX_SCALE - scale;
  const uint32_t below = detail::BoundariesBelow(v.mantissa, v.mbits);
  const int32_t sub = static_cast<int32_t>((below + (1u << shift) - 1) >> shift);
  return v.exponent * (1 << scale) + sub - 1;
}

inline int32_t ClampIndex(int32_t index, uint32_t scale) {
  const int32_t max_index = static_cast<int32_t>(k::HIST_TOP_OCTAVE) * (1 << scale) - 1;
  return index > max_index ? max_index : index;
}

// Bucket index of a value > 0 at `scale`, clamped to [-1, HIST_TOP_OCTAVE * 2^scale - 1].
// Exact (SplitIndex); equal to a binary search of the table on every value
// (test/native/histogram_test.cc checks both, and the shared vector file).
inline int32_t BucketIndex(double value, uint32_t scale) {
  Split v;
  int32_t index;
  if (!SplitForBucket(value, scale, &v, &index)) return index;
  return ClampIndex(SplitIndex(v, scale), scale);
}

// The reference: a binary search of the boundary table (kept for the tests).
inline int32_t BucketIndexBySearch(double value, uint32_t scale) {
  Split v;
  int32_t index;
  if (!SplitForBucket(value, scale, &v, &index)) return index;
  const uint32_t stride_shift = k::HIST_MAX_SCALE - scale;
  int32_t lo = 0, hi = 1 << scale;
  while (lo < hi) {
    int32_t mid = (lo + hi) >> 1;
    if (kBucketBoundaries[static_cast<uint32_t>(mid) << stride_shift] < v.mantissa) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return ClampIndex(v.exponent * (1 << scale) + lo - 1, scale);
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
  BlockHistogram(double* region, uint32_t scale) : region_(region), scale_(scale) {}

  static void Init(double* region, uint32_t scale) {
    std::memset(region, 0, sizeof(double) * HistRegionSlots(scale));
    StoreSlot(region + HIST_SCALE, scale);
    StoreSlot(region + HIST_INDEX_OFFSET, kHistIndexOffset);
    StoreSlot(region + HIST_BUCKETS, HistBucketCount(scale));
  }

  void Record(double value) {
    // The index first: nothing but stores happens inside the write section.
    const int32_t index = value > 0 ? BucketIndex(value, scale_) : 0;
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
    AddSlot(buckets() + (index - kHistIndexOffset), 1);
  }

  // The most values RecordBatch takes at once.
  static constexpr uint32_t kMaxBatch = 256;

  // Records n (≤ kMaxBatch) integer values in one write section: the same contents as n
  // Record() calls (the sum too: integers, exact in a double up to 2^53), at a fraction of
  // their cost. The loop hook buffers its iterations and records them so.
  void RecordBatch(const uint32_t* values, uint32_t n) {
    if (n == 0) return;
    if (n > kMaxBatch) n = kMaxBatch;
    int32_t index[kMaxBatch];
    uint32_t lo = UINT32_MAX, hi = 0, zeros = 0;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t v = values[i];
      // BucketIndex for integers, without the conversion to double; 0 and 1 go below the
      // first bucket.
      index[i] = v > 1 ? SplitIndex(SplitInteger(v), scale_) : -1;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      sum += v;
      zeros += v == 0;
    }
    SeqWriteSection section(WordOf(region_ + HIST_SEQ));
    const double count = LoadSlot(region_ + HIST_COUNT);
    if (count == 0 || lo < LoadSlot(region_ + HIST_MIN)) StoreSlot(region_ + HIST_MIN, lo);
    if (count == 0 || hi > LoadSlot(region_ + HIST_MAX)) StoreSlot(region_ + HIST_MAX, hi);
    StoreSlot(region_ + HIST_COUNT, count + n);
    AddSlot(region_ + HIST_SUM, static_cast<double>(sum));
    if (zeros != 0) AddSlot(region_ + HIST_ZERO_COUNT, zeros);
    double* b = buckets();
    for (uint32_t i = 0; i < n; i++) {
      if (values[i] > 0) AddSlot(b + (index[i] - kHistIndexOffset), 1);
    }
  }

  double* region() const { return region_; }
  double* buckets() const { return region_ + k::HIST_HEADER_SLOTS; }

 private:
  double* region_ = nullptr;
  uint32_t scale_ = 0;  // as written into the region by Init
};

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_HISTOGRAM_H_
