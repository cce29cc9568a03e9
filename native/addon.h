// What addon.cc shares with the other files that define JavaScript functions: the
// environment's isolate, SamplerError, and the conversion between Node-API values and V8
// handles (for the backing stores Node-API does not expose).
#ifndef RUNTIME_SAMPLER_ADDON_H_
#define RUNTIME_SAMPLER_ADDON_H_

#include <napi.h>
#include <v8.h>

#include <string>

namespace rs {

// The environment's isolate (kept at module init).
v8::Isolate* EnvIsolate(Napi::Env env);

// Throws the JS-defined SamplerError (handed over by setErrorClass) with a stable code.
void ThrowSamplerError(Napi::Env env, const char* code, const std::string& message);

v8::Local<v8::Value> ToV8(napi_value v);
napi_value FromV8(v8::Local<v8::Value> local);

// Removes <dir>/<name> if the directory is still ours and private; whether it did.
bool Unpublish(const std::string& dir, const std::string& name);

// Adds publishBlock, unpublish, openPublished and processAlive (publish.cc).
void InitPublish(Napi::Env env, Napi::Object exports);

}  // namespace rs

#endif  // RUNTIME_SAMPLER_ADDON_H_
