// V8's internal histograms: see histograms.h. Both callbacks only compare strings, read a
// pthread key and store into preallocated memory: no allocation, no lock, no system call
// (they can run inside a GC pause).
#include "histograms.h"

#include <pthread.h>
#include <v8.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <new>

#include "../monitor.h"

namespace rs {

namespace {

// What V8 gets back from the create callback: one static descriptor per kept histogram.
struct V8HistHandle {
  uint32_t id;
};
V8HistHandle g_handles[kV8HistCount] = {{0},  {1},  {2},  {3},  {4},  {5},  {6},
                                        {7},  {8},  {9},  {10}, {11}, {12}, {13},
                                        {14}, {15}, {16}, {17}, {18}, {19}, {20}};
static_assert(kV8HistCount == 21, "one handle per histogram id (g_handles[i].id == i)");

struct Known {
  const char* name;
  uint32_t id;
};
// Names as V8 10.2–14 define them (src/logging/counters-definitions.h).
constexpr Known kKnown[] = {
    {"V8.GCIncrementalMarking", kV8HistIncrementalMarkingStep},
    {"V8.GCIncrementalMarkingSum", kV8HistIncrementalMarkingSum},
    {"V8.GCIncrementalMarkingReason", kV8HistIncrementalMarkingReason},
    {"V8.GCMarkCompactReason", kV8HistMarkCompactReason},
    {"V8.GCFinalizeMC.Mark", kV8HistMcMark},
    {"V8.GCFinalizeMC.Sweep", kV8HistMcSweep},
    {"V8.GCFinalizeMC.Evacuate", kV8HistMcEvacuate},
    {"V8.GCFinalizeMC.Clear", kV8HistMcClear},
    {"V8.GCFinalizeMC.Prologue", kV8HistMcPrologue},
    {"V8.GCFinalizeMC.Epilogue", kV8HistMcEpilogue},
    {"V8.GCFinalizeMC.Finish", kV8HistMcFinish},
    {"V8.GCScavenger.ScavengeMain", kV8HistScavengeMain},
    {"V8.GCScavenger.ScavengeRoots", kV8HistScavengeRoots},
    {"V8.GC.TimeToSafepoint", kV8HistTimeToSafepoint},
    {"V8.MemoryExternalFragmentationTotal", kV8HistFragTotal},
    {"V8.MemoryExternalFragmentationOldSpace", kV8HistFragOld},
    {"V8.MemoryExternalFragmentationCodeSpace", kV8HistFragCode},
    {"V8.MemoryExternalFragmentationMapSpace", kV8HistFragMap},
    {"V8.MemoryExternalFragmentationLoSpace", kV8HistFragLo},
};

// A JS thread's listeners, behind a pthread key: reading a key the thread never set
// returns null without allocating (a C++ thread_local in a dlopen-ed library may call
// malloc on a thread's first access, and V8's helper threads must not pay that).
constexpr int kMaxListeners = 32;
struct Listeners {
  int count = 0;
  Monitor* monitors[kMaxListeners] = {};
};
pthread_key_t g_key;
bool g_key_ok = false;
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
void MakeKey() { g_key_ok = pthread_key_create(&g_key, nullptr) == 0; }

std::atomic<uint64_t> g_unattributed{0};

bool StartsWith(const char* s, const char* prefix, size_t* n) {
  *n = std::strlen(prefix);
  return std::strncmp(s, prefix, *n) == 0;
}
bool EndsWith(const char* s, const char* suffix) {
  const size_t a = std::strlen(s), b = std::strlen(suffix);
  return a >= b && std::strcmp(s + a - b, suffix) == 0;
}

// The timer of a whole mark-compact, one per collection: V8.GCFinalizeMC (incremental),
// V8.GCCompactor (not), each also with ReduceMemory / MeasureMemory variants (V8 10–11);
// V8.GC.Event.MainThread.Full.Finalize.<Incremental|NonIncremental>.<variant> (V8 12+).
// Not their Foreground / Background twins, which time the same collections again.
bool IsMarkCompactTimer(const char* name) {
  if (EndsWith(name, "Foreground") || EndsWith(name, "Background")) return false;
  size_t n = 0;
  if (StartsWith(name, "V8.GC.Event.MainThread.Full.Finalize.", &n)) return name[n] != '\0';
  if (StartsWith(name, "V8.GCFinalizeMC", &n) || StartsWith(name, "V8.GCCompactor", &n)) {
    return std::strchr(name + n, '.') == nullptr;  // not a phase (V8.GCFinalizeMC.Mark)
  }
  return false;
}

void* CreateHistogram(const char* name, int, int, size_t) {
  const uint32_t id = ClassifyV8Histogram(name);
  return id != 0 ? &g_handles[id] : nullptr;
}

void AddHistogramSample(void* histogram, int sample) {
  if (histogram == nullptr || !g_key_ok) return;
  Listeners* l = static_cast<Listeners*>(pthread_getspecific(g_key));
  if (l == nullptr || l->count == 0) {
    g_unattributed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint32_t id = static_cast<const V8HistHandle*>(histogram)->id;
  for (int i = 0; i < l->count; i++) l->monitors[i]->OnV8Sample(id, sample);
}

}  // namespace

uint32_t ClassifyV8Histogram(const char* name) {
  // Cheap rejection first: V8 asks again on every use of a histogram we decline (compile
  // timers, thousands of times), and ours all start with "V8.GC" or "V8.Memory".
  if (name == nullptr || name[0] != 'V' || name[1] != '8' || name[2] != '.' ||
      (name[3] != 'G' && name[3] != 'M')) {
    return 0;
  }
  for (const Known& k : kKnown) {
    if (std::strcmp(name, k.name) == 0) return k.id;
  }
  return IsMarkCompactTimer(name) ? static_cast<uint32_t>(kV8HistMcTotal) : 0u;
}

bool AddV8HistogramListener(v8::Isolate* isolate, Monitor* m) {
  pthread_once(&g_key_once, MakeKey);
  if (!g_key_ok) return false;
  Listeners* l = static_cast<Listeners*>(pthread_getspecific(g_key));
  if (l == nullptr) {
    l = new (std::nothrow) Listeners();
    if (l == nullptr || pthread_setspecific(g_key, l) != 0) {
      delete l;
      return false;
    }
  }
  for (int i = 0; i < l->count; i++) {
    if (l->monitors[i] == m) return true;
  }
  if (l->count == kMaxListeners) return false;
  l->monitors[l->count++] = m;
  if (l->count == 1) {
    isolate->SetCreateHistogramFunction(CreateHistogram);
    isolate->SetAddHistogramSampleFunction(AddHistogramSample);
  }
  return true;
}

void RemoveV8HistogramListener(v8::Isolate* isolate, Monitor* m) {
  if (!g_key_ok) return;
  Listeners* l = static_cast<Listeners*>(pthread_getspecific(g_key));
  if (l == nullptr) return;
  for (int i = 0; i < l->count; i++) {
    if (l->monitors[i] != m) continue;
    l->monitors[i] = l->monitors[--l->count];
    l->monitors[l->count] = nullptr;
    if (l->count == 0) {
      // Back to V8's default. V8 drops the handles it holds (and would only ever hold
      // pointers to the static descriptors above).
      isolate->SetAddHistogramSampleFunction(nullptr);
      isolate->SetCreateHistogramFunction(nullptr);
      pthread_setspecific(g_key, nullptr);
      delete l;
    }
    return;
  }
}

uint64_t V8HistogramUnattributedSamples() { return g_unattributed.load(std::memory_order_relaxed); }

void Monitor::OnV8Sample(uint32_t id, int sample) {
  const double v = sample > 0 ? static_cast<double>(sample) : 0.0;
  const double ms = v * 1e6;  // most GC histograms are whole milliseconds
  SeqWriteSection section(block_.main_seq());
  double* m = block_.main();
  AddSlot(m + MAIN_V8_HISTOGRAM_SAMPLES, 1);
  switch (id) {
    case kV8HistIncrementalMarkingStep: AddSlot(m + MAIN_GC_IM_STEPS, 1); break;
    case kV8HistIncrementalMarkingSum:
      AddSlot(m + MAIN_GC_IM_CYCLES, 1);
      AddSlot(m + MAIN_GC_IM_NS, ms);
      break;
    case kV8HistMarkCompactReason:
    case kV8HistIncrementalMarkingReason: {
      const uint32_t row = id == kV8HistMarkCompactReason ? 0 : 1;
      uint32_t code = sample > 0 ? static_cast<uint32_t>(sample) : 0;
      if (code >= k::GC_REASON_CODES) code = k::GC_REASON_CODES - 1;
      AddSlot(m + GcReasonsBase(space_count_) + row * k::GC_REASON_CODES + code, 1);
      break;
    }
    case kV8HistMcTotal:
      AddSlot(m + MAIN_GC_MC_COUNT, 1);
      AddSlot(m + MAIN_GC_MC_NS, ms);
      break;
    case kV8HistMcMark:
      // V8 records the seven phases together; the count goes with the first.
      AddSlot(m + MAIN_GC_MC_PHASE_COUNT, 1);
      AddSlot(m + MAIN_GC_MC_MARK_NS, ms);
      break;
    case kV8HistMcSweep: AddSlot(m + MAIN_GC_MC_SWEEP_NS, ms); break;
    case kV8HistMcEvacuate: AddSlot(m + MAIN_GC_MC_EVACUATE_NS, ms); break;
    case kV8HistMcClear: AddSlot(m + MAIN_GC_MC_CLEAR_NS, ms); break;
    case kV8HistMcPrologue: AddSlot(m + MAIN_GC_MC_PROLOGUE_NS, ms); break;
    case kV8HistMcEpilogue: AddSlot(m + MAIN_GC_MC_EPILOGUE_NS, ms); break;
    case kV8HistMcFinish: AddSlot(m + MAIN_GC_MC_FINISH_NS, ms); break;
    case kV8HistScavengeMain:
      AddSlot(m + MAIN_GC_SCAVENGE_PHASE_COUNT, 1);
      AddSlot(m + MAIN_GC_SCAVENGE_MAIN_NS, ms);
      break;
    case kV8HistScavengeRoots: AddSlot(m + MAIN_GC_SCAVENGE_ROOTS_NS, ms); break;
    case kV8HistTimeToSafepoint: {
      const double ns = v * 1e3;  // microseconds
      AddSlot(m + MAIN_GC_SAFEPOINT_COUNT, 1);
      AddSlot(m + MAIN_GC_SAFEPOINT_NS, ns);
      MaxSlot(m + MAIN_GC_SAFEPOINT_MAX_NS, ns);
      block_.safepoint().Record(ns);
      break;
    }
    case kV8HistFragTotal: StoreSlot(m + MAIN_HEAP_FRAG_TOTAL, v / 100); break;
    case kV8HistFragOld: StoreSlot(m + MAIN_HEAP_FRAG_OLD, v / 100); break;
    case kV8HistFragCode: StoreSlot(m + MAIN_HEAP_FRAG_CODE, v / 100); break;
    case kV8HistFragMap: StoreSlot(m + MAIN_HEAP_FRAG_MAP, v / 100); break;
    case kV8HistFragLo: StoreSlot(m + MAIN_HEAP_FRAG_LO, v / 100); break;
    default: break;
  }
}

// V8's GarbageCollectionReason enum (src/heap/heap.h, later src/common/globals.h): codes
// 0–25 are the same from V8 10.2 (Node 18) to 14 (Node 26); later codes were appended.
const char* const* GcReasonNames(uint32_t* count) {
  static const char* const kNames[] = {
    "kUnknown",
    "kAllocationFailure",
    "kAllocationLimit",
    "kContextDisposal",
    "kCountersExtension",
    "kDebugger",
    "kDeserializer",
    "kExternalMemoryPressure",
    "kFinalizeMarkingViaStackGuard",
    "kFinalizeMarkingViaTask",
    "kFullHashtable",
    "kHeapProfiler",
    "kTask",
    "kLastResort",
    "kLowMemoryNotification",
    "kMakeHeapIterable",
    "kMemoryPressure",
    "kMemoryReducer",
    "kRuntime",
    "kSamplingProfiler",
    "kSnapshotCreator",
    "kTesting",
    "kExternalFinalize",
    "kGlobalAllocationLimit",
    "kMeasureMemory",
    "kBackgroundAllocationFailure",
#if V8_MAJOR_VERSION == 11
    "kFinalizeMinorMC",
    "kCppHeapAllocationFailure",
#elif V8_MAJOR_VERSION >= 12
    "kFinalizeConcurrentMinorMS",
    "kCppHeapAllocationFailure",
#endif
#if V8_MAJOR_VERSION >= 13
    "kFrozen",
    "kIdleContextDisposal",
#endif
#if V8_MAJOR_VERSION >= 14
    "kFinalizeMinorMSForMajorGC",
#endif
  };
  *count = sizeof(kNames) / sizeof(kNames[0]);
  return kNames;
}

void Monitor::StartV8Histograms() {
  if (!options_.v8_histograms || v8_listening_) return;
  v8_listening_ = AddV8HistogramListener(isolate_, this);
  SeqWriteSection section(block_.main_seq());
  StoreSlot(block_.main() + MAIN_V8_HISTOGRAMS_ENABLED, v8_listening_ ? 1 : 0);
}

void Monitor::StopV8Histograms() {
  if (!v8_listening_) return;
  RemoveV8HistogramListener(isolate_, this);
  v8_listening_ = false;
}

}  // namespace rs
