// One sampler's native side: the GC hooks, the loop handles and the refresh timer that
// write into its shared block. Created and used on the environment's JS thread only.
//
// Lifetime: the owning JS object (addon.cc) calls Close(), or the environment's async
// cleanup hook does at teardown; both remove the GC hooks and stop the handles at once,
// then close the uv handles and cancel a threadpool probe still queued. The object deletes
// itself when the last close callback has run and no probe is in flight (a pool thread may
// be running one, which cannot be taken back: its completion is waited for), and only then
// tells Node the cleanup is finished, so a worker's loop is never closed with our handles
// or our work request still open.
#ifndef RUNTIME_SAMPLER_MONITOR_H_
#define RUNTIME_SAMPLER_MONITOR_H_

#include <node_api.h>
#include <uv.h>

#include <atomic>
#include <cstdint>

#include "core/block.h"
#include "core/cgroup.h"
#include "core/clock.h"
#include "core/stall_profile.h"
#include "core/watchdog.h"
#include "v8/heap_stats.h"

namespace v8 {
class Isolate;
}

namespace rs {

struct MonitorOptions {
  uint32_t refresh_interval_ms;
  uint32_t loop_delay_resolution_ms;
  uint32_t watchdog_threshold_ms = 0;  // 0: no watchdog
  uint32_t watchdog_interval_ms = 0;
  bool capture_stack = false;
  uint32_t profile_interval_ms = 0;  // 0: no stall profiles (watchdog/stall.cc)
  bool v8_histograms = false;        // listen to V8's GC histograms (v8/histograms.cc)
  // Whose cgroup the refresh reads: none, the process's own as mounted, or the one under
  // cgroup_root (the cgroupRoot option). Resolved by Create() only: cgroup_root is not
  // kept.
  cgroup::Reader::Mode cgroup_mode = cgroup::Reader::kSystem;
  const char* cgroup_root = nullptr;
  uint32_t threadpool_probe_ms = 0;  // 0: no threadpool probe (uv/threadpool_probe.cc)
  // loopTiming 'totals': no per-iteration hook; loop totals from libuv at a timer
  // (uv/loop_monitor.cc). Needs libuv 1.45+ (uv_metrics_info): 'iteration' below it.
  bool loop_totals = false;
};

class Monitor;

// Live native monitors, process-wide (tests check that worker teardown frees them all).
inline std::atomic<int> g_live_monitors{0};

class Monitor : private WatchdogProbe {
 public:
  // `base` must stay valid until Close() (the caller holds the SharedArrayBuffer).
  static Monitor* Create(napi_env env, v8::Isolate* isolate, uv_loop_t* loop, double* base,
                         const Layout& layout, const MonitorOptions& options, uint32_t space_count,
                         int* uv_error);

  void Start();
  void Stop();
  // Stops everything now; frees itself later. The pointer must not be used afterwards.
  void Close();
  // Refreshes heap and process values now (the refresh timer's work).
  void Refresh();

  bool started() const { return started_; }
  const char* loop_clock() const {
    return ticks_.ready() ? "tsc" : ticks_.enabled() ? "calibrating" : "monotonic";
  }
  // How the loop hook reads libuv's idle time (loop_monitor.cc): "direct" (its field, read
  // on the loop thread without libuv's mutex), "verifying" (the field is known but not yet
  // confirmed against uv_metrics_idle_time) or "locked" (uv_metrics_idle_time only).
  const char* loop_idle_read() const {
    return idle_direct_ ? "direct" : idle_field_ != nullptr ? "verifying" : "locked";
  }
  // How loop time is taken (loop_monitor.cc): "iteration" (the check hook, every
  // iteration timed) or "totals" (no hook: counters from libuv at a timer).
  const char* loop_timing() const { return totals_ ? "totals" : "iteration"; }
  // The owner's pointer to this monitor, cleared when the environment tears it down.
  void SetOwnerSlot(Monitor** slot) { owner_slot_ = slot; }

  // The watchdog's thread failed to start (errno), 0 if it runs or is not wanted.
  int watchdog_error() const { return watchdog_error_; }

