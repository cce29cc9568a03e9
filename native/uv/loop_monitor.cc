// Event-loop timing on the environment's own loop.
//
// A check handle marks the end of every iteration's poll phase; a prepare handle, the point
// just before it, where it notes whether the poll can block at all (see OnIterationEnd). Between
// two checks the loop was either blocked in poll (idle: libuv's own uv_metrics_idle_time, the
// number performance.eventLoopUtilization() uses) or running callbacks (busy = elapsed - idle).
// Poll-phase I/O callbacks run between the two marks, so they count as busy, as they
// should. See OnIterationEnd for the per-iteration cost. A delay timer reproduces
// monitorEventLoopDelay({ resolution }): it records the full time between two of its
// callbacks.
#include "../core/clock.h"
#include "../monitor.h"

#if !defined(_WIN32)
#include <dlfcn.h>
#endif

namespace rs {

#if UV_VERSION_HEX >= ((1 << 16) | (45 << 8))
#define RS_HAVE_UV_METRICS_INFO 1
#else
#define RS_HAVE_UV_METRICS_INFO 0
#endif

namespace {

// libuv's cumulative event counts: events its poll returned, and of those the ones that were
// already pending when it polled (`events_waiting`: they arrived while the loop was busy).
// Both only grow; events_waiting is no queue length.
uint64_t LoopEvents(uv_loop_t* loop, uint64_t* pending) {
#if RS_HAVE_UV_METRICS_INFO
  uv_metrics_t metrics;
  if (uv_metrics_info(loop, &metrics) == 0) {
    *pending = metrics.events_waiting;
    return metrics.events;
  }
#else
  (void)loop;
#endif
  *pending = 0;
  return 0;
}

}  // namespace

void Monitor::StartLoop(uint64_t now) {
  // Node enables idle-time accounting on every loop it creates; asking again is harmless
  // and covers embedders that did not.
  uv_loop_configure(loop_, UV_METRICS_IDLE_TIME);
  run_start_ns_ = iter_start_ns_ = now;
  judge_stalls_ = false;
  run_start_idle_ns_ = iter_start_idle_ns_ = uv_metrics_idle_time(loop_);
  run_start_events_ = LoopEvents(loop_, &run_start_pending_);
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
  }
  // Judged once per start: prepare handles started after ours run before it, so only those
  // active now can change the loop's state between our prepare callback and the poll.
  poll_skip_safe_ = !ForeignPrepareActive();
  poll_nonblocking_ = false;
  uv_check_start(&check_, CheckCb);
  uv_prepare_start(&prepare_, PrepareCb);
  uv_timer_start(&delay_timer_, DelayTimerCb, options_.loop_delay_resolution_ms,
                 options_.loop_delay_resolution_ms);
}

void Monitor::StopLoop() {
  // Account for the time up to now, so a stop loses nothing.
  AccountLoop(MonotonicNs());
  uv_check_stop(&check_);
  uv_prepare_stop(&prepare_);
  poll_nonblocking_ = false;
  uv_timer_stop(&delay_timer_);
}

void Monitor::CheckCb(uv_check_t* handle) { static_cast<Monitor*>(handle->data)->OnIterationEnd(); }

void Monitor::PrepareCb(uv_prepare_t* handle) {
  static_cast<Monitor*>(handle->data)->OnBeforePoll();
}

namespace {
// Whether a prepare callback lives in Node itself (the image that holds N-API): Node's only
// prepare handle, the CPU profiler's idle notifier (active from start-up in every Node we
// support), calls Isolate::SetIdle(true) and nothing else, which does not touch the loop.
bool InNode(void (*fn)(uv_prepare_t*)) {
#if defined(_WIN32)
  (void)fn;
  return false;
#else
  Dl_info node{}, callback{};
  return fn != nullptr && dladdr(reinterpret_cast<void*>(&napi_create_object), &node) != 0 &&
         dladdr(reinterpret_cast<void*>(fn), &callback) != 0 && node.dli_fbase != nullptr &&
         node.dli_fbase == callback.dli_fbase;
#endif
}
}  // namespace

// Prepare handles run newest first (uv_prepare_start inserts at the head of the queue), so
// the ones that run after ours in an iteration are those already active when ours starts.
// Another sampler's only sets its own flag, Node's only marks the isolate idle; anything
// else might change what the poll's timeout will be. (prepare_cb is in uv_prepare_t's
// public definition, unchanged through libuv 1.x; there is no function that returns it.)
bool Monitor::ForeignPrepareActive() {
  bool found = false;
  uv_walk(
      loop_,
      [](uv_handle_t* handle, void* arg) {
        if (handle->type != UV_PREPARE || !uv_is_active(handle) || IsMonitorPrepare(handle)) return;
#if defined(_WIN32)
        *static_cast<bool*>(arg) = true;
#else
        if (!InNode(reinterpret_cast<uv_prepare_t*>(handle)->prepare_cb))
          *static_cast<bool*>(arg) = true;
#endif
      },
      &found);
  return found;
}

