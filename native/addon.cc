// Module init and the JavaScript surface of the native side. Everything here runs on the
// environment's JS thread; all state hangs off the environment's instance data.
// node_version.h defines NAPI_VERSION as the runtime's newest; keep the one we target.
#pragma push_macro("NAPI_VERSION")
#undef NAPI_VERSION
#include <node_version.h>
#undef NAPI_VERSION
#pragma pop_macro("NAPI_VERSION")

#include <napi.h>
#include <uv.h>
#include <v8.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "addon.h"
#include "core/histogram.h"
#include "core/layout.h"
#include "core/layout_hash.h"
#include "monitor.h"
#include "v8/histograms.h"

namespace rs {

namespace {

struct EnvData {
  v8::Isolate* isolate = nullptr;
  uv_loop_t* loop = nullptr;
  uint32_t space_count = 0;
  Napi::FunctionReference sampler_error;
};

EnvData* GetEnvData(Napi::Env env) { return env.GetInstanceData<EnvData>(); }

}  // namespace

// Node-API values are V8 handles (Node's own js_native_api_v8.h converts them with this
// copy); the alias below needs V8's backing stores, which Node-API does not expose.
static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::Value>), "napi_value is a V8 handle");
v8::Local<v8::Value> ToV8(napi_value v) {
  v8::Local<v8::Value> local;
  std::memcpy(static_cast<void*>(&local), &v, sizeof(v));
  return local;
}
napi_value FromV8(v8::Local<v8::Value> local) {
  napi_value v;
  std::memcpy(&v, static_cast<void*>(&local), sizeof(v));
  return v;
}

v8::Isolate* EnvIsolate(Napi::Env env) { return GetEnvData(env)->isolate; }

