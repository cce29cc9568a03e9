// Heap statistics gathered into a fixed-size POD, then written into the block.
#ifndef RUNTIME_SAMPLER_V8_HEAP_STATS_H_
#define RUNTIME_SAMPLER_V8_HEAP_STATS_H_

#include <cstdint>

#include "../core/block.h"

namespace v8 {
class Isolate;
}

namespace rs {

struct HeapSample {
  double used, total, limit, physical, available, external, malloced, peak_malloced, executable,
      native_contexts, detached_contexts, global_handles, used_global_handles;
  uint32_t space_count;
  double spaces[k::MAX_SPACES][k::SPACE_SLOTS];
};

// Only the total used size (cheaper than a full sample: no per-space walk).
double HeapUsedBytes(v8::Isolate* isolate);

// Calls only V8 statistics getters: no JavaScript heap allocation, no locks of ours,
// safe inside GC prologue/epilogue callbacks (Node's own GC profiler does the same).
void SampleHeap(v8::Isolate* isolate, uint32_t space_count, HeapSample* out);

// Writes a sample into the main region. Call inside the main write section.
void WriteHeapSample(Block& block, const HeapSample& sample, double now_ns);

}  // namespace rs

#endif  // RUNTIME_SAMPLER_V8_HEAP_STATS_H_
