// The stall watchdog's Node/V8 side: the probe the core watchdog thread (core/watchdog.h)
// reads, the stack capture it asks V8 for, and the stall record written when the stalled
// iteration ends.
//
// Threads: Iterations(), IdleNs() and OnStall() run on the watchdog thread and touch only
// atomics, libuv's thread-safe uv_metrics_idle_time() and V8's thread-safe
// RequestInterrupt() (no allocation, no lock of ours; the request carries the monitor's
// id, looked up on the JS thread). Everything else runs on the JS thread. The capture runs in V8's
// interrupt, on the JS thread, at the stalled code's next stack check: it writes the stack into a
// fixed buffer of the shared block. With stall profiles, the watchdog asks again every
// profile interval while the stall lasts, and each interrupt adds one sample to the stall's
// profile (core/stall_profile.h: preallocated, bounded).
#include <v8.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "../monitor.h"

namespace rs {

namespace {
constexpr int kMaxFrames = 32;

// This JS thread's live monitors, by id. The stack-capture interrupt carries only an id,
// so a capture that V8 runs after its monitor closed finds nothing and does nothing, and
// nothing is allocated for a request (or left behind if V8 drops it with the isolate).
thread_local std::vector<std::pair<uint64_t, Monitor*>> t_monitors;
std::atomic<uint64_t> g_next_monitor_id{1};

// Appends `s` (not NUL-terminated) to out[*len, cap).
void Append(char* out, size_t cap, size_t* len, const char* s, size_t n) {
  if (*len >= cap) return;
  if (n > cap - *len) n = cap - *len;
  std::memcpy(out + *len, s, n);
  *len += n;
}

void AppendString(v8::Isolate* isolate, char* out, size_t cap, size_t* len, v8::Local<v8::String> s,
                  const char* fallback) {
  if (s.IsEmpty() || s->Length() == 0) {
    Append(out, cap, len, fallback, std::strlen(fallback));
    return;
  }
  if (*len >= cap) return;
#if V8_MAJOR_VERSION >= 13
  *len +=
      s->WriteUtf8V2(isolate, out + *len, cap - *len, v8::String::WriteFlags::kReplaceInvalidUtf8);
#else
  *len += static_cast<size_t>(
      s->WriteUtf8(isolate, out + *len, static_cast<int>(cap - *len), nullptr,
                   v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8));
#endif
}

// `s` as UTF-8 into out[0, cap): the byte count (cut at cap).
size_t WriteUtf8(v8::Isolate* isolate, v8::Local<v8::String> s, char* out, size_t cap) {
  if (s.IsEmpty() || s->Length() == 0) return 0;
#if V8_MAJOR_VERSION >= 13
  return s->WriteUtf8V2(isolate, out, cap, v8::String::WriteFlags::kReplaceInvalidUtf8);
#else
  return static_cast<size_t>(
      s->WriteUtf8(isolate, out, static_cast<int>(cap), nullptr,
                   v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8));
#endif
}

void AppendNumber(char* out, size_t cap, size_t* len, int v) {
  char digits[16];
  int n = 0;
  unsigned u = v < 0 ? 0u : static_cast<unsigned>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0 && n < 15);
  while (n > 0) Append(out, cap, len, &digits[--n], 1);
}
}  // namespace

uint64_t Monitor::Iterations() { return live_iterations_.load(std::memory_order_relaxed); }

uint64_t Monitor::IdleNs() { return uv_metrics_idle_time(loop_); }

void Monitor::Register() {
  id_ = g_next_monitor_id.fetch_add(1, std::memory_order_relaxed);
  t_monitors.emplace_back(id_, this);
}

void Monitor::Unregister() {
  for (size_t i = 0; i < t_monitors.size(); i++) {
    if (t_monitors[i].second == this) {
      t_monitors[i] = t_monitors.back();
      t_monitors.pop_back();
      return;
    }
  }
}

bool Monitor::OnStall(uint64_t iteration, uint64_t) {
  if (totals_) {
    // loopTiming 'totals': the loop thread records the stall once it has moved past it
    // (loop_monitor.cc, EndFlaggedStall). `totals_` is set before the watchdog starts.
    flagged_stall_.store(iteration + 1, std::memory_order_release);
  }
  if (!options_.capture_stack && profiles_ == nullptr) return false;
  return RequestStackInterrupt(iteration);
}

