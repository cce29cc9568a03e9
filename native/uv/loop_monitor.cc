// Event-loop timing on the environment's own loop.
//
// A check handle marks the end of every iteration's poll phase. Between two checks the loop
// was either blocked in poll (idle: libuv's own idle time, the number
// performance.eventLoopUtilization() uses) or running callbacks (busy = elapsed - idle).
// Poll-phase I/O callbacks run between the two marks, so they count as busy, as they
// should. See OnIterationEnd for the per-iteration cost and FindIdleField for how the idle
// time is read without libuv's mutex. A delay timer reproduces
// monitorEventLoopDelay({ resolution }): it records the full time between two of its
// callbacks.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "../core/clock.h"
#include "../monitor.h"

namespace rs {

#if UV_VERSION_HEX >= ((1 << 16) | (45 << 8))
#define RS_HAVE_UV_METRICS_INFO 1
#else
#define RS_HAVE_UV_METRICS_INFO 0
#endif

namespace {

// libuv's cumulative event counts: events its poll returned, and of those the ones that were
// already pending when it polled (`events_waiting`: they arrived while the loop was busy).
// Both only grow; events_waiting is no queue length. `loop_count` (optional): libuv's
// iteration count.
uint64_t LoopEvents(uv_loop_t* loop, uint64_t* pending, uint64_t* loop_count = nullptr) {
#if RS_HAVE_UV_METRICS_INFO
  uv_metrics_t metrics;
  if (uv_metrics_info(loop, &metrics) == 0) {
    *pending = metrics.events_waiting;
    if (loop_count != nullptr) *loop_count = metrics.loop_count;
    return metrics.events;
  }
#else
  (void)loop;
#endif
  *pending = 0;
  if (loop_count != nullptr) *loop_count = 0;
  return 0;
}

// The totals timer's period: the watchdog's heartbeat. The watchdog sees the loop move when
// the timer runs (or the loop waits for events), so an iteration busy for the threshold
// minus a period can look like a stall: a tenth of the threshold keeps that within 10%.
uint32_t TotalsPeriodMs(uint64_t stall_threshold_ns) {
  constexpr uint32_t kMaxPeriodMs = 10;
  if (stall_threshold_ns == 0) return kMaxPeriodMs;
  const uint64_t tenth_ms = stall_threshold_ns / 10000000u;
  return tenth_ms < 1              ? 1
         : tenth_ms > kMaxPeriodMs ? kMaxPeriodMs
                                   : static_cast<uint32_t>(tenth_ms);
}

}  // namespace

// loopTiming 'totals' needs libuv's loop count: uv_metrics_info(), libuv 1.45+, at build
// time and in the running process (uv_version(), not the headers).
bool Monitor::LoopCountAvailable() {
#if RS_HAVE_UV_METRICS_INFO
  const unsigned version = uv_version();
  return (version >> 16) > 1 || ((version >> 16) == 1 && ((version >> 8) & 0xff) >= 45);
#else
  return false;
#endif
}

void Monitor::StartLoop(uint64_t now) {
  // Node enables idle-time accounting on every loop it creates; asking again is harmless
  // and covers embedders that did not.
  uv_loop_configure(loop_, UV_METRICS_IDLE_TIME);
  // (loopTiming 'totals' reads the idle time only by uv_metrics_idle_time(), at its timer:
  // no field, so loopIdleRead says "locked".)
  if (!totals_) FindIdleField();
  run_start_ns_ = iter_start_ns_ = now;
  judge_stalls_ = false;
  run_start_idle_ns_ = iter_start_idle_ns_ = uv_metrics_idle_time(loop_);
  run_start_events_ = LoopEvents(loop_, &run_start_pending_, &run_start_loop_count_);
  iterations_base_ = iterations_;
  busy_base_ns_ = busy_total_ns_;
  idle_base_ns_ = idle_total_ns_;
  events_base_ = events_total_;
  pending_base_ = pending_total_;
  iter_start_ticks_ = last_publish_ticks_ = ReadTsc();
  last_publish_ns_ = 0;  // publish at the first check
  ticks_.Begin(iter_start_ticks_, now);
  prev_delay_ns_ = 0;
  {
    SeqWriteSection section(block_.main_seq());
    StoreSlot(block_.main() + MAIN_LOOP_METRICS_AVAILABLE, RS_HAVE_UV_METRICS_INFO);
    if (totals_) {  // no per-iteration times in this mode: NaN, as on the JS backend
      StoreSlot(block_.main() + MAIN_LOOP_LAST_ITERATION_NS, std::nan(""));
      StoreSlot(block_.main() + MAIN_LOOP_MAX_ITERATION_NS, std::nan(""));
    }
  }
  if (totals_) {
    const uint32_t period_ms = TotalsPeriodMs(stall_threshold_ns_);
    totals_prev_ns_ = now;
    totals_prev_idle_ns_ = run_start_idle_ns_;
    flagged_stall_.store(0, std::memory_order_relaxed);
    flagged_gap_max_ns_ = 0;
    uv_timer_start(&totals_timer_, TotalsTimerCb, period_ms, period_ms);
  } else {
    VerifyIdleField(run_start_idle_ns_);
    UpdateFastPath();
    uv_check_start(&check_, CheckCb);
  }
  uv_timer_start(&delay_timer_, DelayTimerCb, options_.loop_delay_resolution_ms,
                 options_.loop_delay_resolution_ms);
}

void Monitor::StopLoop() {
  // Account for the time up to now, so a stop loses nothing.
  const uint64_t now = MonotonicNs();
  AccountLoop(now, true);
  if (totals_ && flagged_stall_.load(std::memory_order_acquire) != 0) {
    // A stall still flagged at stop: its iteration is running now (a stop from inside it)
    // or ended since the last tick. Recorded up to now.
    const uint64_t busy_gap = TakeTotalsGap(now, uv_metrics_idle_time(loop_));
    if (busy_gap > flagged_gap_max_ns_) flagged_gap_max_ns_ = busy_gap;
    EndFlaggedStall(now);
  }
  uv_check_stop(&check_);
  uv_timer_stop(&totals_timer_);
  uv_timer_stop(&delay_timer_);
}

#if RS_HOOK_TIMING
// A measuring build for bench/hook-cycles.mjs only (node-gyp with CXXFLAGS=-DRS_HOOK_TIMING=1;
// never in a shipped binary): every check callback's own duration in TSC cycles, lfence
// fenced, into a static histogram printed to stderr at exit when RS_HOOK_REPORT is set.
// RS_HOOK_TIMING=2 times an empty hook (the fences and the call: the measurement's floor),
// 3 a hook that only reads the time-stamp counter.
}  // namespace rs
#include <x86intrin.h>

