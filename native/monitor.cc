#include "monitor.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <new>

#include "core/clock.h"

namespace rs {

Monitor* Monitor::Create(napi_env env, v8::Isolate* isolate, uv_loop_t* loop, double* base,
                         const Layout& layout, const MonitorOptions& options, uint32_t space_count,
                         int* uv_error) {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
#endif
  // The loop hook's fast path touches one page (monitor.h): from check_ to iter_batch_'s end.
  static_assert(
      offsetof(Monitor, iter_batch_) + sizeof(iter_batch_) - offsetof(Monitor, check_) <= 1024,
      "the fast path's fields outgrew their 1 KiB run");
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  Monitor* m = new (std::nothrow) Monitor();
  if (m == nullptr) {
    *uv_error = UV_ENOMEM;
    return nullptr;
  }
  if (options.profile_interval_ms != 0) {
    // Allocated here, when the sampler is made, so that sampling never allocates.
    m->profiles_ = new (std::nothrow) StallProfile[profile::kSlots];
    if (m->profiles_ == nullptr) {
      delete m;
      *uv_error = UV_ENOMEM;
      return nullptr;
    }
  }
  m->env_ = env;
  m->isolate_ = isolate;
  m->loop_ = loop;
  m->block_ = Block(base, layout);
  m->block_.Init();
  m->options_ = options;
  m->options_.cgroup_root = nullptr;
  m->cgroup_.Open(options.cgroup_mode, options.cgroup_root);
  m->space_count_ = space_count;
  m->stall_threshold_ns_ = static_cast<uint64_t>(options.watchdog_threshold_ms) * 1000000u;
  m->totals_ = options.loop_totals && LoopCountAvailable();
  {
    SeqWriteSection section(m->block_.main_seq());
    StoreSlot(m->block_.main() + MAIN_WATCHDOG_ENABLED, options.watchdog_threshold_ms != 0 ? 1 : 0);
  }
  m->Register();
  // RUNTIME_SAMPLER_CLOCK=monotonic: time loop iterations with the monotonic clock only.
  const char* clock = std::getenv("RUNTIME_SAMPLER_CLOCK");
  if (!InvariantTscAvailable() || (clock != nullptr && std::strcmp(clock, "monotonic") == 0)) {
    m->ticks_.Disable();
  }

  uv_handle_t* handles[kHandleCount];
  m->Handles(handles);
  int err = uv_check_init(loop, &m->check_);
  if (err == 0) {
    m->open_handles_++;
    err = uv_timer_init(loop, &m->delay_timer_);
  }
  if (err == 0) {
    m->open_handles_++;
    err = uv_timer_init(loop, &m->refresh_timer_);
  }
  if (err == 0) {
    m->open_handles_++;
    err = uv_timer_init(loop, &m->probe_timer_);
  }
  if (err == 0) {
    m->open_handles_++;
    err = uv_timer_init(loop, &m->totals_timer_);
  }
  if (err == 0) m->open_handles_++;
  m->probe_req_.data = m;
  for (int i = 0; i < m->open_handles_; i++) {
    handles[i]->data = m;
    // Never keep the process alive.
    uv_unref(handles[i]);
  }
  if (err == 0) {
    napi_status st = napi_add_async_cleanup_hook(env, AsyncCleanup, m, &m->cleanup_handle_);
    if (st != napi_ok) {
      m->cleanup_handle_ = nullptr;
      err = UV_EINVAL;
    }
  }
  if (err != 0) {
    *uv_error = err;
    m->BeginClose();  // frees m once the handles that were opened are closed
    return nullptr;
  }
  return m;
}

void Monitor::Start() {
  if (started_ || closing_) return;
  const uint64_t now = MonotonicNs();
  HeapSample& hs = heap_sample_;
  SampleHeap(isolate_, space_count_, &hs);
  {
    SeqWriteSection section(block_.main_seq());
    double* m = block_.main();
    if (LoadSlot(m + MAIN_START_NS) == 0) StoreSlot(m + MAIN_START_NS, static_cast<double>(now));
    StoreSlot(m + MAIN_STARTED, 1);
    StoreSlot(m + MAIN_TIME_NS, static_cast<double>(now));  // loop accounting starts here
    WriteHeapSample(block_, hs, static_cast<double>(now));
    // Allocation accounting starts from here (a restart does not count the gap).
    last_heap_used_ = hs.used;
  }
  InstallGCHooks();
  StartLoop(now);
  StartWatchdog();
  uv_timer_start(&refresh_timer_, RefreshTimerCb, options_.refresh_interval_ms,
                 options_.refresh_interval_ms);
  StartThreadpoolProbe();
  started_ = true;
  Refresh();
}

void Monitor::Stop() {
  if (!started_) return;
  StopWatchdog();  // first: a stopped loop must not look stalled
  RemoveGCHooks();
  StopLoop();
  uv_timer_stop(&refresh_timer_);
  StopThreadpoolProbe();
  gc_depth_ = 0;
  gc_overflow_depth_ = 0;
  started_ = false;
  SeqWriteSection section(block_.main_seq());
  StoreSlot(block_.main() + MAIN_STARTED, 0);
}

void Monitor::Close() {
  Stop();
  BeginClose();
}

void Monitor::BeginClose() {
  if (closing_) return;
  closing_ = true;
  cgroup_.Close();
  StopWatchdog();
  if (hooks_installed_) RemoveGCHooks();
  Unregister();  // a capture still pending finds no monitor
  {
    // Readers on other threads (views) see that the writer is gone.
    SeqWriteSection section(block_.main_seq());
    StoreSlot(block_.main() + MAIN_WRITER_CLOSED, 1);
    StoreSlot(block_.main() + MAIN_STARTED, 0);
    // A probe still in flight is abandoned (cancelled, or its completion ignored).
    StoreSlot(block_.main() + MAIN_THREADPOOL_IN_FLIGHT, 0);
    StoreSlot(block_.main() + MAIN_THREADPOOL_IN_FLIGHT_SINCE_NS, 0);
  }
  uv_handle_t* handles[kHandleCount];
  Handles(handles);
  if (owner_slot_ != nullptr) *owner_slot_ = nullptr;
  owner_slot_ = nullptr;
  CancelThreadpoolProbe();
  const int to_close = open_handles_;
  if (to_close == 0) {
    MaybeFinish();
    return;
  }
  for (int i = 0; i < to_close; i++) uv_close(handles[i], HandleClosed);
}

// In the order they are initialised (Create opens a prefix of them on failure).
void Monitor::Handles(uv_handle_t* out[kHandleCount]) {
  out[0] = reinterpret_cast<uv_handle_t*>(&check_);
  out[1] = reinterpret_cast<uv_handle_t*>(&delay_timer_);
  out[2] = reinterpret_cast<uv_handle_t*>(&refresh_timer_);
  out[3] = reinterpret_cast<uv_handle_t*>(&probe_timer_);
  out[4] = reinterpret_cast<uv_handle_t*>(&totals_timer_);
}

void Monitor::HandleClosed(uv_handle_t* handle) {
  Monitor* m = static_cast<Monitor*>(handle->data);
  m->open_handles_--;
  m->MaybeFinish();
}

void Monitor::MaybeFinish() {
  if (open_handles_ > 0 || probe_in_flight_) return;
  Finish();
}

void Monitor::Finish() {
  if (cleanup_handle_ != nullptr) {
    // Either unregisters the hook (normal close) or reports that the teardown we were
    // asked for is finished (hook already running). Both are this one call.
    napi_remove_async_cleanup_hook(cleanup_handle_);
  }
  delete this;
}

void Monitor::AsyncCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  Monitor* m = static_cast<Monitor*>(arg);
  m->cleanup_handle_ = handle;
  if (m->closing_) return;  // a close is already under way; its last callback finishes
  m->Stop();
  m->BeginClose();
}

}  // namespace rs