// Throws the JS-defined SamplerError (handed over by setErrorClass) with a stable code.
void ThrowSamplerError(Napi::Env env, const char* code, const std::string& message) {
  EnvData* data = GetEnvData(env);
  if (data != nullptr && !data->sampler_error.IsEmpty()) {
    Napi::Value err =
        data->sampler_error.New({Napi::String::New(env, message), Napi::String::New(env, code)});
    if (!env.IsExceptionPending()) {
      Napi::Error(env, err).ThrowAsJavaScriptException();
    }
    return;
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

namespace {

// The backing store of the buffer under a typed array (shared or not); null if none.
std::shared_ptr<v8::BackingStore> BackingStoreOf(napi_value typed_array) {
  v8::Local<v8::Value> v = ToV8(typed_array);
  if (v.IsEmpty() || !v->IsArrayBufferView()) return nullptr;
  v8::Local<v8::Value> buffer = v.As<v8::ArrayBufferView>()->Buffer();
  if (buffer->IsSharedArrayBuffer()) return buffer.As<v8::SharedArrayBuffer>()->GetBackingStore();
  if (buffer->IsArrayBuffer()) return buffer.As<v8::ArrayBuffer>()->GetBackingStore();
  return nullptr;
}

#if !defined(V8_ENABLE_SANDBOX)
// The alias's deleter: V8 calls it when the alias's backing store goes (from the array
// buffer sweeper, on any thread, never from our GC hooks). It only drops the alias's
// reference to the block's backing store; the block itself is freed by V8 once no
// SharedArrayBuffer, alias or typed array over either is left.
void ReleaseAliasedBlock(void* /*data*/, size_t /*length*/, void* deleter_data) {
  delete static_cast<std::shared_ptr<v8::BackingStore>*>(deleter_data);
}
#endif

// Reads a boolean argument. No coercion: Value::ToBoolean() calls napi_coerce_to_bool,
// which fails once a worker is being terminated (it may no longer call into JS), and
// node-addon-api then hands back an empty Boolean without an env whose Value() aborts the
// process (Error::New on a null env). napi_typeof and napi_get_value_bool never fail so.
bool GetBool(const Napi::Value& v, const char* name, bool* out) {
  if (!v.IsBoolean()) {
    Napi::TypeError::New(v.Env(), std::string(name) + " must be a boolean")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool GetUint32(const Napi::Value& v, const char* name, uint32_t min, uint32_t max, uint32_t* out) {
  Napi::Env env = v.Env();
  if (!v.IsNumber()) {
    Napi::TypeError::New(env, std::string(name) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    Napi::RangeError::New(env, std::string(name) + " must be an integer in [" +
                                   std::to_string(min) + ", " + std::to_string(max) + "]")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

Napi::Object LayoutObject(Napi::Env env, const Layout& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ringCapacity", l.ring_capacity);
  o.Set("scale", l.scale);
  o.Set("mainOffset", l.main_offset);
  o.Set("mainSlots", l.main_slots);
  o.Set("ringControlOffset", l.ring_control_offset);
  o.Set("loopDelayOffset", l.loop_delay_offset);
  o.Set("loopIterationOffset", l.loop_iteration_offset);
  o.Set("gcHistOffset", l.gc_hist_offset);
  o.Set("safepointHistOffset", l.safepoint_hist_offset);
  o.Set("threadpoolHistOffset", l.threadpool_hist_offset);
  o.Set("stallOffset", l.stall_offset);
  o.Set("mcLogOffset", l.mc_log_offset);
  o.Set("stacksOffset", l.stacks_offset);
  o.Set("histSlots", l.hist_slots);
  o.Set("histBuckets", HistBucketCount(l.scale));
  o.Set("ringRecordsOffset", l.ring_records_offset);
  o.Set("totalSlots", l.total_slots);
  o.Set("totalBytes", static_cast<double>(l.total_bytes()));
  return o;
}

// computeLayout(ringCapacity, scale)
Napi::Value ComputeLayoutJs(const Napi::CallbackInfo& info) {
  uint32_t cap, scale;
  if (!GetUint32(info[0], "ringCapacity", kMinRingCapacity, kMaxRingCapacity, &cap)) return {};
  if (!IsPowerOfTwo(cap)) {
    Napi::RangeError::New(info.Env(), "ringCapacity must be a power of two")
        .ThrowAsJavaScriptException();
    return {};
  }
  if (!GetUint32(info[1], "histogramScale", k::HIST_MIN_SCALE, k::HIST_MAX_SCALE, &scale)) {
    return {};
  }
  return LayoutObject(info.Env(), ComputeLayout(cap, scale));
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  Napi::Object main = Napi::Object::New(env), space = Napi::Object::New(env),
               hist = Napi::Object::New(env), rec = Napi::Object::New(env),
               stall = Napi::Object::New(env), consts = Napi::Object::New(env);
#define MAIN(name) main.Set(#name, static_cast<uint32_t>(MAIN_##name));
#define SPACE(name) space.Set(#name, static_cast<uint32_t>(SPACE_##name));
#define HIST(name) hist.Set(#name, static_cast<uint32_t>(HIST_##name));
#define RECORD(name) rec.Set(#name, static_cast<uint32_t>(RECORD_##name));
#define STALL(name) stall.Set(#name, static_cast<uint32_t>(STALL_##name));
#define CONST(name, value) consts.Set(#name, k::name);
#include "core/slots.def"
  c.Set("MAIN", main);
  c.Set("STALL", stall);
  c.Set("SPACE", space);
  c.Set("HIST", hist);
  c.Set("RECORD", rec);
  c.Set("CONST", consts);
  c.Set("mainRegionSlots", kMainRegionSlots);
  c.Set("histIndexOffset", kHistIndexOffset);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(kLayoutHash));
  c.Set("layoutHash", hash);
  return c;
}

Napi::Value HeapSpaceNames(const Napi::CallbackInfo& info) {
  EnvData* data = GetEnvData(info.Env());
  Napi::Array names = Napi::Array::New(info.Env(), data->space_count);
  for (uint32_t i = 0; i < data->space_count; i++) {
    v8::HeapSpaceStatistics ss;
    const char* name = data->isolate->GetHeapSpaceStatistics(&ss, i) ? ss.space_name() : "";
    names.Set(i, Napi::String::New(info.Env(), name != nullptr ? name : ""));
  }
  return names;
}

// bucketIndex(value, scale): the C++ bucket function, for the shared test vectors.
Napi::Value BucketIndexJs(const Napi::CallbackInfo& info) {
  uint32_t scale;
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), "value must be a number").ThrowAsJavaScriptException();
    return {};
  }
  if (!GetUint32(info[1], "scale", k::HIST_MIN_SCALE, k::HIST_MAX_SCALE, &scale)) return {};
  return Napi::Number::New(info.Env(),
                           BucketIndex(info[0].As<Napi::Number>().DoubleValue(), scale));
}

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), "SamplerError must be a function")
        .ThrowAsJavaScriptException();
    return {};
  }
  GetEnvData(info.Env())->sampler_error = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// NativeSampler objects alive in the process, and the shared blocks they hold
// (liveObjects()).
std::atomic<int> g_live_samplers{0};
std::atomic<int> g_live_blocks{0};

class NativeSampler : public Napi::ObjectWrap<NativeSampler> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeSampler",
                       {InstanceMethod<&NativeSampler::Start>("start"),
                        InstanceMethod<&NativeSampler::Stop>("stop"),
                        InstanceMethod<&NativeSampler::Close>("close"),
                        InstanceMethod<&NativeSampler::Refresh>("refresh"),
                        InstanceMethod<&NativeSampler::Alias>("alias"),
                        InstanceMethod<&NativeSampler::LoopClock>("loopClock"),
                        InstanceMethod<&NativeSampler::LoopIdleRead>("loopIdleRead"),
                        InstanceMethod<&NativeSampler::LoopTiming>("loopTiming"),
                        InstanceMethod<&NativeSampler::WatchdogError>("watchdogError"),
                        InstanceMethod<&NativeSampler::StallProfileOf>("stallProfile"),
                        InstanceMethod<&NativeSampler::KeepPublished>("keepPublished")});
  }

  // new NativeSampler(block: Float64Array over a SharedArrayBuffer, ringCapacity,
  //                   histogramScale, refreshIntervalMs, loopDelayResolutionMs,
  //                   watchdogThresholdMs (0: none), watchdogIntervalMs, captureStack,
  //                   v8Histograms, publishedDir, publishedName,
  //                   cgroupRoot (false: none, null: the process's own, or a root path),
  //                   threadpoolProbeMs (0: none), profileIntervalMs (0: no stall profiles),
  //                   loopTiming ('iteration' or 'totals'; default 'iteration'))
  explicit NativeSampler(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSampler>(info) {
    g_live_samplers.fetch_add(1, std::memory_order_relaxed);
    Napi::Env env = info.Env();
    if (IsEmpty()) {
      // napi_wrap failed: the environment is being torn down (a terminated worker forbids
      // calls into JS at once, while its JS may run on until V8 acts on the termination,
      // constructing more of us), so no finalizer will ever own this object. Set nothing
      // up; node-addon-api deletes the object only when an exception is pending, else
      // nothing refers to it but the cleanup hook below.
      if (!env.IsExceptionPending()) napi_add_env_cleanup_hook(env, DeleteOrphan, this);
      return;
    }
    uint32_t cap, scale, refresh_ms, delay_ms, wd_threshold_ms = 0, wd_interval_ms = 0;
    if (!info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      Napi::TypeError::New(env, "block must be a Float64Array").ThrowAsJavaScriptException();
      return;
    }
    if (!GetUint32(info[1], "ringCapacity", kMinRingCapacity, kMaxRingCapacity, &cap) ||
        !GetUint32(info[2], "histogramScale", k::HIST_MIN_SCALE, k::HIST_MAX_SCALE, &scale) ||
        !GetUint32(info[3], "refreshIntervalMs", 10, 60000, &refresh_ms) ||
        !GetUint32(info[4], "loopDelayResolutionMs", 1, 1000, &delay_ms)) {
      return;
    }
    if (info.Length() > 5 &&
        (!GetUint32(info[5], "watchdog.thresholdMs", 0, 3600000, &wd_threshold_ms) ||
         !GetUint32(info[6], "watchdog.intervalMs", 0, 60000, &wd_interval_ms))) {
      return;
    }
    bool capture_stack = false, v8_histograms = false;
    if ((info.Length() > 7 && !GetBool(info[7], "watchdog.captureStack", &capture_stack)) ||
        (info.Length() > 8 && !GetBool(info[8], "v8Histograms", &v8_histograms))) {
      return;
    }
    uint32_t probe_ms = 0;
    if (info.Length() > 12 && !info[12].IsUndefined() &&
        !GetUint32(info[12], "threadpoolProbeMs", 0, kMaxThreadpoolProbeMs, &probe_ms)) {
      return;
    }
    uint32_t profile_ms = 0;
    if (info.Length() > 13 && !info[13].IsUndefined() &&
        !GetUint32(info[13], "watchdog.profileIntervalMs", 0, 60000, &profile_ms)) {
      return;
    }
    bool loop_totals = false;
    if (info.Length() > 14 && !info[14].IsUndefined()) {
      const std::string timing = info[14].IsString() ? info[14].As<Napi::String>().Utf8Value() : "";
      if (timing == "totals") {
        loop_totals = true;
      } else if (timing != "iteration") {
        Napi::TypeError::New(env, "loopTiming must be 'iteration' or 'totals'")
            .ThrowAsJavaScriptException();
        return;
      }
    }
    if (probe_ms != 0 && probe_ms < kMinThreadpoolProbeMs) {
      Napi::RangeError::New(
          env, "threadpoolProbeMs must be 0 or at least " + std::to_string(kMinThreadpoolProbeMs))
          .ThrowAsJavaScriptException();
      return;
    }
    // A published block's file (publishBlock()): removed when this sampler shuts down.
    if (info.Length() > 10 && !info[9].IsUndefined()) {
      if (!info[9].IsString() || !info[10].IsString()) {
        Napi::TypeError::New(env, "publishedDir and publishedName must be strings")
            .ThrowAsJavaScriptException();
        return;
      }
      published_dir_ = info[9].As<Napi::String>().Utf8Value();
      published_name_ = info[10].As<Napi::String>().Utf8Value();
    }
    // The cgroup to read: resolved (and its files opened) by Monitor::Create.
    cgroup::Reader::Mode cgroup_mode = cgroup::Reader::kSystem;
    std::string cgroup_root;
    if (info.Length() > 11 && !info[11].IsNull() && !info[11].IsUndefined()) {
      if (info[11].IsBoolean() && !info[11].As<Napi::Boolean>().Value()) {
        cgroup_mode = cgroup::Reader::kOff;
      } else if (info[11].IsString()) {
        cgroup_mode = cgroup::Reader::kRoot;
        cgroup_root = info[11].As<Napi::String>().Utf8Value();
      } else {
        Napi::TypeError::New(env, "cgroupRoot must be a path, null or false")
            .ThrowAsJavaScriptException();
        return;
      }
    }
    if (wd_threshold_ms != 0 && wd_interval_ms == 0) {
      Napi::RangeError::New(env, "watchdog.intervalMs must be at least 1")
          .ThrowAsJavaScriptException();
      return;
    }
    if (!IsPowerOfTwo(cap)) {
      Napi::RangeError::New(env, "ringCapacity must be a power of two")
          .ThrowAsJavaScriptException();
      return;
    }
    const Layout layout = ComputeLayout(cap, scale);
    Napi::TypedArray view = info[0].As<Napi::TypedArray>();
    void* data = nullptr;
    size_t length = 0;
    napi_status st = napi_get_typedarray_info(env, view, nullptr, &length, &data, nullptr, nullptr);
    if (st != napi_ok || data == nullptr) {
      ThrowSamplerError(env, "ERR_SAMPLER_BLOCK", "cannot reach the shared block's memory");
      return;
    }
    if (length * sizeof(double) < layout.total_bytes() ||
        reinterpret_cast<uintptr_t>(data) % alignof(double) != 0) {
      Napi::RangeError::New(env, "block is smaller than the layout needs (" +
                                     std::to_string(layout.total_bytes()) + " bytes)")
          .ThrowAsJavaScriptException();
      return;
    }
    // Holding the backing store (not the JS object) keeps the memory the monitor writes
    // valid until Shutdown(), whatever JS drops meanwhile.
    block_store_ = BackingStoreOf(view);
    if (block_store_ != nullptr) g_live_blocks.fetch_add(1, std::memory_order_relaxed);
    if (block_store_ == nullptr) {
      ThrowSamplerError(env, "ERR_SAMPLER_BLOCK", "cannot reach the shared block's memory");
      return;
    }
    EnvData* ed = GetEnvData(env);
    int uv_err = 0;
    monitor_ = Monitor::Create(
        env, ed->isolate, ed->loop, static_cast<double*>(data), layout,
        MonitorOptions{refresh_ms, delay_ms, wd_threshold_ms, wd_interval_ms, capture_stack,
                       wd_threshold_ms != 0 ? profile_ms : 0, v8_histograms, cgroup_mode,
                       cgroup_root.c_str(), probe_ms, loop_totals},
        ed->space_count, &uv_err);
    if (monitor_ == nullptr) {
      ReleaseBlock();
      ThrowSamplerError(env, "ERR_SAMPLER_NATIVE",
                        std::string("cannot set up the loop handles: ") + uv_strerror(uv_err));
      return;
    }
    monitor_->SetOwnerSlot(&monitor_);
    block_data_ = data;
    block_bytes_ = layout.total_bytes();
  }

  ~NativeSampler() override {
    Shutdown();
    g_live_samplers.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  bool Live(Napi::Env env) {
    if (monitor_ != nullptr) return true;
    ThrowSamplerError(env, "ERR_SAMPLER_CLOSED", "the sampler is closed");
    return false;
  }

  void Shutdown() {
    if (monitor_ != nullptr) {
      Monitor* m = monitor_;
      monitor_ = nullptr;
      m->Close();
    }
    // close(), a worker's teardown, or the object's finalizer: the published file goes
    // (only a process that dies without any of them leaves it, for post-mortem reading).
    if (!published_name_.empty()) {
      Unpublish(published_dir_, published_name_);
      published_name_.clear();
    }
    // The monitor wrote its last (writer-closed) before Close() returned; the uv close
    // callbacks still to come do not touch the block.
    ReleaseBlock();
  }

  void ReleaseBlock() {
    if (block_store_ == nullptr) return;
    block_store_.reset();
    g_live_blocks.fetch_sub(1, std::memory_order_relaxed);
  }

  static void DeleteOrphan(void* self) { delete static_cast<NativeSampler*>(self); }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return {};
    monitor_->Start();
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (monitor_ != nullptr) monitor_->Stop();
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }
  Napi::Value Refresh(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return {};
    monitor_->Refresh();
    return info.Env().Undefined();
  }

  // loopClock(): what times loop iterations: "tsc", "calibrating" (the monotonic clock
  // until the TSC rate is known) or "monotonic".
  Napi::Value LoopClock(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return {};
    return Napi::String::New(info.Env(), monitor_->loop_clock());
  }

  // loopTiming(): how loop time is taken: "iteration" or "totals" (Monitor::loop_timing).
  Napi::Value LoopTiming(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return {};
    return Napi::String::New(info.Env(), monitor_->loop_timing());
  }

  // loopIdleRead(): how the loop hook reads libuv's idle time: "direct", "verifying" or
  // "locked" (Monitor::loop_idle_read).
  Napi::Value LoopIdleRead(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return {};
    return Napi::String::New(info.Env(), monitor_->loop_idle_read());
  }

  // keepPublished(): the published file stays when this sampler shuts down (an exit that
  // is a failure: its last state is kept for post-mortem reading).
  Napi::Value KeepPublished(const Napi::CallbackInfo& info) {
    published_name_.clear();
    return info.Env().Undefined();
  }

  // watchdogError(): the errno of a watchdog thread that failed to start, else 0.
  Napi::Value WatchdogError(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return {};
    return Napi::Number::New(info.Env(), monitor_->watchdog_error());
  }

  // stallProfile(slot, id): the finished stall profile a stall record names, or null when
  // its slot has been reused. Frames are [name, url, scriptId, line, column] (1-based, as
  // V8 gives them); sample i's frame ids, leaf first, are ids[offsets[i], offsets[i + 1]).
  Napi::Value StallProfileOf(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Live(env)) return {};
    uint32_t slot;
    if (!GetUint32(info[0], "slot", 0, profile::kSlots - 1, &slot)) return {};
    if (!info[1].IsNumber()) {
      Napi::TypeError::New(env, "id must be a number").ThrowAsJavaScriptException();
      return {};
    }
    const double id = info[1].As<Napi::Number>().DoubleValue();
    if (!(id >= 1 && id <= 9007199254740991.0)) return env.Null();
    const StallProfile* p = monitor_->FinishedProfile(slot, static_cast<uint64_t>(id));
    if (p == nullptr) return env.Null();
    const uint32_t n = p->samples();
    Napi::Float64Array times = Napi::Float64Array::New(env, n);
    Napi::Uint32Array offsets = Napi::Uint32Array::New(env, n + 1);
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t depth;
      p->sample_frames(i, &depth);
      times[i] = static_cast<double>(p->sample_time(i));
      offsets[i] = total;
      total += depth;
    }
    offsets[n] = total;
    Napi::Uint16Array ids = Napi::Uint16Array::New(env, total);
    for (uint32_t i = 0, at = 0; i < n; i++) {
      uint32_t depth;
      const uint16_t* f = p->sample_frames(i, &depth);
      for (uint32_t j = 0; j < depth; j++) ids[at++] = f[j];
    }
    Napi::Array frames = Napi::Array::New(env, p->frames());
    for (uint32_t i = 0; i < p->frames(); i++) {
      const ProfileFrame& f = p->frame(i);
      uint32_t len;
      Napi::Array row = Napi::Array::New(env, 5);
      const char* name = p->string(f.name, &len);
      row.Set(0u, Napi::String::New(env, name, len));
      const char* url = p->string(f.url, &len);
      row.Set(1u, Napi::String::New(env, url, len));
      row.Set(2u, Napi::Number::New(env, f.script_id));
      row.Set(3u, Napi::Number::New(env, f.line));
      row.Set(4u, Napi::Number::New(env, f.column));
      frames.Set(i, row);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("endNs", Napi::Number::New(env, static_cast<double>(p->end_ns())));
    o.Set("times", times);
    o.Set("offsets", offsets);
    o.Set("ids", ids);
    o.Set("frames", frames);
    o.Set("dropped", Napi::Number::New(env, p->dropped()));
    o.Set("truncated", Napi::Number::New(env, p->truncated()));
    o.Set("framesLost", Napi::Number::New(env, p->frames_lost()));
    o.Set("missed", Napi::Number::New(env, p->missed()));
    return o;
  }

  // alias(): a plain (non-shared) ArrayBuffer over the same memory, for the owning
  // thread's reads. V8 copies out of a SharedArrayBuffer with relaxed-atomic moves,
  // about twice the cost of a plain copy; on the owning thread the writer never runs
  // during a read (it writes from GC and loop callbacks, and read(into) neither
  // allocates nor yields), so the plain view is safe there. Other threads use the
  // SharedArrayBuffer and the seqlock. The alias's backing store holds a reference to the
  // block's, so the memory outlives every object over either buffer (the JS fields are
  // private only to TypeScript: anyone can keep the alias past close() and a GC).
  // Returns undefined where the runtime forbids external buffers (V8 sandbox builds).
  Napi::Value Alias(const Napi::CallbackInfo& info) {
    if (!Live(info.Env())) return {};
#if defined(V8_ENABLE_SANDBOX)
    return info.Env().Undefined();
#else
    auto* keep = new (std::nothrow) std::shared_ptr<v8::BackingStore>(block_store_);
    if (keep == nullptr) return info.Env().Undefined();
    std::unique_ptr<v8::BackingStore> store =
        v8::ArrayBuffer::NewBackingStore(block_data_, block_bytes_, ReleaseAliasedBlock, keep);
    v8::Local<v8::ArrayBuffer> ab =
        v8::ArrayBuffer::New(GetEnvData(info.Env())->isolate, std::move(store));
    return Napi::Value(info.Env(), FromV8(ab));
#endif
  }

  Monitor* monitor_ = nullptr;
  std::string published_dir_, published_name_;
  std::shared_ptr<v8::BackingStore> block_store_;
  void* block_data_ = nullptr;
  size_t block_bytes_ = 0;
};

}  // namespace

