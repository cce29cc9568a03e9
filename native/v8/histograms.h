// V8's internal histograms (Isolate::SetCreateHistogramFunction /
// SetAddHistogramSampleFunction): the GC work the prologue/epilogue callbacks do not see
// (incremental marking steps), the phases of mark-compacts and scavenges, time to
// safepoint, GC reasons and fragmentation.
//
// V8 keeps one set of histograms per isolate and calls the two callbacks without any
// user data: create on first use of a histogram (on whichever thread uses it, again and
// again while we return null), add-sample on the thread that records. We return a
// pointer to a static descriptor for the histograms we keep and null for the rest, so
// nothing is allocated per isolate and nothing V8 holds can dangle. Samples are
// attributed to the recording thread's listeners (a pthread key, set only on JS threads
// that run a sampler with v8Histograms on): the GC histograms are recorded on the
// isolate's own JS thread.
#ifndef RUNTIME_SAMPLER_V8_HISTOGRAMS_H_
#define RUNTIME_SAMPLER_V8_HISTOGRAMS_H_

#include <cstdint>

namespace v8 {
class Isolate;
}

namespace rs {

class Monitor;

// The histograms we keep.
enum V8Hist : uint32_t {
  kV8HistIncrementalMarkingStep = 1,
  kV8HistIncrementalMarkingSum,
  kV8HistIncrementalMarkingReason,
  kV8HistMarkCompactReason,
  kV8HistMcMark,
  kV8HistMcSweep,
  kV8HistMcEvacuate,
  kV8HistMcClear,
  kV8HistMcPrologue,
  kV8HistMcEpilogue,
  kV8HistMcFinish,
  kV8HistScavengeMain,
  kV8HistScavengeRoots,
  kV8HistTimeToSafepoint,
  kV8HistFragTotal,
  kV8HistFragOld,
  kV8HistFragCode,
  kV8HistFragMap,
  kV8HistFragLo,
  kV8HistMcTotal,
  kV8HistCount
};

// Which of ours V8's histogram `name` is, or 0. Exposed for tests.
uint32_t ClassifyV8Histogram(const char* name);

// Adds `m` to the calling (JS) thread's listeners; the first one installs the callbacks
// on `isolate`. Returns false when the thread already has the maximum of listeners.
bool AddV8HistogramListener(v8::Isolate* isolate, Monitor* m);
// Removes `m`; the last one uninstalls the callbacks (V8's default: no histograms).
void RemoveV8HistogramListener(v8::Isolate* isolate, Monitor* m);

// Samples of our histograms recorded on a thread with no listener (process-wide).
uint64_t V8HistogramUnattributedSamples();

// V8's GarbageCollectionReason names, by code, for the V8 this was compiled against.
const char* const* GcReasonNames(uint32_t* count);

}  // namespace rs

#endif  // RUNTIME_SAMPLER_V8_HISTOGRAMS_H_