  // GC callbacks (v8/gc_hooks.cc).
  void OnGCPrologue(uint32_t type, uint32_t flags);
  void OnGCEpilogue(uint32_t type, uint32_t flags);
  // A sample of one of V8's histograms we keep (v8/histograms.cc), on the JS thread.
  void OnV8Sample(uint32_t id, int sample);

  // The finished stall profile `id` if slot `slot` still holds it, else null (a later
  // stall's took the slot). On the JS thread.
  const StallProfile* FinishedProfile(uint32_t slot, uint64_t id) const;

 private:
  Monitor() { g_live_monitors.fetch_add(1, std::memory_order_relaxed); }
  ~Monitor() {
    delete[] profiles_;
    g_live_monitors.fetch_sub(1, std::memory_order_relaxed);
  }

  void InstallGCHooks();
  void RemoveGCHooks();
  void StartV8Histograms();
  void StopV8Histograms();
  // Heap used is observed at GC boundaries and refreshes; rises count as allocation,
  // falls as reclaimed. Call inside the main write section.
  void ObserveHeapUsed(double used);

  // Loop (uv/loop_monitor.cc).
  void StartLoop(uint64_t now);
  void StopLoop();
  // Publishes the loop counters up to `now` (a refresh, a stop: `stopping`).
  void AccountLoop(uint64_t now, bool stopping = false);
  // The end of an iteration (the check handle): counts it, records its busy time, and
  // publishes the loop counters when due (see loop_monitor.cc).
  void OnIterationEnd();
  // Everything but the common short iteration: `t` the counter read at this check (when
  // fast_limit_ticks_ != 0), otherwise 0.
  void IterationEndSlow(uint64_t t);
  // Recomputes the fast path's limits (after calibration, idle-field and stall changes).
  void UpdateFastPath();
  // `count_totals`: loopTiming 'totals' takes libuv's iteration count too (see OnTotalsTimer).
  void PublishLoop(uint64_t now, uint64_t idle, bool count_totals = false);
  // Records the buffered iterations (iter_batch_) into the iteration histogram.
  void FlushIterations();
  void OnDelayTimer();
  static void CheckCb(uv_check_t* handle);
  // loopTiming 'totals' (loop_monitor.cc): the timer that publishes the loop counters and
  // the watchdog's heartbeat, and the end of a stall the watchdog flagged.
  static void TotalsTimerCb(uv_timer_t* handle);
  static bool LoopCountAvailable();
  void OnTotalsTimer();
  uint64_t TakeTotalsGap(uint64_t now, uint64_t idle);
  void EndFlaggedStall(uint64_t now);
  // Finds libuv's idle-time field for this loop's libuv (loop_monitor.cc); VerifyIdleField
  // compares it with uv_metrics_idle_time()'s answer, read on the loop thread in the check.
  void FindIdleField();
  void VerifyIdleField(uint64_t official);
  void CheckIdleField(uint64_t official);
  static void DelayTimerCb(uv_timer_t* handle);

  // Stall watchdog (watchdog/stall.cc). WatchdogProbe, called from the watchdog thread:
  uint64_t Iterations() override;
  uint64_t IdleNs() override;
  bool OnStall(uint64_t iteration, uint64_t since_ns) override;
  void OnStallTick(uint64_t iteration) override;
  // Asks V8 for StackInterrupt for the stalled iteration, unless one is still pending.
  bool RequestStackInterrupt(uint64_t iteration);
  // On the JS thread:
  void StartWatchdog();
  void StopWatchdog();
  static void StackInterrupt(v8::Isolate* isolate, void* data);
  // This thread's monitors by id (watchdog/stall.cc).
  void Register();
  void Unregister();
  void CaptureStack();
  // One stack sample into the current stall's profile.
  void SampleStack();
  // An iteration busy for at least the threshold ended: count it and record it.
  void RecordStall(uint64_t end_ns, uint64_t elapsed_ns, uint64_t busy_ns, uint64_t iteration);

  // Refresh (uv/refresh.cc).
  static void RefreshTimerCb(uv_timer_t* handle);

