// Typed access to one sampler's shared block: where its regions are and how a fresh block
// is initialised. The memory is owned elsewhere (a SharedArrayBuffer).
#ifndef RUNTIME_SAMPLER_CORE_BLOCK_H_
#define RUNTIME_SAMPLER_CORE_BLOCK_H_

#include <cstdint>
#include <cstring>

#include "histogram.h"
#include "layout.h"
#include "ring.h"
#include "seqlock.h"
#include "slot_access.h"

namespace rs {

class Block {
 public:
  Block() = default;
  Block(double* base, const Layout& layout)
      : base_(base),
        layout_(layout),
        ring_(base + layout.ring_control_offset, base + layout.ring_records_offset,
              layout.ring_capacity),
        loop_delay_(base + layout.loop_delay_offset, layout.scale),
        loop_iteration_(base + layout.loop_iteration_offset, layout.scale),
        safepoint_(base + layout.safepoint_hist_offset, layout.scale),
        threadpool_delay_(base + layout.threadpool_hist_offset, layout.scale) {
    for (uint32_t i = 0; i < k::GC_HISTOGRAMS; i++) {
      gc_pause_[i] =
          BlockHistogram(base + layout.gc_hist_offset + i * layout.hist_slots, layout.scale);
    }
  }

  // Zeroes the block and writes its self-describing fields. Only before anyone reads it.
  void Init() {
    std::memset(base_, 0, layout_.total_bytes());
    StoreSlot(main() + MAIN_LAYOUT_VERSION, k::LAYOUT_VERSION);
    Ring::Init(base_ + layout_.ring_control_offset, layout_.ring_capacity);
    BlockHistogram::Init(loop_delay_.region(), layout_.scale);
    BlockHistogram::Init(loop_iteration_.region(), layout_.scale);
    for (uint32_t i = 0; i < k::GC_HISTOGRAMS; i++)
      BlockHistogram::Init(gc_pause_[i].region(), layout_.scale);
    BlockHistogram::Init(safepoint_.region(), layout_.scale);
    BlockHistogram::Init(threadpool_delay_.region(), layout_.scale);
    // Fragmentation is unknown until V8 reports it.
    for (uint32_t s = MAIN_HEAP_FRAG_TOTAL; s <= MAIN_HEAP_FRAG_LO; s++)
      StoreSlot(main() + s, __builtin_nan(""));
    // So are the cgroup's values until the first refresh reads them (version 0: none yet).
    for (uint32_t s = MAIN_CG_MEMORY_LIMIT_BYTES; s <= MAIN_CG_CPU_PRESSURE_FULL_NS; s++)
      StoreSlot(main() + s, __builtin_nan(""));
  }

  double* main() const { return base_ + layout_.main_offset; }
  uint32_t* main_seq() const { return WordOf(main() + MAIN_SEQ); }
  double* space(uint32_t index) const { return main() + MAIN_SPACES_BASE + index * k::SPACE_SLOTS; }
  Ring& ring() { return ring_; }
  BlockHistogram& loop_delay() { return loop_delay_; }
  BlockHistogram& loop_iteration() { return loop_iteration_; }
  // 0: every GC; 1 + i: the GC type with bit i (scavenge, minor mark-sweep, mark-compact,
  // incremental marking, weak callbacks).
  BlockHistogram& gc_pause(uint32_t i) { return gc_pause_[i]; }
  // V8's time to safepoint of each GC (ns, microsecond resolution).
  BlockHistogram& safepoint() { return safepoint_; }
  // The threadpool probe's delay from submission to start on a pool thread (ns).
  BlockHistogram& threadpool_delay() { return threadpool_delay_; }
  // The watchdog's region (its own sequence word at STALL_SEQ).
  double* stall() const { return base_ + layout_.stall_offset; }
  uint32_t* stall_seq() const { return WordOf(stall() + STALL_SEQ); }
  // The mark-compact log (its own sequence word at slot 0).
  double* mc_log() const { return base_ + layout_.mc_log_offset; }
  uint32_t* mc_log_seq() const { return WordOf(mc_log()); }
  // Stack buffer i (of STACK_BUFFERS).
  double* stack_buffer(uint32_t i) const {
    return base_ + layout_.stacks_offset + i * k::STACK_BUFFER_SLOTS;
  }
  const Layout& layout() const { return layout_; }
  bool valid() const { return base_ != nullptr; }

 private:
  double* base_ = nullptr;
  Layout layout_{};
  Ring ring_;
  BlockHistogram loop_delay_;
  BlockHistogram loop_iteration_;
  BlockHistogram gc_pause_[k::GC_HISTOGRAMS];
  BlockHistogram safepoint_;
  BlockHistogram threadpool_delay_;
};

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_BLOCK_H_
