// Which process a published file belongs to, and whether that process still runs: a pid
// alone is not enough (pids are reused), so a file also records the process's start time
// (field 22 of /proc/<pid>/stat, clock ticks since boot), and a process is the file's only
// when both match.
#ifndef RUNTIME_SAMPLER_CORE_PROC_H_
#define RUNTIME_SAMPLER_CORE_PROC_H_

#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "decimal.h"

namespace rs {
namespace proc {

// What a /proc/<pid>/stat line says about its process.
struct Stat {
  char state = 0;            // field 3: R, S, D, Z (zombie), X (dead), ...
  uint64_t start_ticks = 0;  // field 22: clock ticks since boot
};

// Parses a /proc/<pid>/stat line; false when it is malformed. The second field, the command
// name in parentheses, may itself hold spaces and parentheses: the fields after it start
// after the LAST ')'.
inline bool ParseStat(const char* line, size_t len, Stat* out) {
  const char* end = line + len;
  const char* close = nullptr;
  for (const char* p = line; p < end; p++)
    if (*p == ')') close = p;
  if (close == nullptr || close + 2 >= end || close[1] != ' ') return false;
  Stat st;
  st.state = close[2];
  // From field 3 (the state), skip to field 22 (starttime).
  const char* p = close + 2;
  int field = 3;
  while (p < end && field < 22) {
    if (*p == ' ') {
      field++;
      while (p < end && *p == ' ') p++;
      continue;
    }
    p++;
  }
  if (field != 22 || p >= end) return false;
  uint64_t v = 0;
  if (!ParseU64(&p, end, &v) || (p < end && *p != ' ' && *p != '\n')) return false;
  st.start_ticks = v;
  *out = st;
  return true;
}

// /proc/<pid>/stat of `pid`; false when there is no such process or it cannot be read.
inline bool ReadStat(int64_t pid, Stat* out) {
  if (pid <= 0 || pid > 0x7fffffff) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%lld/stat", static_cast<long long>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // A stat line is well under 1 KiB; the command name is at most 16 bytes.
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return false;
  return ParseStat(buf, static_cast<size_t>(n), out);
}

// The start time of `pid`, or 0 when it has none.
inline uint64_t StartTicks(int64_t pid) {
  Stat st;
  return ReadStat(pid, &st) ? st.start_ticks : 0;
}

// Whether the process that wrote a file (pid, start ticks) still runs. A pid that exists
// but started at another time is a different process, and a zombie has ended: in both
// cases the writer is gone.
inline bool Alive(int64_t pid, uint64_t start_ticks) {
  Stat st;
  if (!ReadStat(pid, &st)) return false;
  return st.state != 'Z' && st.state != 'X' && st.start_ticks == start_ticks;
}

}  // namespace proc
}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_PROC_H_