  // Threadpool probe (uv/threadpool_probe.cc).
  void StartThreadpoolProbe();
  void StopThreadpoolProbe();
  // At close: takes a queued probe back (its completion then comes as cancelled).
  void CancelThreadpoolProbe();
  void SubmitProbe();
  void OnProbeDone(int status);
  static void ProbeTimerCb(uv_timer_t* handle);
  static void ProbeWork(uv_work_t* req);
  static void ProbeAfterWork(uv_work_t* req, int status);

  static void AsyncCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void HandleClosed(uv_handle_t* handle);
  void BeginClose();
  // Finishes once the last handle is closed and no probe is in flight.
  void MaybeFinish();
  void Finish();
  static constexpr int kHandleCount = 5;
  void Handles(uv_handle_t* out[kHandleCount]);

  napi_env env_ = nullptr;
  v8::Isolate* isolate_ = nullptr;
  uv_loop_t* loop_ = nullptr;
  Block block_;
  MonitorOptions options_{};
  uint32_t space_count_ = 0;
  // The cgroup files the refresh re-reads (descriptors held open until Close()).
  cgroup::Reader cgroup_;
  bool started_ = false;
  bool hooks_installed_ = false;
  bool v8_listening_ = false;
  bool closing_ = false;
  int open_handles_ = 0;
  napi_async_cleanup_hook_handle cleanup_handle_ = nullptr;
  Monitor** owner_slot_ = nullptr;

  // GC state. A GC can begin inside another GC's callbacks; each frame's pause excludes
  // the nested GCs' time so that pauses add up to the wall time spent in GC.
  struct GcFrame {
    uint32_t type;
    uint32_t flags;
    uint64_t start_ns;
    uint64_t nested_ns;
    double used_before;
  };
  static constexpr int kMaxGcDepth = 8;
  GcFrame gc_stack_[kMaxGcDepth];
  int gc_depth_ = 0;
  int gc_overflow_depth_ = 0;
  double last_heap_used_ = 0;
  HeapSample heap_sample_{};

  // Loop state. The fast path of OnIterationEnd touches only the check handle and the
  // fields from it to iter_batch_: one 1 KiB-aligned run of < 1 KiB, so one page, which
  // a poll's system call (it may empty the TLB) leaves at one page walk, not several.
  alignas(1024) uv_check_t check_{};
  // Iterations shorter than this many counter ticks, without idle time, take the fast path
  // (0: no fast path: the counter is not calibrated, or there is none).
  uint64_t fast_limit_ticks_ = 0;
  // Nanoseconds per tick in 32.32 fixed point, for the fast path's conversion.
  uint64_t ns_per_tick_q32_ = 0;
  // The idle-time field when it is read directly (idle_direct_), otherwise null.
  const uint64_t* fast_idle_ = nullptr;
  uint64_t iter_start_ticks_ = 0;
  uint64_t last_publish_ticks_ = 0;
  uint64_t publish_every_ticks_ = 0;
  uint64_t iter_start_idle_ns_ = 0;  // libuv's idle time when last read
  uint64_t iterations_ = 0;
  uint64_t last_iteration_ns_ = 0;
  uint64_t max_iteration_ns_ = 0;
  std::atomic<uint64_t> live_iterations_{0};  // iterations_, for the watchdog thread
  // False until the iteration running at StartLoop() has ended: that one began before the
  // sampler (a preload's includes the app's whole synchronous start-up) and is no stall.
  bool judge_stalls_ = false;
  // Iterations under kPublishIntervalNs not yet in the iteration histogram: recorded together
  // when the buffer is full and at every publication (FlushIterations), so the histogram is
  // never further behind than the published counters. Recording one at a time cost ~38 ns
  // an iteration (bench/README.md), most of it on pages the poll's system call left cold.
  static constexpr uint32_t kIterationBatch = 128;
  uint32_t iter_batch_n_ = 0;
  uint32_t iter_batch_[kIterationBatch];
  // (End of the fast path's fields.)
  // libuv's cumulative idle time in its loop's private fields (null: unknown layout, or it
  // disagreed with uv_metrics_idle_time once), and the loop count beside it (1.45+ layout).
  const uint64_t* idle_field_ = nullptr;
  const uint64_t* idle_loop_count_ = nullptr;
  // The field has agreed with uv_metrics_idle_time on a value that could not be a
  // coincidence: the hook reads it every iteration.
  bool idle_direct_ = false;
  uv_timer_t delay_timer_{};
  uv_timer_t refresh_timer_{};
  // Loop accounting is kept here in integers and published as totals, so the per-iteration
  // path only stores (no read-modify-write of the shared block).
  uint64_t run_start_ns_ = 0;       // the current started period began here
  uint64_t run_start_idle_ns_ = 0;  // libuv's idle time then
  uint64_t run_start_events_ = 0;   // libuv's event count then
  uint64_t run_start_pending_ = 0;  // libuv's events_waiting then (cumulative too)
  uint64_t busy_base_ns_ = 0;       // totals of earlier started periods
  uint64_t idle_base_ns_ = 0;
  uint64_t events_base_ = 0;
  uint64_t pending_base_ = 0;
  uint64_t busy_total_ns_ = 0;  // as last published (never decreases)
  uint64_t idle_total_ns_ = 0;
  uint64_t events_total_ = 0;
  uint64_t pending_total_ = 0;
  TickCalibration ticks_;  // the TSC for per-iteration durations, once calibrated
  uint64_t last_publish_ns_ = 0;
  uint64_t iter_start_ns_ = 0;  // the current iteration began at this check
  uint64_t prev_delay_ns_ = 0;