void Monitor::OnStallTick(uint64_t iteration) {
  if (profiles_ == nullptr) return;
  if (!RequestStackInterrupt(iteration))
    profile_ticks_missed_.fetch_add(1, std::memory_order_relaxed);
}

bool Monitor::RequestStackInterrupt(uint64_t iteration) {
  // One request in flight at a time: V8 queues every request, and a loop stuck outside
  // JavaScript would otherwise pile them up. A later tick asks again once it has run.
  if (interrupt_pending_.exchange(true, std::memory_order_acq_rel)) return false;
  requested_iteration_.store(iteration, std::memory_order_relaxed);
  isolate_->RequestInterrupt(StackInterrupt, reinterpret_cast<void*>(static_cast<uintptr_t>(id_)));
  return true;
}

void Monitor::StackInterrupt(v8::Isolate*, void* data) {
  const uint64_t id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data));
  for (const auto& entry : t_monitors) {
    if (entry.first != id) continue;
    Monitor* m = entry.second;
    m->interrupt_pending_.store(false, std::memory_order_release);
    // Only while the stalled iteration is still running: an interrupt that arrives later
    // (the stall was in native code, JS runs again in a later iteration) is not its stack.
    const uint64_t iteration = m->live_iterations_.load(std::memory_order_relaxed);
    if (iteration != m->requested_iteration_.load(std::memory_order_relaxed)) return;
    // The text stack once per stall (the first interrupt), the profile on each.
    if (m->options_.capture_stack && m->captured_iteration_ != iteration) m->CaptureStack();
    if (m->profiles_ != nullptr) m->SampleStack();
    return;
  }
}

void Monitor::CaptureStack() {
  const uint32_t index = static_cast<uint32_t>(stack_seq_ % k::STACK_BUFFERS);
  double* buf = block_.stack_buffer(index);
  // Readers on other threads (lastStallStack()) take a copy as whole only if the id is the
  // same before and after it: no id while the text is rewritten, the new id stored last.
  StoreSlot(buf + 0, 0);
  std::atomic_thread_fence(std::memory_order_release);
  char* out = reinterpret_cast<char*>(buf + 2);
  const size_t cap = (k::STACK_BUFFER_SLOTS - 2) * kSlotBytes;
  size_t len = 0;
  v8::HandleScope scope(isolate_);
  v8::Local<v8::StackTrace> trace =
      v8::StackTrace::CurrentStackTrace(isolate_, kMaxFrames, v8::StackTrace::kDetailed);
  const int frames = trace->GetFrameCount();
  for (int i = 0; i < frames && len < cap; i++) {
    v8::Local<v8::StackFrame> f = trace->GetFrame(isolate_, i);
    // The format of Error.stack's lines: "    at fn (file:line:column)".
    Append(out, cap, &len, "    at ", 7);
    AppendString(isolate_, out, cap, &len, f->GetFunctionName(), "<anonymous>");
    Append(out, cap, &len, " (", 2);
    AppendString(isolate_, out, cap, &len, f->GetScriptNameOrSourceURL(), "<unknown>");
    Append(out, cap, &len, ":", 1);
    AppendNumber(out, cap, &len, f->GetLineNumber());
    Append(out, cap, &len, ":", 1);
    AppendNumber(out, cap, &len, f->GetColumn());
    Append(out, cap, &len, ")\n", 2);
  }
  stack_seq_++;
  StoreSlot(buf + 1, static_cast<double>(len));
  std::atomic_thread_fence(std::memory_order_release);
  StoreSlot(buf + 0, static_cast<double>(stack_seq_));  // the stack id
  captured_iteration_ = live_iterations_.load(std::memory_order_relaxed);
  captured_index_ = index;
}

