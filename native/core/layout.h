// Offsets of the shared block, generated from slots.def. No Node or V8 headers here.
#ifndef RUNTIME_SAMPLER_CORE_LAYOUT_H_
#define RUNTIME_SAMPLER_CORE_LAYOUT_H_

#include <cstddef>
#include <cstdint>

namespace rs {

// Slot indices of the snapshot (main) region.
enum MainSlot : uint32_t {
#define MAIN(name) MAIN_##name,
#include "slots.def"
  MAIN_SLOT_COUNT
};

// Offsets inside one heap space's group of slots.
enum SpaceSlot : uint32_t {
#define SPACE(name) SPACE_##name,
#include "slots.def"
  SPACE_FIELD_COUNT
};

// Offsets inside a histogram region's header.
enum HistSlot : uint32_t {
#define HIST(name) HIST_##name,
#include "slots.def"
  HIST_FIELD_COUNT
};

// Offsets inside one ring record.
enum RecordSlot : uint32_t {
#define RECORD(name) RECORD_##name,
#include "slots.def"
  RECORD_FIELD_COUNT
};

// Offsets inside the watchdog's stall region.
enum StallSlot : uint32_t {
#define STALL(name) STALL_##name,
#include "slots.def"
  STALL_FIELD_COUNT
};

namespace k {
#define CONST(name, value) constexpr uint32_t name = value;
#include "slots.def"
}  // namespace k

constexpr uint32_t kSlotBytes = 8;
constexpr uint32_t kCacheLineSlots = 8;

constexpr uint32_t RoundUpSlots(uint32_t n) {
  return (n + kCacheLineSlots - 1) / kCacheLineSlots * kCacheLineSlots;
}

// The GC reason counters follow the runtime's heap spaces (so that read() copies no unused
// space slots); the main region has room for the most spaces.
constexpr uint32_t GcReasonsBase(uint32_t space_count) {
  return MAIN_SPACES_BASE + space_count * k::SPACE_SLOTS;
}
constexpr uint32_t kMainRegionSlots =
    RoundUpSlots(GcReasonsBase(k::MAX_SPACES) + k::GC_REASON_KINDS * k::GC_REASON_CODES);

static_assert(MAIN_SEQ == 0, "the sequence word must be the block's first slot");
static_assert(MAIN_SPACES_BASE + 1 == MAIN_SLOT_COUNT,
              "SPACES_BASE must be the last MAIN slot: heap spaces follow it");
static_assert(SPACE_FIELD_COUNT == k::SPACE_SLOTS, "SPACE_SLOTS must match the SPACE list");
static_assert(HIST_FIELD_COUNT <= k::HIST_HEADER_SLOTS, "histogram header overflows");
static_assert(STALL_FIELD_COUNT <= k::STALL_REGION_SLOTS, "stall region overflows");
static_assert(k::STALL_REGION_SLOTS % 8 == 0, "the stall region fills whole cache lines");
static_assert(k::STACK_BUFFER_SLOTS % 8 == 0, "stack buffers fill whole cache lines");
static_assert(RECORD_SPACES_USED_AFTER + k::MAX_SPACES == k::RECORD_SLOTS,
              "a record is its fields followed by one slot per heap space");
static_assert(k::RING_TAIL_SLOT - k::RING_HEAD_SLOT >= kCacheLineSlots,
              "head and tail must sit on different cache lines");
static_assert(k::RING_CAPACITY_SLOT < k::RING_CONTROL_SLOTS, "ring control overflows");
static_assert(kMainRegionSlots % kCacheLineSlots == 0, "regions start on cache lines");

// Number of buckets of a histogram of the given scale: octaves [0, HIST_TOP_OCTAVE)
// at 2^scale buckets each, plus bucket -1 that holds (2^(-2^-scale), 1] and everything
// clamped below it.
constexpr uint32_t HistBucketCount(uint32_t scale) { return (k::HIST_TOP_OCTAVE << scale) + 1; }
constexpr int32_t kHistIndexOffset = -1;

constexpr uint32_t HistRegionSlots(uint32_t scale) {
  return RoundUpSlots(k::HIST_HEADER_SLOTS + HistBucketCount(scale));
}

constexpr uint32_t kMcLogSlots =
    RoundUpSlots(k::MC_LOG_HEADER_SLOTS + k::MC_LOG_ENTRIES * k::MC_LOG_ENTRY_SLOTS);
static_assert(k::MC_LOG_SPACES_USED_AFTER + k::MAX_SPACES <= k::MC_LOG_ENTRY_SLOTS,
              "a mark-compact log entry holds every heap space");

// Where each region of one block starts, in slots from the block's start.
struct Layout {
  uint32_t ring_capacity;
  uint32_t scale;
  uint32_t main_offset;
  uint32_t main_slots;
  uint32_t ring_control_offset;
  uint32_t loop_delay_offset;
  uint32_t loop_iteration_offset;
  uint32_t gc_hist_offset;          // GC_HISTOGRAMS regions of hist_slots each
  uint32_t safepoint_hist_offset;   // V8's time to safepoint
  uint32_t threadpool_hist_offset;  // the threadpool probe's delay
  uint32_t stall_offset;
  uint32_t mc_log_offset;  // the mark-compact log
  uint32_t stacks_offset;
  uint32_t hist_slots;
  uint32_t ring_records_offset;
  uint32_t total_slots;
  size_t total_bytes() const { return static_cast<size_t>(total_slots) * kSlotBytes; }
};

constexpr bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

constexpr Layout ComputeLayout(uint32_t ring_capacity, uint32_t scale) {
  Layout l{};
  l.ring_capacity = ring_capacity;
  l.scale = scale;
  l.main_offset = 0;
  l.main_slots = kMainRegionSlots;
  l.ring_control_offset = l.main_offset + l.main_slots;
  l.hist_slots = HistRegionSlots(scale);
  l.loop_delay_offset = l.ring_control_offset + RoundUpSlots(k::RING_CONTROL_SLOTS);
  l.loop_iteration_offset = l.loop_delay_offset + l.hist_slots;
  l.gc_hist_offset = l.loop_iteration_offset + l.hist_slots;
  l.safepoint_hist_offset = l.gc_hist_offset + k::GC_HISTOGRAMS * l.hist_slots;
  l.threadpool_hist_offset = l.safepoint_hist_offset + l.hist_slots;
  l.stall_offset = l.threadpool_hist_offset + l.hist_slots;
  l.mc_log_offset = l.stall_offset + k::STALL_REGION_SLOTS;
  l.stacks_offset = l.mc_log_offset + kMcLogSlots;
  l.ring_records_offset = l.stacks_offset + k::STACK_BUFFERS * k::STACK_BUFFER_SLOTS;
  l.total_slots = l.ring_records_offset + ring_capacity * k::RECORD_SLOTS;
  return l;
}

static_assert(ComputeLayout(64, 0).ring_control_offset == kMainRegionSlots, "layout order");
static_assert(ComputeLayout(4096, 6).loop_delay_offset % kCacheLineSlots == 0, "alignment");

// The limits the TypeScript side validates options against; native re-checks them.
constexpr uint32_t kMinRingCapacity = 64;
constexpr uint32_t kMaxRingCapacity = 65536;
// threadpoolProbeMs: 0 (off) or in [kMin, kMax].
constexpr uint32_t kMinThreadpoolProbeMs = 10;
constexpr uint32_t kMaxThreadpoolProbeMs = 60000;

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_LAYOUT_H_
