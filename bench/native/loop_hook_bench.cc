// What the loop hook's per-iteration steps cost on this machine, each alone in a tight loop:
// the tick read, the tick-to-ns multiply, the histogram record, the relaxed store the
// watchdog reads, an uncontended mutex pair (what uv_metrics_idle_time() takes) and an
// indirect call (a handle's dispatch). Each figure is the median of 15 runs of 2M steps,
// minus the empty loop's; a tight loop keeps everything in L1, so these are lower bounds.
//   c++ -O2 -std=c++17 bench/native/loop_hook_bench.cc -o /tmp/loop_hook_bench -lpthread
//   /tmp/loop_hook_bench
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "../../native/core/clock.h"
#include "../../native/core/histogram.h"

using namespace rs;

namespace {

constexpr uint64_t kSteps = 2000000;
constexpr int kRuns = 15;
constexpr uint32_t kScale = 3;

template <typename F>
double NsPerStep(F step) {
  std::vector<double> runs;
  for (int r = 0; r < kRuns; r++) {
    const uint64_t t0 = MonotonicNs();
    for (uint64_t i = 0; i < kSteps; i++) step(i);
    runs.push_back(static_cast<double>(MonotonicNs() - t0) / kSteps);
  }
  std::sort(runs.begin(), runs.end());
  return runs[kRuns / 2];
}

volatile uint64_t g_sink;
std::atomic<uint64_t> g_live{0};
pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
uint64_t g_idle = 0;

__attribute__((noinline)) uint64_t IdleUnderMutex() {
  pthread_mutex_lock(&g_mutex);
  const uint64_t v = g_idle;
  pthread_mutex_unlock(&g_mutex);
  return v;
}

struct Hook {
  uint64_t start = 0;
  double ns_per_tick = 0.4;
  uint64_t iterations = 0;
};
__attribute__((noinline)) void Dispatched(Hook* h) { h->iterations++; }

}  // namespace

int main() {
  std::vector<double> region(HistRegionSlots(kScale) + 8, 0.0);
  BlockHistogram::Init(region.data(), kScale);
  BlockHistogram hist(region.data(), kScale);
  Hook hook;
  void (*volatile dispatch)(Hook*) = Dispatched;

  const double empty = NsPerStep([](uint64_t i) { g_sink = i; });
  auto row = [&](const char* name, double ns) {
    std::printf("%-44s %6.2f ns\n", name, ns - empty);
  };
  std::printf("empty loop                                   %6.2f ns (subtracted below)\n", empty);
  row("ReadTsc", NsPerStep([](uint64_t) { g_sink = ReadTsc(); }));
  row("MonotonicNs", NsPerStep([](uint64_t) { g_sink = MonotonicNs(); }));
  row("ReadTsc + ticks * ns_per_tick", NsPerStep([&](uint64_t) {
        const uint64_t t = ReadTsc();
        g_sink = static_cast<uint64_t>(static_cast<double>(static_cast<int64_t>(t - hook.start)) *
                                       hook.ns_per_tick);
        hook.start = t;
      }));
  row("histogram Record (500 ns .. 8 us)", NsPerStep([&](uint64_t i) {
        hist.Record(static_cast<double>(500 + (i * 2654435761u) % 7500));
      }));
  row("relaxed atomic store",
      NsPerStep([](uint64_t i) { g_live.store(i, std::memory_order_relaxed); }));
  row("mutex lock + unlock (call)", NsPerStep([](uint64_t) { g_sink = IdleUnderMutex(); }));
  row("indirect call", NsPerStep([&](uint64_t) { dispatch(&hook); }));
  return 0;
}
