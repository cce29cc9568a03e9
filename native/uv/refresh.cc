// The refresh timer: values that cost a system call or a walk are gathered here, at the
// configured interval (and on demand), never on the read path: heap statistics, RSS, CPU
// time, open fds, and the cgroup's files (a pread each through descriptors kept open).
#include <cstdio>

#if defined(__linux__)
#include <dirent.h>
#endif

#include "../core/clock.h"
#include "../monitor.h"

namespace rs {

namespace {

// Open file descriptors, or -1 where the platform gives no cheap way to count them.
double OpenFds() {
#if defined(__linux__)
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  double count = 0;
  while (readdir(dir) != nullptr) count++;
  closedir(dir);
  // ".", ".." and the descriptor opendir itself holds.
  return count - 3;
#else
  return -1;
#endif
}

}  // namespace

void Monitor::RefreshTimerCb(uv_timer_t* handle) { static_cast<Monitor*>(handle->data)->Refresh(); }

void Monitor::Refresh() {
  if (closing_) return;
  const uint64_t begin = MonotonicNs();
  HeapSample& hs = heap_sample_;
  SampleHeap(isolate_, space_count_, &hs);
  size_t rss = 0;
  const bool have_rss = uv_resident_set_memory(&rss) == 0;
  uv_rusage_t ru;
  const bool have_ru = uv_getrusage(&ru) == 0;
  const double fds = OpenFds();
  const double handles = loop_->active_handles;
  const double requests = loop_->active_reqs.count;
  cgroup::Values cg;
  cgroup_.Read(&cg);
  const uint64_t end = MonotonicNs();
  if (started_) AccountLoop(end);

  SeqWriteSection section(block_.main_seq());
  double* m = block_.main();
  if (started_) ObserveHeapUsed(hs.used);
  WriteHeapSample(block_, hs, static_cast<double>(end));
  if (have_rss) StoreSlot(m + MAIN_PROC_RSS_BYTES, static_cast<double>(rss));
  if (have_ru) {
    StoreSlot(m + MAIN_PROC_CPU_USER_US,
              static_cast<double>(ru.ru_utime.tv_sec) * 1e6 + ru.ru_utime.tv_usec);
    StoreSlot(m + MAIN_PROC_CPU_SYSTEM_US,
              static_cast<double>(ru.ru_stime.tv_sec) * 1e6 + ru.ru_stime.tv_usec);
  }
  StoreSlot(m + MAIN_PROC_OPEN_FDS, fds);
  StoreSlot(m + MAIN_PROC_ACTIVE_HANDLES, handles);
  StoreSlot(m + MAIN_PROC_ACTIVE_REQUESTS, requests);
  StoreSlot(m + MAIN_CG_VERSION, cg.version);
  StoreSlot(m + MAIN_CG_MEMORY_LIMIT_BYTES, cg.memory_limit_bytes);
  StoreSlot(m + MAIN_CG_MEMORY_HIGH_BYTES, cg.memory_high_bytes);
  StoreSlot(m + MAIN_CG_MEMORY_USAGE_BYTES, cg.memory_usage_bytes);
  StoreSlot(m + MAIN_CG_MEMORY_WORKING_SET_BYTES, cg.memory_working_set_bytes);
  StoreSlot(m + MAIN_CG_MEMORY_HIGH_EVENTS, cg.memory_high_events);
  StoreSlot(m + MAIN_CG_MEMORY_MAX_EVENTS, cg.memory_max_events);
  StoreSlot(m + MAIN_CG_OOM_EVENTS, cg.oom_events);
  StoreSlot(m + MAIN_CG_OOM_KILL_EVENTS, cg.oom_kill_events);
  StoreSlot(m + MAIN_CG_CPU_QUOTA_CORES, cg.cpu_quota_cores);
  StoreSlot(m + MAIN_CG_CPU_PERIODS, cg.cpu_periods);
  StoreSlot(m + MAIN_CG_CPU_THROTTLED_PERIODS, cg.cpu_throttled_periods);
  StoreSlot(m + MAIN_CG_CPU_THROTTLED_NS, cg.cpu_throttled_ns);
  StoreSlot(m + MAIN_CG_MEMORY_PRESSURE_SOME_NS, cg.memory_pressure_some_ns);
  StoreSlot(m + MAIN_CG_MEMORY_PRESSURE_FULL_NS, cg.memory_pressure_full_ns);
  StoreSlot(m + MAIN_CG_CPU_PRESSURE_SOME_NS, cg.cpu_pressure_some_ns);
  StoreSlot(m + MAIN_CG_CPU_PRESSURE_FULL_NS, cg.cpu_pressure_full_ns);
  AddSlot(m + MAIN_SAMPLER_REFRESHES, 1);
  StoreSlot(m + MAIN_SAMPLER_LAST_REFRESH_NS, static_cast<double>(end));
  StoreSlot(m + MAIN_SAMPLER_REFRESH_COST_NS, static_cast<double>(end - begin));
}

}  // namespace rs