  // loopTiming 'totals' (loop_monitor.cc): no check handle. The totals timer publishes the
  // loop counters every TotalsPeriodMs() and stores the iteration count (libuv's
  // loop_count since start) into live_iterations_: the watchdog's heartbeat.
  bool totals_ = false;  // set by Create(), for the monitor's life
  uv_timer_t totals_timer_{};
  uint64_t run_start_loop_count_ = 0;  // libuv's loop_count when the period began
  uint64_t iterations_base_ = 0;       // iterations of earlier started periods
  uint64_t totals_prev_ns_ = 0;        // the previous totals tick, and libuv's idle time then
  uint64_t totals_prev_idle_ns_ = 0;
  // A stall the watchdog flagged (its heartbeat iteration + 1; 0: none): the watchdog thread
  // sets it, the loop thread takes it (EndFlaggedStall).
  std::atomic<uint64_t> flagged_stall_{0};
  uint64_t flagged_gap_max_ns_ = 0;  // the busiest tick-to-tick gap since the flag

  // Watchdog state.
  Watchdog watchdog_;
  int watchdog_error_ = 0;
  uint64_t stall_threshold_ns_ = 0;  // 0: no watchdog
  std::atomic<bool> interrupt_pending_{false};
  std::atomic<uint64_t> requested_iteration_{0};
  // A stack capture is requested with this id, not a pointer: V8 may run (or, on a
  // torn-down isolate, drop) the interrupt after the monitor is gone, and the JS
  // thread's registry (watchdog/stall.cc) tells whether the monitor still exists.
  uint64_t id_ = 0;
  uint64_t stack_seq_ = 0;                    // stacks captured
  uint64_t captured_iteration_ = UINT64_MAX;  // the iteration the last stack belongs to
  uint32_t captured_index_ = 0;
  // Stall profiles (options_.profile_interval_ms): profile::kSlots preallocated, used in
  // turn; the current stall's is profiling_ (JS thread only).
  StallProfile* profiles_ = nullptr;
  StallProfile* profiling_ = nullptr;
  uint64_t profile_seq_ = 0;  // profiles started
  std::atomic<uint64_t> profile_ticks_missed_{0};
  uint64_t missed_at_profile_start_ = 0;
  uint64_t stall_count_ = 0;
  uint64_t stall_total_ns_ = 0;
  uint64_t stall_max_ns_ = 0;

  // Threadpool probe state. One preallocated request, never two in flight: the timer does
  // not submit while probe_in_flight_. The pool thread writes only probe_started_ns_.
  uv_timer_t probe_timer_{};
  uv_work_t probe_req_{};
  bool probe_in_flight_ = false;
  uint64_t probe_submitted_ns_ = 0;
  std::atomic<uint64_t> probe_started_ns_{0};
  uint64_t probe_count_ = 0;
  uint64_t probe_max_ns_ = 0;
};

}  // namespace rs

#endif  // RUNTIME_SAMPLER_MONITOR_H_
