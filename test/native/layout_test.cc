// The layout: regions in order, aligned, non-overlapping, and the block initialised as the
// TypeScript side expects.
#include <vector>

#include "../../native/core/block.h"
#include "check.h"

using namespace rs;

int main() {
  for (uint32_t cap = kMinRingCapacity; cap <= kMaxRingCapacity; cap *= 2) {
    for (uint32_t scale = k::HIST_MIN_SCALE; scale <= k::HIST_MAX_SCALE; scale++) {
      Layout l = ComputeLayout(cap, scale);
      CHECK(l.main_slots >= MAIN_SPACES_BASE + k::MAX_SPACES * k::SPACE_SLOTS);
      CHECK(l.ring_control_offset >= l.main_offset + l.main_slots);
      CHECK(l.loop_delay_offset >= l.ring_control_offset + k::RING_CONTROL_SLOTS);
      CHECK(l.loop_iteration_offset >=
            l.loop_delay_offset + k::HIST_HEADER_SLOTS + HistBucketCount(scale));
      CHECK(l.ring_records_offset >=
            l.loop_iteration_offset + k::HIST_HEADER_SLOTS + HistBucketCount(scale));
      // Each histogram region holds its header and buckets before the next region begins.
      const uint32_t hist = k::HIST_HEADER_SLOTS + HistBucketCount(scale);
      CHECK(l.safepoint_hist_offset >= l.gc_hist_offset + k::GC_HISTOGRAMS * l.hist_slots);
      CHECK(l.threadpool_hist_offset >= l.safepoint_hist_offset + hist);
      CHECK(l.stall_offset >= l.threadpool_hist_offset + hist);
      CHECK_EQ(l.threadpool_hist_offset % kCacheLineSlots, 0u);
      CHECK_EQ(l.total_slots, l.ring_records_offset + cap * k::RECORD_SLOTS);
      CHECK_EQ(l.loop_delay_offset % kCacheLineSlots, 0u);
      CHECK_EQ(l.ring_records_offset % kCacheLineSlots, 0u);
    }
  }
  Layout l = ComputeLayout(64, 6);
  std::vector<double> mem(l.total_slots, 12345.0);
  Block b(mem.data(), l);
  b.Init();
  CHECK_EQ(mem[MAIN_LAYOUT_VERSION], static_cast<double>(k::LAYOUT_VERSION));
  CHECK_EQ(mem[MAIN_GC_COUNT], 0.0);
  CHECK_EQ(mem[l.ring_control_offset + k::RING_CAPACITY_SLOT], 64.0);
  CHECK_EQ(mem[l.loop_delay_offset + HIST_SCALE], 6.0);
  CHECK_EQ(mem[l.loop_iteration_offset + HIST_BUCKETS], static_cast<double>(HistBucketCount(6)));
  CHECK_EQ(mem[l.threadpool_hist_offset + HIST_SCALE], 6.0);
  CHECK_EQ(mem[l.threadpool_hist_offset + HIST_BUCKETS], static_cast<double>(HistBucketCount(6)));
  CHECK_EQ(mem[MAIN_THREADPOOL_IN_FLIGHT], 0.0);
  CHECK_EQ(mem[l.total_slots - 1], 0.0);
  CHECK_EQ(b.ring().capacity(), 64u);
  return Finish("layout_test");
}