// trimMemory(): returns freed heap memory to the system where the C library can
// (glibc's malloc_trim), so that a test's RSS measures what the process holds rather than
// what the allocator keeps for reuse. Returns whether it could.
Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  malloc_trim(0);
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// aliasOf(sab): a plain ArrayBuffer over a SharedArrayBuffer's memory, holding a reference
// to its backing store (as alias() does for the owner). For readers of a block another
// thread or process writes: copying out of a plain buffer is about twice as fast, and the
// seqlock (its sequence words read with Atomics) tells a torn copy as it does for the
// SharedArrayBuffer. undefined where the runtime forbids external buffers (V8 sandbox).
Napi::Value AliasOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  v8::Local<v8::Value> v = ToV8(info[0]);
  if (info.Length() < 1 || v.IsEmpty() || !v->IsSharedArrayBuffer()) {
    Napi::TypeError::New(env, "aliasOf(buffer): buffer must be a SharedArrayBuffer")
        .ThrowAsJavaScriptException();
    return {};
  }
#if defined(V8_ENABLE_SANDBOX)
  return env.Undefined();
#else
  std::shared_ptr<v8::BackingStore> store = v.As<v8::SharedArrayBuffer>()->GetBackingStore();
  if (store == nullptr || store->Data() == nullptr || store->ByteLength() == 0)
    return env.Undefined();
  auto* keep = new (std::nothrow) std::shared_ptr<v8::BackingStore>(store);
  if (keep == nullptr) return env.Undefined();
  std::unique_ptr<v8::BackingStore> alias = v8::ArrayBuffer::NewBackingStore(
      store->Data(), store->ByteLength(), ReleaseAliasedBlock, keep);
  v8::Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(EnvIsolate(env), std::move(alias));
  return Napi::Value(env, FromV8(ab));