#include <cstdio>
namespace {
uint64_t g_hook_cycles[4096];
uint64_t g_all_sum = 0, g_all_n = 0;
uint64_t g_calls = 0, g_first_tsc = 0, g_last_tsc = 0, g_first_ns = 0, g_last_ns = 0;
struct HookReport {
  ~HookReport() {
    uint64_t n = 0, sum = 0, kept = 0;
    for (int i = 0; i < 4096; i++) n += g_hook_cycles[i];
    if (n == 0 || std::getenv("RS_HOOK_REPORT") == nullptr) return;
    // The mean of the cycles below 1000 (interrupts and preemption left out): the counter
    // may tick in steps (21 cycles on a Firecracker guest), which a mean averages out.
    for (int i = 0; i < 1000; i++) sum += i * g_hook_cycles[i], kept += g_hook_cycles[i];
    const double mhz = g_last_ns > g_first_ns
                           ? 1e3 * static_cast<double>(g_last_tsc - g_first_tsc) /
                                 static_cast<double>(g_last_ns - g_first_ns)
                           : 0;
    std::fprintf(stderr, "RS_HOOK_CYCLES n=%llu mean=%.2f tsc_mhz=%.1f all=%.2f\n",
                 static_cast<unsigned long long>(n), static_cast<double>(sum) / kept, mhz,
                 static_cast<double>(g_all_sum) / static_cast<double>(g_all_n));
  }
} g_hook_report;
}  // namespace
namespace rs {
void Monitor::CheckCb(uv_check_t* handle) {
  _mm_lfence();
  const uint64_t t0 = __rdtsc();
  _mm_lfence();
#if RS_HOOK_TIMING == 3
  static_cast<Monitor*>(handle->data)->iter_start_ticks_ = ReadTsc();
#elif RS_HOOK_TIMING != 2
  static_cast<Monitor*>(handle->data)->OnIterationEnd();
#endif
  _mm_lfence();
  const uint64_t d = __rdtsc() - t0;
  g_hook_cycles[d < 4095 ? d : 4095]++;
  if (d < 100000) g_all_sum += d, g_all_n++;
  if (g_first_tsc == 0) g_first_tsc = t0, g_first_ns = MonotonicNs();
  if ((++g_calls & 1023) == 0) g_last_tsc = __rdtsc(), g_last_ns = MonotonicNs();
}
#elif RS_HOOK_FLOOR
// Floor builds for whole-turn comparisons (bench only, never shipped): 1 an empty check
// callback (libuv's dispatch alone), 2 one that only reads the time-stamp counter.
void Monitor::CheckCb(uv_check_t* handle) {
#if RS_HOOK_FLOOR == 2
  static_cast<Monitor*>(handle->data)->iter_start_ticks_ = ReadTsc();
#else
  (void)handle;
#endif
}
#else
void Monitor::CheckCb(uv_check_t* handle) { static_cast<Monitor*>(handle->data)->OnIterationEnd(); }
#endif

namespace {
// Mirrors of the start of libuv's private uv__loop_internal_fields_t (src/uv-common.h), which
// uv_loop_t.internal_fields points to (public since 1.39), as far as the idle time. Two
// layouts cover every libuv from 1.39 to 1.52 (Node 18 ships 1.44, Node 20 1.46, Node 22
// 1.51, Node 24 and 26 1.52): 1.45 put uv_metrics_t at the head of the metrics struct.
struct UvMetricsMirror {  // uv_metrics_t
  uint64_t loop_count;
  uint64_t events;
  uint64_t events_waiting;
  uint64_t* reserved[13];
};
struct LoopFieldsFrom145 {
  unsigned int flags;
  struct {
    UvMetricsMirror metrics;
    uint64_t provider_entry_time;
    uint64_t provider_idle_time;
  } loop_metrics;
};
struct LoopFieldsFrom139 {
  unsigned int flags;
  struct {
    uint64_t provider_entry_time;
    uint64_t provider_idle_time;
  } loop_metrics;
};
// The newest libuv minor version whose layout was checked (extend after reading its
// src/uv-common.h; test/loop.test.js fails on a supported Node whose libuv is newer).
constexpr unsigned kNewestCheckedUvMinor = 52;
// uv_loop_configure(loop, UV_METRICS_IDLE_TIME) ORs the option's value into the private
// flags (uv_loop_configure in src/unix/loop.c and src/win/core.c, 1.39 to 1.52).
constexpr unsigned kMetricsIdleTimeFlag = UV_METRICS_IDLE_TIME;
}  // namespace

// libuv's uv_metrics_idle_time() takes a mutex because other threads may call it; the only
// writer of the idle time is the loop's own thread (uv__metrics_update_idle_time, inside
// uv_run, which says so beside it), and the check callback runs on that thread after uv_run's
// last update of the iteration, with no poll in progress (provider_entry_time is 0, so the
// function adds nothing to the field). A plain load of the field there is what the function
// returns, without the mutex: ~1 ns instead of ~25-70 ns.
//
// The field is private, so it is found by libuv's runtime version (uv_version(), not the
// headers this addon was built with) among the layouts above, and trusted only once it
// agrees with uv_metrics_idle_time() on a value that cannot be a coincidence: a non-zero
// idle time, or (1.45 layout) while the loop count beside it agrees with uv_metrics_info().
// Every publication (at least every millisecond of a running loop) compares them again;
// one disagreement and the hook uses uv_metrics_idle_time() for good. Until then, and for
// any other libuv, iterations of kIdleReadMinNs or more call it (see OnIterationEnd).
// RUNTIME_SAMPLER_LOOP_IDLE=locked: never read the field.
void Monitor::FindIdleField() {
  idle_field_ = nullptr;
  idle_loop_count_ = nullptr;
  idle_direct_ = false;
  const char* mode = std::getenv("RUNTIME_SAMPLER_LOOP_IDLE");
  if (mode != nullptr && std::strcmp(mode, "locked") == 0) return;
  // For the tests only: a wrong guess (the entry time beside the idle time, 0 outside poll),
  // which the first comparison with a non-zero idle time must throw out.
  const bool wrong_field = mode != nullptr && std::strcmp(mode, "test-wrong-field") == 0;
  const unsigned version = uv_version();
  const unsigned major = version >> 16, minor = (version >> 8) & 0xff;
  void* fields = loop_->internal_fields;
  if (major != 1 || minor < 39 || minor > kNewestCheckedUvMinor || fields == nullptr) return;
  if (minor >= 45) {
    const auto* f = static_cast<const LoopFieldsFrom145*>(fields);
    if ((f->flags & kMetricsIdleTimeFlag) == 0) return;
    idle_field_ =
        wrong_field ? &f->loop_metrics.provider_entry_time : &f->loop_metrics.provider_idle_time;
    if (!wrong_field) idle_loop_count_ = &f->loop_metrics.metrics.loop_count;
  } else {
    const auto* f = static_cast<const LoopFieldsFrom139*>(fields);
    if ((f->flags & kMetricsIdleTimeFlag) == 0) return;
    idle_field_ =
        wrong_field ? &f->loop_metrics.provider_entry_time : &f->loop_metrics.provider_idle_time;
  }
}

// On the loop thread, outside poll, with `official` just returned by uv_metrics_idle_time.
void Monitor::VerifyIdleField(uint64_t official) {
  const bool was_direct = idle_direct_;
  CheckIdleField(official);
  if (idle_direct_ != was_direct) UpdateFastPath();
}

void Monitor::CheckIdleField(uint64_t official) {
  if (idle_field_ == nullptr) return;
  if (*idle_field_ != official) {
    idle_field_ = nullptr;
    idle_loop_count_ = nullptr;
    if (idle_direct_) iter_start_idle_ns_ = official;
    idle_direct_ = false;
    return;
  }
  if (idle_direct_) return;
  bool confirmed = official != 0;
#if RS_HAVE_UV_METRICS_INFO
  if (!confirmed && idle_loop_count_ != nullptr) {
    uv_metrics_t metrics;
    confirmed = uv_metrics_info(loop_, &metrics) == 0 && metrics.loop_count != 0 &&
                metrics.loop_count == *idle_loop_count_;
  }
#endif
  if (confirmed) {
    idle_direct_ = true;
    iter_start_idle_ns_ = official;  // per-iteration reads go on from here
  }
}

namespace {
// Loop counters are published at least this often, and after any iteration this long.
constexpr uint64_t kPublishIntervalNs = 1000000;
// Iterations shorter than this do not read libuv's idle time (see OnIterationEnd).
constexpr uint64_t kIdleReadMinNs = 5000;
// The buffered iterations are shorter than kPublishIntervalNs: they fit the buffer's uint32.
static_assert(kPublishIntervalNs <= UINT32_MAX, "buffered iterations must fit in 32 bits");
}  // namespace

// The hot path, once per loop iteration (check to check). Its busy time is the elapsed
// time minus libuv's idle time (time blocked in poll), so it includes the poll phase's I/O
// callbacks.
//
// The common iteration takes the fast path: once the time-stamp counter is calibrated, an
// iteration shorter than the publish interval and the stall threshold, with no idle time
// (the poll did not block), that is no new maximum and falls before the next publication.
// It costs one counter read, a load of libuv's idle time, integer arithmetic (ticks to ns
// in fixed point) and one store into the iteration buffer, all on the check handle's page
// (monitor.h): ~15 ns of which ~14 are the counter read (bench/hook-cycles.mjs). The
// buffer goes into the histogram 128 at a time and at every publication (FlushIterations).
// Everything else (IterationEndSlow) converts in floating point, reads the idle time,
// judges stalls and publishes. The shared counters (busy, idle, iterations, last/max
// iteration) are published under the seqlock at most every millisecond, and at once after
// an iteration of a millisecond or more or a new maximum, so a reader is never more than
// 1 ms behind and always sees a long iteration at once.
//
// libuv's idle time is read from its field (FindIdleField): ~1 ns, so every iteration's
// busy/idle split is exact. Where the field is not (yet) trusted, uv_metrics_idle_time()
// and its mutex cost more than everything else here together, so it is called only after
// iterations of kIdleReadMinNs or more: a shorter iteration cannot have been idle for longer
// than itself, so it is counted as busy (its histogram value at most 5 µs too high); the
// idle time it did have stays in libuv's cumulative count and is read with the next longer
// iteration, which is charged at most its own elapsed time as idle. Either way the
// published busy and idle totals come from libuv's cumulative idle time and the clock at
// publication (PublishLoop), so they are exact whatever the per-iteration split.
void Monitor::OnIterationEnd() {
  if (fast_limit_ticks_ != 0) {
    const uint64_t t = ReadTsc();
    const uint64_t dt = t - iter_start_ticks_;  // a counter gone backwards: huge, so slow
    if (dt < fast_limit_ticks_ && t - last_publish_ticks_ < publish_every_ticks_ &&
        (fast_idle_ == nullptr || *fast_idle_ == iter_start_idle_ns_)) {
      // dt < fast_limit_ticks_ ≤ UINT64_MAX / ns_per_tick_q32_ (UpdateFastPath): no overflow.
      const uint64_t busy = (dt * ns_per_tick_q32_) >> 32;
      if (busy <= max_iteration_ns_) {
        iter_start_ticks_ = t;
        iterations_++;
        live_iterations_.store(iterations_, std::memory_order_relaxed);  // for the watchdog
        last_iteration_ns_ = busy;
        judge_stalls_ = true;
        iter_batch_[iter_batch_n_++] = static_cast<uint32_t>(busy);
        if (iter_batch_n_ == kIterationBatch) FlushIterations();
        return;
      }
    }
    IterationEndSlow(t);
    return;
  }
  IterationEndSlow(0);
}

void Monitor::IterationEndSlow(uint64_t t) {
  uint64_t it_elapsed;
  uint64_t now = 0;
  bool publish;
  if (ticks_.ready()) {
    if (fast_limit_ticks_ == 0) t = ReadTsc();
    // A counter that went backwards (it should not: the next publish then turns it off)
    // gives an empty iteration, never a wrapped-around one.
    const int64_t ticks = static_cast<int64_t>(t - iter_start_ticks_);
    it_elapsed =
        ticks > 0 ? static_cast<uint64_t>(static_cast<double>(ticks) * ticks_.ns_per_tick()) : 0;
    iter_start_ticks_ = t;
    publish = t - last_publish_ticks_ >= publish_every_ticks_;
  } else {
    now = MonotonicNs();
    it_elapsed = now - iter_start_ns_;
    iter_start_ns_ = now;
    if (ticks_.enabled()) iter_start_ticks_ = ReadTsc();
    publish = now - last_publish_ns_ >= kPublishIntervalNs;
  }
  uint64_t it_idle = 0;
  if (idle_direct_ || it_elapsed >= kIdleReadMinNs) {
    const uint64_t idle = idle_direct_ ? *idle_field_ : uv_metrics_idle_time(loop_);
    it_idle = idle > iter_start_idle_ns_ ? idle - iter_start_idle_ns_ : 0;
    if (it_idle > it_elapsed) it_idle = it_elapsed;
    iter_start_idle_ns_ = idle;
  }
  const uint64_t it_busy = it_elapsed - it_idle;
  const uint64_t iteration = iterations_;  // this iteration's index (completed before it)
  iterations_++;
  live_iterations_.store(iterations_, std::memory_order_relaxed);  // for the watchdog
  last_iteration_ns_ = it_busy;
  if (it_busy > max_iteration_ns_) {
    max_iteration_ns_ = it_busy;
    publish = true;
  }
  if (it_busy >= kPublishIntervalNs) publish = true;
  if (it_busy < kPublishIntervalNs) {
    iter_batch_[iter_batch_n_++] = static_cast<uint32_t>(it_busy);
    if (iter_batch_n_ == kIterationBatch) FlushIterations();
  } else {
    // A long iteration publishes (below), so nothing waits: recorded after the buffered ones.
    FlushIterations();
    block_.loop_iteration().Record(SlotValue(it_busy));
  }
  const bool stalled = judge_stalls_ && stall_threshold_ns_ != 0 && it_busy >= stall_threshold_ns_;
  judge_stalls_ = true;
  if (publish || stalled) {
    if (now == 0) now = MonotonicNs();
    if (stalled) RecordStall(now, it_elapsed, it_busy, iteration);
    const uint64_t idle = uv_metrics_idle_time(loop_);
    VerifyIdleField(idle);
    PublishLoop(now, idle);
  }
}

// Refreshes and stops call this mid-iteration so that snapshots taken between checks are
// current; the iteration's own measurement (iter_start_*) is not split by them.
void Monitor::AccountLoop(uint64_t now, bool stopping) {
  const uint64_t idle = uv_metrics_idle_time(loop_);
  PublishLoop(now, idle, stopping);
}

// The fast path (OnIterationEnd) takes iterations shorter than the publish interval, the
// stall threshold and, without the idle-time field, kIdleReadMinNs (longer ones read
// uv_metrics_idle_time()), once the counter is calibrated.
void Monitor::UpdateFastPath() {
  fast_limit_ticks_ = 0;
  fast_idle_ = idle_direct_ ? idle_field_ : nullptr;
  if (!ticks_.ready()) return;
  const double ns_per_tick = ticks_.ns_per_tick();
  // Counters from ~1 MHz to beyond any clock rate: 32.32 fixed point keeps 2^-32 ns a tick.
  if (!(ns_per_tick > 0) || ns_per_tick >= 1000) return;
  ns_per_tick_q32_ = static_cast<uint64_t>(ns_per_tick * 4294967296.0 + 0.5);
  uint64_t limit_ns = idle_direct_ ? kPublishIntervalNs : kIdleReadMinNs;
  if (stall_threshold_ns_ != 0 && stall_threshold_ns_ < limit_ns) limit_ns = stall_threshold_ns_;
  uint64_t limit = ticks_.TicksFor(limit_ns);
  if (limit > UINT64_MAX / ns_per_tick_q32_) limit = UINT64_MAX / ns_per_tick_q32_;
  fast_limit_ticks_ = limit;
}

void Monitor::FlushIterations() {
  static_assert(kIterationBatch <= BlockHistogram::kMaxBatch, "one RecordBatch a flush");
  block_.loop_iteration().RecordBatch(iter_batch_, iter_batch_n_);
  iter_batch_n_ = 0;
}

void Monitor::PublishLoop(uint64_t now, uint64_t idle, bool count_totals) {
  FlushIterations();
  if (ticks_.enabled()) {
    const uint64_t t = ReadTsc();
    const bool was_ready = ticks_.ready();
    ticks_.Update(t, now);
    if (ticks_.ready()) {
      publish_every_ticks_ = ticks_.TicksFor(kPublishIntervalNs);
      last_publish_ticks_ = t;
    } else if (was_ready) {
      iter_start_ns_ = now;  // the counter misbehaved: back to the clock from here
    }
    UpdateFastPath();
  }
  last_publish_ns_ = now;
  const uint64_t run_elapsed = now > run_start_ns_ ? now - run_start_ns_ : 0;
  const uint64_t run_idle = idle > run_start_idle_ns_ ? idle - run_start_idle_ns_ : 0;
  const uint64_t run_busy = run_elapsed > run_idle ? run_elapsed - run_idle : 0;
  // Totals only grow: a reader never sees busy or idle time go backwards.
  if (idle_base_ns_ + run_idle > idle_total_ns_) idle_total_ns_ = idle_base_ns_ + run_idle;
  if (busy_base_ns_ + run_busy > busy_total_ns_) busy_total_ns_ = busy_base_ns_ + run_busy;
  uint64_t pending, loop_count;
  const uint64_t events = LoopEvents(loop_, &pending, &loop_count);
  if (totals_ && count_totals && loop_count >= run_start_loop_count_) {
    iterations_ = iterations_base_ + (loop_count - run_start_loop_count_);
  }
  if (events >= run_start_events_) events_total_ = events_base_ + (events - run_start_events_);
  if (pending >= run_start_pending_)
    pending_total_ = pending_base_ + (pending - run_start_pending_);

  SeqWriteSection section(block_.main_seq());
  double* m = block_.main();
  StoreSlot(m + MAIN_LOOP_IDLE_NS, SlotValue(idle_total_ns_));
  StoreSlot(m + MAIN_LOOP_BUSY_NS, SlotValue(busy_total_ns_));
  StoreSlot(m + MAIN_LOOP_EVENTS, SlotValue(events_total_));
  StoreSlot(m + MAIN_LOOP_EVENTS_PENDING_AT_POLL, SlotValue(pending_total_));
  StoreSlot(m + MAIN_LOOP_ITERATIONS, SlotValue(iterations_));
  if (!totals_) {
    StoreSlot(m + MAIN_LOOP_LAST_ITERATION_NS, SlotValue(last_iteration_ns_));
    StoreSlot(m + MAIN_LOOP_MAX_ITERATION_NS, SlotValue(max_iteration_ns_));
  }
  StoreSlot(m + MAIN_TIME_NS, SlotValue(now));
}

// loopTiming 'totals': no check handle, so nothing runs per iteration. Every
// TotalsPeriodMs() (10 ms, or a tenth of the stall threshold) this timer publishes the
// loop counters: busy and idle totals from the clock and uv_metrics_idle_time(), exact as
// the hook's; iterations and events from uv_metrics_info(). There is no per-iteration
// time: no iteration histogram, last or max iteration (NaN). The iteration count is taken
// here (and at a stop) only, not at a refresh: it is the watchdog's heartbeat
// (live_iterations_), and a stall stays in progress for readers while the published count
// is not past the watchdog's (snapshot.ts), so a read() inside a stalled iteration must not
// move it. A stall the watchdog flagged is recorded here once the loop has moved past it
// (EndFlaggedStall).
void Monitor::TotalsTimerCb(uv_timer_t* handle) {
  static_cast<Monitor*>(handle->data)->OnTotalsTimer();
}

void Monitor::OnTotalsTimer() {
  const uint64_t now = MonotonicNs();
  const uint64_t idle = uv_metrics_idle_time(loop_);
  const uint64_t busy_gap = TakeTotalsGap(now, idle);
  PublishLoop(now, idle, true);
  const uint64_t flagged = flagged_stall_.load(std::memory_order_acquire);
  if (flagged != 0) {
    if (busy_gap > flagged_gap_max_ns_) flagged_gap_max_ns_ = busy_gap;
    // The stalled iteration has ended once libuv has counted another (its poll ran).
    if (iterations_ != flagged - 1) EndFlaggedStall(now);
  }
  live_iterations_.store(iterations_, std::memory_order_relaxed);
}

// Busy time since the previous totals tick (elapsed minus libuv's idle time), which becomes
// `now` and `idle`.
uint64_t Monitor::TakeTotalsGap(uint64_t now, uint64_t idle) {
  const uint64_t idle_gap = idle > totals_prev_idle_ns_ ? idle - totals_prev_idle_ns_ : 0;
  const uint64_t gap = now > totals_prev_ns_ ? now - totals_prev_ns_ : 0;
  totals_prev_ns_ = now;
  totals_prev_idle_ns_ = idle;
  return gap > idle_gap ? gap - idle_gap : 0;
}

// The stall's busy time is not measured per iteration in this mode: it is the busiest
// tick-to-tick gap since the watchdog flagged it. The stalled iteration's busy time lies
// between two totals ticks (a tick cannot run inside it), so that gap holds it, and at most
// a period's worth of other work besides: an upper bound, over by at most the period. (The
// watchdog's own "since" is no bound: it is when the watchdog noticed the last progress, up
// to a watchdog interval after it, possibly inside the stall.)
void Monitor::EndFlaggedStall(uint64_t now) {
  const uint64_t flagged = flagged_stall_.exchange(0, std::memory_order_acq_rel);
  if (flagged == 0) return;
  const uint64_t busy = flagged_gap_max_ns_;
  flagged_gap_max_ns_ = 0;
  RecordStall(now, busy, busy, flagged - 1);
}

void Monitor::DelayTimerCb(uv_timer_t* handle) {
  static_cast<Monitor*>(handle->data)->OnDelayTimer();
}

void Monitor::OnDelayTimer() {
  const uint64_t now = MonotonicNs();
  if (prev_delay_ns_ != 0 && now > prev_delay_ns_) {
    block_.loop_delay().Record(static_cast<double>(now - prev_delay_ns_));
  }
  prev_delay_ns_ = now;
}

}  // namespace rs
