// The threadpool probe: how long work waits for one of libuv's pool threads.
//
// libuv's threadpool (fs, dns.lookup, crypto, zlib) is process-wide and small (4 threads by
// default); once it is saturated, every request behind it waits while the loop looks idle.
// Every threadpool_probe_ms a timer queues one empty work item; the pool thread that starts
// it only stores the time, and the completion (on the loop) records start - submission in
// the block's threadpool histogram. The timer never queues a second probe while one waits,
// so a stuck pool costs one queued request, not one per tick; nothing here ever blocks the
// loop. The work request is preallocated in the monitor.
//
// Teardown: a queued request is taken back with uv_cancel (its completion then runs with
// UV_ECANCELED); one a pool thread has started cannot be, but its work is a clock read, so
// its completion follows at once. Either way the monitor is not freed, nor Node told its
// cleanup is done, before that completion has run (MaybeFinish).
#include <cstdlib>

#include "../core/clock.h"
#include "../core/threadpool.h"
#include "../monitor.h"

namespace rs {

void Monitor::StartThreadpoolProbe() {
  // Read at each start: libuv reads the variable once, when the pool starts (the first
  // request of the process), and a program may set it before its first fs or crypto call.
  const uint32_t size = ThreadpoolSize(std::getenv("UV_THREADPOOL_SIZE"), uv_version());
  {
    SeqWriteSection section(block_.main_seq());
    StoreSlot(block_.main() + MAIN_THREADPOOL_SIZE, size);
  }
  const uint32_t ms = options_.threadpool_probe_ms;
  if (ms != 0) uv_timer_start(&probe_timer_, ProbeTimerCb, ms, ms);
}

// A probe in flight is left to complete: its delay is still a measurement.
void Monitor::StopThreadpoolProbe() { uv_timer_stop(&probe_timer_); }

void Monitor::CancelThreadpoolProbe() {
  // UV_EBUSY: a pool thread has it (or it is done and its completion is on its way).
  if (probe_in_flight_) uv_cancel(reinterpret_cast<uv_req_t*>(&probe_req_));
}

void Monitor::ProbeTimerCb(uv_timer_t* handle) {
  static_cast<Monitor*>(handle->data)->SubmitProbe();
}

void Monitor::SubmitProbe() {
  if (probe_in_flight_ || closing_) return;
  probe_started_ns_.store(0, std::memory_order_relaxed);
  probe_req_.data = this;
  // Before the submission: a pool thread may start the probe before uv_queue_work returns.
  const uint64_t submitted = MonotonicNs();
  if (uv_queue_work(loop_, &probe_req_, ProbeWork, ProbeAfterWork) != 0) return;
  probe_submitted_ns_ = submitted;
  probe_in_flight_ = true;
  SeqWriteSection section(block_.main_seq());
  double* m = block_.main();
  StoreSlot(m + MAIN_THREADPOOL_IN_FLIGHT, 1);
  StoreSlot(m + MAIN_THREADPOOL_IN_FLIGHT_SINCE_NS, SlotValue(submitted));
}

// On a pool thread: one clock read and one store. Nothing else may run here.
void Monitor::ProbeWork(uv_work_t* req) {
  static_cast<Monitor*>(req->data)->probe_started_ns_.store(MonotonicNs(),
                                                            std::memory_order_release);
}

void Monitor::ProbeAfterWork(uv_work_t* req, int status) {
  static_cast<Monitor*>(req->data)->OnProbeDone(status);
}

void Monitor::OnProbeDone(int status) {
  probe_in_flight_ = false;
  if (closing_) {
    // The block may already be released (Close() returned): touch nothing but ourselves.
    MaybeFinish();  // may delete this
    return;
  }
  const uint64_t started = probe_started_ns_.load(std::memory_order_acquire);
  const bool ran = status == 0 && started != 0;
  uint64_t delay = 0;
  if (ran) {
    delay = started > probe_submitted_ns_ ? started - probe_submitted_ns_ : 0;
    probe_count_++;
    if (delay > probe_max_ns_) probe_max_ns_ = delay;
    block_.threadpool_delay().Record(SlotValue(delay));
  }
  SeqWriteSection section(block_.main_seq());
  double* m = block_.main();
  StoreSlot(m + MAIN_THREADPOOL_IN_FLIGHT, 0);
  StoreSlot(m + MAIN_THREADPOOL_IN_FLIGHT_SINCE_NS, 0);
  StoreSlot(m + MAIN_THREADPOOL_PROBES, SlotValue(probe_count_));
  StoreSlot(m + MAIN_THREADPOOL_MAX_DELAY_NS, SlotValue(probe_max_ns_));
}

}  // namespace rs
