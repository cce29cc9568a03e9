// Event-loop timing on the environment's own loop.
//
// One check handle marks the end of every iteration's poll phase. Between two checks the
// loop was either blocked in poll (idle: libuv's own uv_metrics_idle_time, the number
// performance.eventLoopUtilization() uses) or running callbacks (busy = elapsed - idle).
// Poll-phase I/O callbacks run between the two marks, so they count as busy, as they
// should. This costs one clock read and one uncontended mutex (inside libuv) per
// iteration. A delay timer reproduces monitorEventLoopDelay({ resolution }): it records
// the full time between two of its callbacks.
#include "../core/clock.h"
#include "../monitor.h"

namespace rs {

#if UV_VERSION_HEX >= ((1 << 16) | (45 << 8))
#define RS_HAVE_UV_METRICS_INFO 1
#else
#define RS_HAVE_UV_METRICS_INFO 0
#endif

namespace {

uint64_t LoopEvents(uv_loop_t* loop, uint64_t* waiting) {
#if RS_HAVE_UV_METRICS_INFO
  uv_metrics_t metrics;
  if (uv_metrics_info(loop, &metrics) == 0) {
    *waiting = metrics.events_waiting;
    return metrics.events;
  }
#else
  (void)loop;
#endif
  *waiting = 0;
  return 0;
}

}  // namespace

void Monitor::StartLoop(uint64_t now) {
  // Node enables idle-time accounting on every loop it creates; asking again is harmless
  // and covers embedders that did not.
  uv_loop_configure(loop_, UV_METRICS_IDLE_TIME);
  acc_ns_ = iter_start_ns_ = now;
  acc_idle_ns_ = iter_start_idle_ns_ = uv_metrics_idle_time(loop_);
  uint64_t waiting;
  prev_events_ = LoopEvents(loop_, &waiting);
  prev_delay_ns_ = 0;
  {
    SeqWriteSection section(block_.main_seq());
    StoreSlot(block_.main() + MAIN_LOOP_METRICS_AVAILABLE, RS_HAVE_UV_METRICS_INFO);
  }
  uv_check_start(&check_, CheckCb);
  uv_timer_start(&delay_timer_, DelayTimerCb, options_.loop_delay_resolution_ms,
                 options_.loop_delay_resolution_ms);
}

void Monitor::StopLoop() {
  // Account for the time up to now, so a stop loses nothing.
  AccountLoop(MonotonicNs(), false);
  uv_check_stop(&check_);
  uv_timer_stop(&delay_timer_);
}

void Monitor::CheckCb(uv_check_t* handle) {
  Monitor* m = static_cast<Monitor*>(handle->data);
  m->AccountLoop(MonotonicNs(), true);
}

// Brings busy/idle time up to `now`. At the end of an iteration (the check handle) it
// also counts the iteration and records its busy time. Refreshes call it mid-iteration
// so that snapshots taken between checks are current; the iteration's own measurement
// is kept apart (iter_start_*) and is not split by them.
void Monitor::AccountLoop(uint64_t now, bool iteration_end) {
  const uint64_t idle = uv_metrics_idle_time(loop_);
  const uint64_t elapsed = now > acc_ns_ ? now - acc_ns_ : 0;
  const uint64_t idle_delta = idle > acc_idle_ns_ ? idle - acc_idle_ns_ : 0;
  const uint64_t busy_delta = elapsed > idle_delta ? elapsed - idle_delta : 0;
  uint64_t waiting;
  const uint64_t events = LoopEvents(loop_, &waiting);
  const uint64_t events_delta = events > prev_events_ ? events - prev_events_ : 0;
  acc_ns_ = now;
  acc_idle_ns_ = idle;
  prev_events_ = events;

  double iteration_busy = 0;
  if (iteration_end) {
    const uint64_t it_elapsed = now - iter_start_ns_;
    const uint64_t it_idle = idle - iter_start_idle_ns_;
    iteration_busy = static_cast<double>(it_elapsed > it_idle ? it_elapsed - it_idle : 0);
    iter_start_ns_ = now;
    iter_start_idle_ns_ = idle;
    block_.loop_iteration().Record(iteration_busy);
  }

  SeqWriteSection section(block_.main_seq());
  double* m = block_.main();
  AddSlot(m + MAIN_LOOP_IDLE_NS, static_cast<double>(idle_delta));
  AddSlot(m + MAIN_LOOP_BUSY_NS, static_cast<double>(busy_delta));
  AddSlot(m + MAIN_LOOP_EVENTS, static_cast<double>(events_delta));
  StoreSlot(m + MAIN_LOOP_EVENTS_WAITING, static_cast<double>(waiting));
  if (iteration_end) {
    AddSlot(m + MAIN_LOOP_ITERATIONS, 1);
    StoreSlot(m + MAIN_LOOP_LAST_ITERATION_NS, iteration_busy);
    MaxSlot(m + MAIN_LOOP_MAX_ITERATION_NS, iteration_busy);
  }
  StoreSlot(m + MAIN_TIME_NS, static_cast<double>(now));
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