void Monitor::SampleStack() {
  const uint64_t now = MonotonicNs();
  const uint64_t iteration = live_iterations_.load(std::memory_order_relaxed);
  if (profiling_ == nullptr || profiling_->iteration() != iteration || profiling_->finished()) {
    profiling_ = &profiles_[profile_seq_ % profile::kSlots];
    profiling_->Reset(++profile_seq_, iteration);
    missed_at_profile_start_ = profile_ticks_missed_.load(std::memory_order_relaxed);
  }
  if (!profiling_->BeginSample(now)) return;
  v8::HandleScope scope(isolate_);
  // One frame past the bound, so that a cut stack is seen (and counted) as cut.
  v8::Local<v8::StackTrace> trace = v8::StackTrace::CurrentStackTrace(
      isolate_, static_cast<int>(profile::kMaxDepth) + 1, v8::StackTrace::kDetailed);
  const int frames = trace->GetFrameCount();
  char name[profile::kMaxNameBytes];
  char url[profile::kMaxUrlBytes];
  static constexpr char kAnonymous[] = "(anonymous)";
  for (int i = 0; i < frames; i++) {
    v8::Local<v8::StackFrame> f = trace->GetFrame(isolate_, i);
    size_t name_len = WriteUtf8(isolate_, f->GetFunctionName(), name, sizeof(name));
    if (name_len == 0) {
      std::memcpy(name, kAnonymous, sizeof(kAnonymous) - 1);
      name_len = sizeof(kAnonymous) - 1;
    }
    const size_t url_len = WriteUtf8(isolate_, f->GetScriptNameOrSourceURL(), url, sizeof(url));
    profiling_->AddFrame(name, name_len, url, url_len, f->GetScriptId(), f->GetLineNumber(),
                         f->GetColumn());
  }
  profiling_->EndSample();
}

const StallProfile* Monitor::FinishedProfile(uint32_t slot, uint64_t id) const {
  if (profiles_ == nullptr || slot >= profile::kSlots) return nullptr;
  const StallProfile& p = profiles_[slot];
  return p.id() == id && p.finished() ? &p : nullptr;
}

void Monitor::StartWatchdog() {
  if (stall_threshold_ns_ == 0 || watchdog_.running()) return;
  live_iterations_.store(iterations_, std::memory_order_relaxed);
  watchdog_error_ = watchdog_.Start(
      block_.stall(), stall_threshold_ns_,
      static_cast<uint64_t>(options_.watchdog_interval_ms) * 1000000u, this,
      profiles_ == nullptr ? 0 : static_cast<uint64_t>(options_.profile_interval_ms) * 1000000u);
}

void Monitor::StopWatchdog() { watchdog_.Stop(); }

void Monitor::RecordStall(uint64_t end_ns, uint64_t elapsed_ns, uint64_t busy_ns,
                          uint64_t iteration) {
  stall_count_++;
  stall_total_ns_ += busy_ns;
  if (busy_ns > stall_max_ns_) stall_max_ns_ = busy_ns;
  const bool with_stack = captured_iteration_ == iteration && stack_seq_ != 0;
  const bool with_profile =
      profiling_ != nullptr && profiling_->iteration() == iteration && !profiling_->finished();
  if (with_profile) {
    profiling_->Finish(end_ns);
    const uint64_t missed =
        profile_ticks_missed_.load(std::memory_order_relaxed) - missed_at_profile_start_;
    profiling_->set_missed(missed > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(missed));
  }
  double* rec = block_.ring().Reserve();
  SeqWriteSection section(block_.main_seq());
  double* m = block_.main();
  StoreSlot(m + MAIN_STALL_COUNT, SlotValue(stall_count_));
  StoreSlot(m + MAIN_STALL_TOTAL_NS, SlotValue(stall_total_ns_));
  StoreSlot(m + MAIN_STALL_MAX_NS, SlotValue(stall_max_ns_));
  if (rec == nullptr) {
    AddSlot(m + MAIN_SAMPLER_RING_DROPPED, 1);
    return;
  }
  StoreSlot(rec + RECORD_KIND, k::RECORD_KIND_STALL);
  StoreSlot(rec + k::RECORD_STALL_STACK_INDEX, with_stack ? captured_index_ : -1.0);
  StoreSlot(rec + k::RECORD_STALL_STACK_ID, with_stack ? SlotValue(stack_seq_) : -1.0);
  StoreSlot(rec + k::RECORD_STALL_PROFILE_SLOT,
            with_profile ? static_cast<double>((profiling_->id() - 1) % profile::kSlots) : -1.0);
  StoreSlot(rec + k::RECORD_STALL_PROFILE_ID, with_profile ? SlotValue(profiling_->id()) : -1.0);
  StoreSlot(rec + RECORD_START_NS, SlotValue(end_ns - elapsed_ns));
  StoreSlot(rec + RECORD_PAUSE_NS, SlotValue(elapsed_ns));
  StoreSlot(rec + RECORD_DURATION_NS, SlotValue(busy_ns));
  block_.ring().Commit();
}

}  // namespace rs
