// A minimal assertion helper for the native core tests (no framework to install).
#ifndef RUNTIME_SAMPLER_TEST_CHECK_H_
#define RUNTIME_SAMPLER_TEST_CHECK_H_

#include <cstdio>
#include <cstdlib>

static int g_failures = 0;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      g_failures++;                                                                 \
    }                                                                               \
  } while (0)

#define CHECK_EQ(a, b)                                                                      \
  do {                                                                                      \
    auto va = (a);                                                                          \
    auto vb = (b);                                                                          \
    if (!(va == vb)) {                                                                      \
      std::fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%.17g vs %.17g)\n", __FILE__, \
                   __LINE__, #a, #b, static_cast<double>(va), static_cast<double>(vb));     \
      g_failures++;                                                                         \
    }                                                                                       \
  } while (0)

inline int Finish(const char* name) {
  if (g_failures == 0) {
    std::printf("%s: ok\n", name);
    return 0;
  }
  std::printf("%s: %d failure(s)\n", name, g_failures);
  return 1;
}

#endif  // RUNTIME_SAMPLER_TEST_CHECK_H_