#endif
}

// liveObjects(): native samplers and monitors alive in the process.
Napi::Value LiveObjects(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("samplers", g_live_samplers.load(std::memory_order_relaxed));
  o.Set("blocks", g_live_blocks.load(std::memory_order_relaxed));
  o.Set("monitors", g_live_monitors.load(std::memory_order_relaxed));
  o.Set("v8HistogramUnattributedSamples", static_cast<double>(V8HistogramUnattributedSamples()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  EnvData* data = new EnvData();
  // Module init runs on the environment's own thread with its isolate entered, so the
  // current isolate is this environment's; we keep it rather than asking again later.
  data->isolate = v8::Isolate::GetCurrent();
  data->loop = nullptr;
  if (napi_get_uv_event_loop(env, &data->loop) != napi_ok || data->loop == nullptr ||
      data->isolate == nullptr) {
    delete data;
    Napi::Error::New(env, "runtime-sampler: cannot reach the environment's isolate or loop")
        .ThrowAsJavaScriptException();
    return exports;
  }
  size_t spaces = data->isolate->NumberOfHeapSpaces();
  data->space_count = static_cast<uint32_t>(spaces < k::MAX_SPACES ? spaces : k::MAX_SPACES);
  env.SetInstanceData(data);

  exports.Set("constants", Constants(env));
  exports.Set("computeLayout", Napi::Function::New(env, ComputeLayoutJs, "computeLayout"));
  exports.Set("heapSpaceNames", Napi::Function::New(env, HeapSpaceNames, "heapSpaceNames"));
  exports.Set("heapSpaceCountTotal", static_cast<double>(spaces));
  exports.Set("bucketIndex", Napi::Function::New(env, BucketIndexJs, "bucketIndex"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("trimMemory", Napi::Function::New(env, TrimMemory, "trimMemory"));
  exports.Set("liveObjects", Napi::Function::New(env, LiveObjects, "liveObjects"));
  exports.Set("aliasOf", Napi::Function::New(env, AliasOf, "aliasOf"));
  // The ABI this binary was compiled against. It is registered through Node-API, which
  // Node does not ABI-check, but it calls V8 and libuv directly: the loader compares.
  exports.Set("moduleVersion", NODE_MODULE_VERSION);
  exports.Set("uvVersion", uv_version_string());
  exports.Set("v8Version", v8::V8::GetVersion());
#if UV_VERSION_HEX >= ((1 << 16) | (45 << 8))
  exports.Set("uvMetricsInfo", true);
#else
  exports.Set("uvMetricsInfo", false);
#endif
  {
    uint32_t count = 0;
    const char* const* names = GcReasonNames(&count);
    Napi::Array list = Napi::Array::New(env, count);
    for (uint32_t i = 0; i < count; i++) list.Set(i, Napi::String::New(env, names[i]));
    exports.Set("gcReasonNames", list);
    // The highest code of the V8 this was built against: a test checks the names cover it.
    exports.Set("gcReasonMaxValue", v8::internal::kGarbageCollectionReasonMaxValue);
  }
  exports.Set("NativeSampler", NativeSampler::Define(env));
  InitPublish(env, exports);
  return exports;
}

}  // namespace rs

static Napi::Object InitRuntimeSampler(Napi::Env env, Napi::Object exports) {
  return rs::Init(env, exports);
}

NODE_API_MODULE(runtime_sampler, InitRuntimeSampler)