namespace {
// True only when this iteration's poll will not block. uv_run (every libuv from 1.43, the
// oldest Node 18's, to 1.52) computes the poll timeout right after the prepare callbacks,
// from the same state uv_backend_timeout() reads, except that since 1.44 the public
// function also answers 0 while fd-watcher changes wait in loop->watcher_queue (uv_run
// itself can block then): so that queue must be empty too. It is read from uv_loop_t's
// public definition, whose layout libuv keeps for all of 1.x (the queue's first word points
// to itself when empty, in the old void*[2] and the 1.46+ struct uv__queue alike); there is
// no function that tells. Windows' loop has no such queue: it always reads the idle time.
inline bool PollCannotBlock(uv_loop_t* loop) {
#if defined(_WIN32)
  (void)loop;
  return false;
#else
  const void* const* queue = reinterpret_cast<const void* const*>(&loop->watcher_queue);
  return queue[0] == static_cast<const void*>(queue) && uv_backend_timeout(loop) == 0;
#endif
}
}  // namespace

void Monitor::OnBeforePoll() { poll_nonblocking_ = poll_skip_safe_ && PollCannotBlock(loop_); }

namespace {
// Loop counters are published at least this often, and after any iteration this long.
constexpr uint64_t kPublishIntervalNs = 1000000;
// Iterations shorter than this do not read libuv's idle time (see OnIterationEnd).
constexpr uint64_t kIdleReadMinNs = 5000;
}  // namespace

// The hot path, once per loop iteration (check to check). Its busy time is the elapsed
// time minus libuv's idle time (time blocked in poll), so it includes the poll phase's I/O
// callbacks. Per iteration: one time-stamp-counter read (or a clock read until the
// counter is calibrated, or where there is none), integer arithmetic and one histogram
// record. The shared counters (busy, idle, iterations, last/max iteration) are published
// under the seqlock at most every millisecond, and at once after an iteration of a
// millisecond or more or a new maximum, so a reader is never more than 1 ms behind and
// always sees a long iteration at once.
//
// libuv's idle time sits behind a mutex; reading it costs more than everything else here
// together, so it is read only after iterations of kIdleReadMinNs or more, and not even then
// when our prepare handle saw that this iteration's poll could not block (OnBeforePoll:
// libuv adds idle time only while its poll waits with a non-zero timeout, so the
// iteration's idle time is exactly 0; a server handing work on with setImmediate iterates
// like that). Iterations woken by I/O still read it. A shorter iteration cannot have been
// idle for longer than itself, so it is counted as busy (its histogram value is at most
// 5 µs too high); the idle time it did have stays in libuv's cumulative count and is read
// with the next longer iteration, which is charged at most its own elapsed time as idle.
// The published busy and idle totals come from libuv's cumulative idle time and the clock
// at publication (PublishLoop), so they are exact whatever the per-iteration split.
void Monitor::OnIterationEnd() {
  uint64_t it_elapsed;
  uint64_t now = 0;
  bool publish;
  if (ticks_.ready()) {
    const uint64_t t = ReadTsc();
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
  // Valid for this iteration's poll only: an iteration whose poll ran before our prepare
  // handle did (the one running at StartLoop) reads the idle time.
  const bool poll_nonblocking = poll_nonblocking_;
  poll_nonblocking_ = false;
  uint64_t it_idle = 0;
  if (it_elapsed >= kIdleReadMinNs && !poll_nonblocking) {
    const uint64_t idle = uv_metrics_idle_time(loop_);
    it_idle = idle - iter_start_idle_ns_;
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
  block_.loop_iteration().Record(SlotValue(it_busy));
  const bool stalled = judge_stalls_ && stall_threshold_ns_ != 0 && it_busy >= stall_threshold_ns_;
  judge_stalls_ = true;
  if (publish || stalled) {
    if (now == 0) now = MonotonicNs();
    if (stalled) RecordStall(now, it_elapsed, it_busy, iteration);
    PublishLoop(now, uv_metrics_idle_time(loop_));
  }
}

// Refreshes and stops call this mid-iteration so that snapshots taken between checks are
// current; the iteration's own measurement (iter_start_*) is not split by them.
void Monitor::AccountLoop(uint64_t now) {
  const uint64_t idle = uv_metrics_idle_time(loop_);
  PublishLoop(now, idle);
}

void Monitor::PublishLoop(uint64_t now, uint64_t idle) {
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
  }
  last_publish_ns_ = now;
  const uint64_t run_elapsed = now > run_start_ns_ ? now - run_start_ns_ : 0;
  const uint64_t run_idle = idle > run_start_idle_ns_ ? idle - run_start_idle_ns_ : 0;
  const uint64_t run_busy = run_elapsed > run_idle ? run_elapsed - run_idle : 0;
  // Totals only grow: a reader never sees busy or idle time go backwards.
  if (idle_base_ns_ + run_idle > idle_total_ns_) idle_total_ns_ = idle_base_ns_ + run_idle;
  if (busy_base_ns_ + run_busy > busy_total_ns_) busy_total_ns_ = busy_base_ns_ + run_busy;
  uint64_t pending;
  const uint64_t events = LoopEvents(loop_, &pending);
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
  StoreSlot(m + MAIN_LOOP_LAST_ITERATION_NS, SlotValue(last_iteration_ns_));
  StoreSlot(m + MAIN_LOOP_MAX_ITERATION_NS, SlotValue(max_iteration_ns_));
  StoreSlot(m + MAIN_TIME_NS, SlotValue(now));
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
