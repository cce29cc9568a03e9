// Publishing a sampler's block in a file, and opening another process's (core/published.h
// does the file-system work; this file turns mappings into SharedArrayBuffers). The
// writer's block is the file's mapping itself: the monitor writes it exactly as it writes
// process memory. A reader's is a private, copy-on-write mapping of a file it opened
// read-only. Either mapping is unmapped when V8 frees the buffer's backing store (the
// NativeSampler holds the writer's until it is closed).
#pragma push_macro("NAPI_VERSION")
#undef NAPI_VERSION
#include <node_version.h>
#undef NAPI_VERSION
#pragma pop_macro("NAPI_VERSION")

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>
#include <string>

#include "addon.h"
#include "core/layout.h"
#include "core/layout_hash.h"
#include "core/proc.h"
#include "core/published.h"
#include "core/slot_access.h"

namespace rs {
namespace {

const char* StatusCode(pub::Status s) {
  switch (s) {
    case pub::Status::kIncompatible: return "ERR_SAMPLER_INCOMPATIBLE";
    case pub::Status::kInvalid: return "ERR_SAMPLER_INVALID";
    default: return "ERR_SAMPLER_REFUSED";
  }
}

bool GetString(const Napi::Value& v, const char* name, std::string* out) {
  if (!v.IsString()) {
    Napi::TypeError::New(v.Env(), std::string(name) + " must be a string")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    Napi::TypeError::New(v.Env(), std::string(name) + " must not contain NUL")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool GetNumber(const Napi::Value& v, const char* name, double min, double max, double* out) {
  if (!v.IsNumber()) {
    Napi::TypeError::New(v.Env(), std::string(name) + " must be a number")
        .ThrowAsJavaScriptException();
    return false;
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Napi::RangeError::New(v.Env(), std::string(name) + " must be an integer in [" +
                                       std::to_string(static_cast<int64_t>(min)) + ", " +
                                       std::to_string(static_cast<int64_t>(max)) + "]")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = d;
  return true;
}

#if !defined(V8_ENABLE_SANDBOX)
// The backing store's deleter (V8 calls it on any thread once no buffer uses the memory).
void UnmapStore(void* /*data*/, size_t /*length*/, void* deleter_data) {
  auto* m = static_cast<pub::Mapping*>(deleter_data);
  m->Unmap();
  delete m;
}

// A SharedArrayBuffer over the block of `m`, owning the mapping (unmapped when freed).
Napi::Value BlockBuffer(Napi::Env env, const pub::Mapping& m) {
  auto* keep = new (std::nothrow) pub::Mapping(m);
  if (keep == nullptr) {
    pub::Mapping copy = m;
    copy.Unmap();
    ThrowSamplerError(env, "ERR_SAMPLER_NATIVE", "out of memory");
    return {};
  }
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(
      m.block(), static_cast<size_t>(m.block_bytes), UnmapStore, keep);
  v8::Local<v8::SharedArrayBuffer> sab =
      v8::SharedArrayBuffer::New(EnvIsolate(env), std::move(store));
  return Napi::Value(env, FromV8(sab));
}
#endif

// publishBlock(dir, name, blockBytes, threadId, workerId, nodeVersion, title, meta):
// creates <dir>/<name> (dir made 0700 if missing, used only if it is ours and private),
// writes the header and returns a SharedArrayBuffer of blockBytes over the file's block.
// Throws SamplerError ERR_SAMPLER_PUBLISH naming what was refused.
Napi::Value PublishBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir, name, node_version, title, meta;
  double block_bytes, thread_id, worker_id;
  if (!GetString(info[0], "dir", &dir) || !GetString(info[1], "name", &name) ||
      !GetNumber(info[2], "blockBytes", 8,
                 static_cast<double>(pub::kMaxFileBytes - pub::kHeaderBytes), &block_bytes) ||
      !GetNumber(info[3], "threadId", 0, 9007199254740991.0, &thread_id) ||
      !GetNumber(info[4], "workerId", -1, 2147483647.0, &worker_id) ||
      !GetString(info[5], "nodeVersion", &node_version) || !GetString(info[6], "title", &title) ||
      !GetString(info[7], "meta", &meta)) {
    return {};
  }
  if (meta.size() >= sizeof(pub::Header::meta)) {
    Napi::RangeError::New(env, "meta is " + std::to_string(meta.size()) + " bytes, at most " +
                                   std::to_string(sizeof(pub::Header::meta) - 1))
        .ThrowAsJavaScriptException();
    return {};
  }
#if defined(V8_ENABLE_SANDBOX)
  ThrowSamplerError(env, "ERR_SAMPLER_PUBLISH",
                    "this runtime's V8 sandbox allows no buffer over a mapped file");
  return {};
#else
  int dir_fd = -1;
  pub::Result r = pub::OpenDirectory(dir.c_str(), geteuid(), &dir_fd);
  if (!r.ok()) {
    ThrowSamplerError(env, "ERR_SAMPLER_PUBLISH", r.message);
    return {};
  }
  pub::Mapping m;
  r = pub::CreateFile(dir_fd, name.c_str(), static_cast<uint64_t>(block_bytes), &m);
  close(dir_fd);
  if (!r.ok()) {
    ThrowSamplerError(env, "ERR_SAMPLER_PUBLISH", dir + ": " + r.message);
    return {};
  }
  pub::Header* h = m.header();
  h->layout_version = k::LAYOUT_VERSION;
  h->abi = NODE_MODULE_VERSION;
  h->layout_hash = kLayoutHash;
  h->pid = static_cast<int64_t>(getpid());
  h->thread_id = static_cast<int64_t>(thread_id);
  h->start_ticks = proc::StartTicks(h->pid);
  h->worker_id = static_cast<int32_t>(worker_id);
  pub::SetText(h->node_version, node_version.c_str());
  pub::SetText(h->title, title.c_str());
  pub::SetText(h->meta, meta.c_str());
  pub::Seal(h);
  return BlockBuffer(env, m);
#endif
}

// unpublish(dir, name): removes <dir>/<name> if the directory is still ours. Returns whether
// a file was removed.
Napi::Value UnpublishJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir, name;
  if (!GetString(info[0], "dir", &dir) || !GetString(info[1], "name", &name)) return {};
  if (name.empty() || name[0] == '.' || name.find('/') != std::string::npos) {
    Napi::TypeError::New(env, "name must be a plain file name").ThrowAsJavaScriptException();
    return {};
  }
  return Napi::Boolean::New(env, Unpublish(dir, name));
}

// openPublished(path, withBuffer): maps a published file after validating it; returns
// { pid, threadId, startTicks, workerId, abi, layoutHash, nodeVersion, title, meta,
// timeNs, writerClosed } and, withBuffer, `buffer` (the block; else it is unmapped at once).
// timeNs and writerClosed are the block's MAIN_TIME_NS and MAIN_WRITER_CLOSED slots as
// they are now (NaN when the block is too small to hold them).
// Throws SamplerError: ERR_SAMPLER_REFUSED (not ours, a symlink, unreadable),
// ERR_SAMPLER_INVALID (malformed), ERR_SAMPLER_INCOMPATIBLE (another format or layout).
Napi::Value OpenPublished(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  bool with_buffer = true;
  if (!GetString(info[0], "path", &path)) return {};
  if (info.Length() > 1) {
    if (!info[1].IsBoolean()) {
      Napi::TypeError::New(env, "withBuffer must be a boolean").ThrowAsJavaScriptException();
      return {};
    }
    with_buffer = info[1].As<Napi::Boolean>().Value();
  }
#if defined(V8_ENABLE_SANDBOX)
  if (with_buffer) {
    ThrowSamplerError(env, "ERR_SAMPLER_REFUSED",
                      "this runtime's V8 sandbox allows no buffer over a mapped file");
    return {};
  }
#endif
  pub::Mapping m;
  pub::Header h;
  pub::Result r = pub::OpenForRead(path.c_str(), geteuid(), k::LAYOUT_VERSION, &m, &h);
  if (!r.ok()) {
    ThrowSamplerError(env, StatusCode(r.status), r.message);
    return {};
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", static_cast<double>(h.pid));
  o.Set("threadId", static_cast<double>(h.thread_id));
  o.Set("startTicks", static_cast<double>(h.start_ticks));
  o.Set("workerId", static_cast<double>(h.worker_id));
  o.Set("abi", static_cast<double>(h.abi));
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(h.layout_hash));
  o.Set("layoutHash", hash);
  // Header text is whatever bytes the file holds: invalid UTF-8 becomes U+FFFD.
  o.Set("nodeVersion", Napi::String::New(env, h.node_version));
  o.Set("title", Napi::String::New(env, h.title));
  o.Set("meta", Napi::String::New(env, h.meta));
  // Two slots, each one aligned 8-byte load within the validated size.
  double time_ns = NAN, closed = NAN;
  if ((static_cast<uint64_t>(MAIN_TIME_NS) + 1) * sizeof(double) <= m.block_bytes)
    time_ns = LoadSlot(m.block() + MAIN_TIME_NS);
  if ((static_cast<uint64_t>(MAIN_WRITER_CLOSED) + 1) * sizeof(double) <= m.block_bytes)
    closed = LoadSlot(m.block() + MAIN_WRITER_CLOSED);
  o.Set("timeNs", time_ns);
  o.Set("writerClosed", closed);
#if defined(V8_ENABLE_SANDBOX)
  m.Unmap();
#else
  if (!with_buffer) {
    m.Unmap();
    return o;
  }
  Napi::Value buffer = BlockBuffer(env, m);
  if (buffer.IsEmpty()) return {};
  o.Set("buffer", buffer);
#endif
  return o;
}

// processAlive(pid, startTicks): whether the process that wrote a file still runs (the pid
// exists, is no zombie, and started at startTicks: a reused pid is another process).
Napi::Value ProcessAlive(const Napi::CallbackInfo& info) {
  double pid, ticks;
  if (!GetNumber(info[0], "pid", 1, 2147483647.0, &pid) ||
      !GetNumber(info[1], "startTicks", 0, 9007199254740991.0, &ticks)) {
    return {};
  }
  return Napi::Boolean::New(info.Env(),
                            proc::Alive(static_cast<int64_t>(pid), static_cast<uint64_t>(ticks)));
}

}  // namespace

bool Unpublish(const std::string& dir, const std::string& name) {
  if (name.empty() || name[0] == '.' || name.find('/') != std::string::npos) return false;
  int dir_fd = -1;
  if (!pub::OpenDirectory(dir.c_str(), geteuid(), &dir_fd, false).ok()) return false;
  const bool removed = unlinkat(dir_fd, name.c_str(), 0) == 0;
  close(dir_fd);
  return removed;
}

void InitPublish(Napi::Env env, Napi::Object exports) {
  exports.Set("publishBlock", Napi::Function::New(env, PublishBlock, "publishBlock"));
  exports.Set("unpublish", Napi::Function::New(env, UnpublishJs, "unpublish"));
  exports.Set("openPublished", Napi::Function::New(env, OpenPublished, "openPublished"));
  exports.Set("processAlive", Napi::Function::New(env, ProcessAlive, "processAlive"));
  exports.Set("publishHeaderBytes", static_cast<double>(pub::kHeaderBytes));
  exports.Set("publishMaxFileBytes", static_cast<double>(pub::kMaxFileBytes));
}

}  // namespace rs
