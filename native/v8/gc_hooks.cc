// GC prologue/epilogue callbacks. They run inside V8's pause on the JS thread and only
// read the clock (vDSO), call V8's statistics getters and store into the preallocated
// block: no allocation, no lock, no logging, no system call.
#include <v8.h>

#include "../core/clock.h"
#include "../monitor.h"

namespace rs {

namespace {

// V8's GCType bits have kept their values while their names changed (MinorMarkCompact
// became MinorMarkSweep), so we switch on the numbers.
constexpr uint32_t kScavenge = 1u << 0;
constexpr uint32_t kMinorMarkSweep = 1u << 1;
constexpr uint32_t kMarkSweepCompact = 1u << 2;
constexpr uint32_t kIncrementalMarking = 1u << 3;
constexpr uint32_t kProcessWeakCallbacks = 1u << 4;
constexpr uint32_t kForcedFlag = 1u << 2;  // kGCCallbackFlagForced

// First of the three per-type slots (count, pause, max pause), or 0 for an unknown type.
uint32_t TypeSlot(uint32_t type) {
  switch (type) {
    case kScavenge: return MAIN_GC_SCAVENGE_COUNT;
    case kMinorMarkSweep: return MAIN_GC_MINOR_MS_COUNT;
    case kMarkSweepCompact: return MAIN_GC_MSC_COUNT;
    case kIncrementalMarking: return MAIN_GC_INCREMENTAL_COUNT;
    case kProcessWeakCallbacks: return MAIN_GC_WEAK_COUNT;
    default: return 0;
  }
}

// Index of the type's pause histogram (1 + the type's bit), or 0 (only the all-GC one).
uint32_t TypeHistogram(uint32_t type) {
  for (uint32_t bit = 0; bit + 1 < k::GC_HISTOGRAMS; bit++) {
    if (type == (1u << bit)) return bit + 1;
  }
  return 0;
}

void Prologue(v8::Isolate*, v8::GCType type, v8::GCCallbackFlags flags, void* data) {
  static_cast<Monitor*>(data)->OnGCPrologue(static_cast<uint32_t>(type),
                                            static_cast<uint32_t>(flags));
}

void Epilogue(v8::Isolate*, v8::GCType type, v8::GCCallbackFlags flags, void* data) {
  static_cast<Monitor*>(data)->OnGCEpilogue(static_cast<uint32_t>(type),
                                            static_cast<uint32_t>(flags));
}

}  // namespace

void Monitor::InstallGCHooks() {
  if (hooks_installed_) return;
  isolate_->AddGCPrologueCallback(Prologue, this, v8::kGCTypeAll);
  isolate_->AddGCEpilogueCallback(Epilogue, this, v8::kGCTypeAll);
  hooks_installed_ = true;
  StartV8Histograms();
}

void Monitor::RemoveGCHooks() {
  if (!hooks_installed_) return;
  isolate_->RemoveGCPrologueCallback(Prologue, this);
  isolate_->RemoveGCEpilogueCallback(Epilogue, this);
  hooks_installed_ = false;
  StopV8Histograms();
}

void Monitor::OnGCPrologue(uint32_t type, uint32_t flags) {
  const uint64_t start = MonotonicNs();
  if (gc_depth_ >= kMaxGcDepth) {
    gc_overflow_depth_++;  // too deep to time; its epilogue is ignored the same way
    return;
  }
  GcFrame& f = gc_stack_[gc_depth_++];
  f.type = type;
  f.flags = flags;
  f.start_ns = start;
  f.nested_ns = 0;
  f.used_before = HeapUsedBytes(isolate_);
}

void Monitor::OnGCEpilogue(uint32_t type, uint32_t flags) {
  const uint64_t end = MonotonicNs();
  if (gc_overflow_depth_ > 0) {
    gc_overflow_depth_--;
    return;
  }
  if (gc_depth_ == 0) return;  // began before we were installed
  const GcFrame f = gc_stack_[--gc_depth_];
  const uint64_t duration = end - f.start_ns;
  const uint64_t pause = duration > f.nested_ns ? duration - f.nested_ns : 0;
  if (gc_depth_ > 0) gc_stack_[gc_depth_ - 1].nested_ns += duration;
  const bool forced = ((f.flags | flags) & kForcedFlag) != 0;
  const uint32_t gc_type = f.type != 0 ? f.type : type;

  HeapSample& hs = heap_sample_;
  SampleHeap(isolate_, space_count_, &hs);

  {
    SeqWriteSection section(block_.main_seq());
    double* m = block_.main();
    const double p = static_cast<double>(pause);
    AddSlot(m + MAIN_GC_COUNT, 1);
    AddSlot(m + MAIN_GC_PAUSE_NS, p);
    MaxSlot(m + MAIN_GC_MAX_PAUSE_NS, p);
    if (forced) AddSlot(m + MAIN_GC_FORCED_COUNT, 1);
    if (gc_depth_ > 0) AddSlot(m + MAIN_GC_NESTED_COUNT, 1);
    const uint32_t ts = TypeSlot(gc_type);
    if (ts != 0) {
      AddSlot(m + ts, 1);
      AddSlot(m + ts + 1, p);
      MaxSlot(m + ts + 2, p);
    }
    // Growth since the last observation is allocation; the drop across this GC is reclaim.
    ObserveHeapUsed(f.used_before);
    ObserveHeapUsed(hs.used);
    WriteHeapSample(block_, hs, static_cast<double>(end));
    StoreSlot(m + MAIN_GC_LAST_END_NS, static_cast<double>(end));

    // Every GC's pause, in shared memory: other threads read these histograms too, and
    // they miss nothing when the event ring overflows.
    block_.gc_pause(0).Record(p);
    const uint32_t th = TypeHistogram(gc_type);
    if (th != 0) block_.gc_pause(th).Record(p);

    double* rec = block_.ring().Reserve();
    if (rec == nullptr) {
      AddSlot(m + MAIN_SAMPLER_RING_DROPPED, 1);
    } else {
      StoreSlot(rec + RECORD_KIND, k::RECORD_KIND_GC);
      StoreSlot(rec + RECORD_GC_TYPE, gc_type);
      StoreSlot(rec + RECORD_FLAGS, f.flags | flags);
      StoreSlot(rec + RECORD_START_NS, static_cast<double>(f.start_ns));
      StoreSlot(rec + RECORD_PAUSE_NS, p);
      StoreSlot(rec + RECORD_DURATION_NS, static_cast<double>(duration));
      StoreSlot(rec + RECORD_USED_BEFORE_BYTES, f.used_before);
      StoreSlot(rec + RECORD_USED_AFTER_BYTES, hs.used);
      for (uint32_t i = 0; i < k::MAX_SPACES; i++) {
        StoreSlot(rec + RECORD_SPACES_USED_AFTER + i,
                  i < hs.space_count ? hs.spaces[i][SPACE_USED_BYTES] : 0);
      }
      block_.ring().Commit();
    }
  }

  if ((gc_type & v8::kGCTypeMarkSweepCompact) != 0) {
    // The log has its own sequence word: readers of the main region do not retry for it.
    SeqWriteSection section(block_.mc_log_seq());
    double* log = block_.mc_log();
    const double n = log[k::MC_LOG_COUNT_SLOT];
    double* e = log + k::MC_LOG_HEADER_SLOTS +
                (static_cast<uint64_t>(n) % k::MC_LOG_ENTRIES) * k::MC_LOG_ENTRY_SLOTS;
    StoreSlot(e + k::MC_LOG_END_NS, static_cast<double>(end));
    StoreSlot(e + k::MC_LOG_FLAGS, f.flags | flags);
    StoreSlot(e + k::MC_LOG_USED_AFTER, hs.used);
    for (uint32_t i = 0; i < k::MAX_SPACES; i++) {
      StoreSlot(e + k::MC_LOG_SPACES_USED_AFTER + i,
                i < hs.space_count ? hs.spaces[i][SPACE_USED_BYTES] : 0);
    }
    StoreSlot(log + k::MC_LOG_COUNT_SLOT, n + 1);
  }
}

void Monitor::ObserveHeapUsed(double used) {
  double* m = block_.main();
  if (used > last_heap_used_) {
    AddSlot(m + MAIN_GC_ALLOCATED_BYTES, used - last_heap_used_);
  } else {
    AddSlot(m + MAIN_GC_RECLAIMED_BYTES, last_heap_used_ - used);
  }
  last_heap_used_ = used;
}

}  // namespace rs
