#include "heap_stats.h"

#include <v8.h>

namespace rs {

double HeapUsedBytes(v8::Isolate* isolate) {
  v8::HeapStatistics hs;
  isolate->GetHeapStatistics(&hs);
  return static_cast<double>(hs.used_heap_size());
}

void SampleHeap(v8::Isolate* isolate, uint32_t space_count, HeapSample* out) {
  v8::HeapStatistics hs;
  isolate->GetHeapStatistics(&hs);
  out->used = static_cast<double>(hs.used_heap_size());
  out->total = static_cast<double>(hs.total_heap_size());
  out->limit = static_cast<double>(hs.heap_size_limit());
  out->physical = static_cast<double>(hs.total_physical_size());
  out->available = static_cast<double>(hs.total_available_size());
  out->external = static_cast<double>(hs.external_memory());
  out->malloced = static_cast<double>(hs.malloced_memory());
  out->peak_malloced = static_cast<double>(hs.peak_malloced_memory());
  out->executable = static_cast<double>(hs.total_heap_size_executable());
  out->native_contexts = static_cast<double>(hs.number_of_native_contexts());
  out->detached_contexts = static_cast<double>(hs.number_of_detached_contexts());
  out->global_handles = static_cast<double>(hs.total_global_handles_size());
  out->used_global_handles = static_cast<double>(hs.used_global_handles_size());
  out->space_count = space_count;
  for (uint32_t i = 0; i < space_count; i++) {
    v8::HeapSpaceStatistics ss;
    if (!isolate->GetHeapSpaceStatistics(&ss, i)) {
      for (uint32_t f = 0; f < k::SPACE_SLOTS; f++) out->spaces[i][f] = 0;
      continue;
    }
    out->spaces[i][SPACE_SIZE_BYTES] = static_cast<double>(ss.space_size());
    out->spaces[i][SPACE_USED_BYTES] = static_cast<double>(ss.space_used_size());
    out->spaces[i][SPACE_AVAILABLE_BYTES] = static_cast<double>(ss.space_available_size());
    out->spaces[i][SPACE_PHYSICAL_BYTES] = static_cast<double>(ss.physical_space_size());
  }
}

void WriteHeapSample(Block& block, const HeapSample& s, double now_ns) {
  double* m = block.main();
  StoreSlot(m + MAIN_HEAP_USED_BYTES, s.used);
  StoreSlot(m + MAIN_HEAP_TOTAL_BYTES, s.total);
  StoreSlot(m + MAIN_HEAP_LIMIT_BYTES, s.limit);
  StoreSlot(m + MAIN_HEAP_PHYSICAL_BYTES, s.physical);
  StoreSlot(m + MAIN_HEAP_AVAILABLE_BYTES, s.available);
  StoreSlot(m + MAIN_HEAP_EXTERNAL_BYTES, s.external);
  StoreSlot(m + MAIN_HEAP_MALLOCED_BYTES, s.malloced);
  StoreSlot(m + MAIN_HEAP_PEAK_MALLOCED_BYTES, s.peak_malloced);
  StoreSlot(m + MAIN_HEAP_EXECUTABLE_BYTES, s.executable);
  StoreSlot(m + MAIN_HEAP_NATIVE_CONTEXTS, s.native_contexts);
  StoreSlot(m + MAIN_HEAP_DETACHED_CONTEXTS, s.detached_contexts);
  StoreSlot(m + MAIN_HEAP_GLOBAL_HANDLES_BYTES, s.global_handles);
  StoreSlot(m + MAIN_HEAP_USED_GLOBAL_HANDLES_BYTES, s.used_global_handles);
  StoreSlot(m + MAIN_HEAP_UPDATED_NS, now_ns);
  StoreSlot(m + MAIN_HEAP_SPACE_COUNT, s.space_count);
  for (uint32_t i = 0; i < s.space_count; i++) {
    double* slot = block.space(i);
    for (uint32_t f = 0; f < k::SPACE_SLOTS; f++) StoreSlot(slot + f, s.spaces[i][f]);
  }
}

}  // namespace rs
