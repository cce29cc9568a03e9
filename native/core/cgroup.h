// Container limits and pressure, from the process's own cgroup (v1 and v2).
//
// Where the files are is resolved once (Reader::Open): /proc/self/cgroup says which cgroup
// the process is in, per hierarchy; /proc/self/mountinfo says where each hierarchy is
// mounted (or a given root stands for the mounts, for tests and unusual layouts). The
// refresh timer then re-reads the few interface files through descriptors kept open
// (pread at offset 0 makes the kernel generate the text again), never on the read path.
//
// Every read is bounded: a file is read into a fixed buffer of kMaxFileBytes, only regular
// files are read (a FIFO, a device or a directory in a hostile root is refused without
// blocking), and the line readers of /proc/self/{cgroup,mountinfo} keep one line at a time
// in a fixed buffer and stop after kMaxListingBytes. Nothing here allocates.
#ifndef RUNTIME_SAMPLER_CORE_CGROUP_H_
#define RUNTIME_SAMPLER_CORE_CGROUP_H_

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "decimal.h"

namespace rs {
namespace cgroup {

// The largest interface file parsed: memory.stat (v1: ~900 bytes, v2 on Linux 6: ~1.6 KiB,
// its inactive_file in the first ~600) is below it; cpu.stat (v2: ~200 bytes, v1: ~100),
// memory.events (~100) and the PSI files (~110) far below.
constexpr size_t kMaxFileBytes = 4096;
// Paths (PATH_MAX): a longer cgroup path cannot be opened anyway.
constexpr size_t kMaxPath = 4096;
// One line of /proc/self/mountinfo or /proc/self/cgroup; longer lines (overlay mounts with
// many layers) are skipped: they are never cgroup mounts we could use.
constexpr size_t kMaxLine = 8192;
// The most of /proc/self/{cgroup,mountinfo} read: a host with tens of thousands of mounts
// has a few MiB of mountinfo.
constexpr size_t kMaxListingBytes = 16u << 20;
// A v1 limit at or above this is "no limit": the kernel shows an unset limit as LONG_MAX
// rounded down to a page (9223372036854771712 with 4 KiB pages), and no machine has 4 EiB.
constexpr double kNoLimitAtLeast = 4611686018427387904.0;  // 2^62

inline double NaN() { return __builtin_nan(""); }
inline double Inf() { return __builtin_inf(); }

// What the cgroup says, one reading. NaN where it does not say; +Inf for "no limit".
struct Values {
  double version = 0;  // 1, 2, or 0 when no cgroup was found
  double memory_limit_bytes = NaN();
  double memory_high_bytes = NaN();
  double memory_usage_bytes = NaN();
  // usage − inactive file pages (memory.stat): what cAdvisor and the kubelet call the
  // working set; the page cache the kernel would reclaim before an OOM kill is left out.
  double memory_working_set_bytes = NaN();
  double memory_high_events = NaN();
  double memory_max_events = NaN();
  double oom_events = NaN();
  double oom_kill_events = NaN();
  double cpu_quota_cores = NaN();
  double cpu_periods = NaN();
  double cpu_throttled_periods = NaN();
  double cpu_throttled_ns = NaN();
  double memory_pressure_some_ns = NaN();
  double memory_pressure_full_ns = NaN();
  double cpu_pressure_some_ns = NaN();
  double cpu_pressure_full_ns = NaN();
};

// ---- the interface files' formats (pure functions over text) ----

inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// [s, s + n) without leading and trailing white space.
inline void Trim(const char** s, size_t* n) {
  const char* b = *s;
  const char* e = b + *n;
  while (b < e && IsSpace(*b)) b++;
  while (e > b && IsSpace(e[-1])) e--;
  *s = b;
  *n = static_cast<size_t>(e - b);
}

// The whole of [s, s + n) (trimmed) as an unsigned decimal, else false.
inline bool WholeU64(const char* s, size_t n, uint64_t* out) {
  Trim(&s, &n);
  const char* p = s;
  return ParseU64(&p, s + n, out) && p == s + n;
}

// A count or a byte value (memory.current, memory.failcnt): NaN when the text is not one
// unsigned decimal.
inline double ParseCount(const char* s, size_t n) {
  uint64_t v;
  return WholeU64(s, n, &v) ? static_cast<double>(v) : NaN();
}

// A byte limit: v2's "max" and v1's page-rounded LONG_MAX are +Inf.
inline double ParseLimit(const char* s, size_t n) {
  Trim(&s, &n);
  if (n == 3 && std::memcmp(s, "max", 3) == 0) return Inf();
  const double v = ParseCount(s, n);
  return v >= kNoLimitAtLeast ? Inf() : v;
}

// v1 cpu.cfs_quota_us: -1 is no quota (+Inf), else the µs per period.
inline double ParseQuotaUs(const char* s, size_t n) {
  Trim(&s, &n);
  if (n == 2 && s[0] == '-' && s[1] == '1') return Inf();
  return ParseCount(s, n);
}

// CPUs the quota allows (quota / period): +Inf without a quota, NaN when either is unknown
// or the period is 0.
inline double QuotaCores(double quota_us, double period_us) {
  if (quota_us != quota_us || period_us != period_us || !(period_us > 0)) return NaN();
  if (quota_us == Inf()) return Inf();
  return quota_us / period_us;
}

// v2 cpu.max, "$MAX $PERIOD" ("max 100000": no quota): CPUs as QuotaCores.
inline double ParseCpuMax(const char* s, size_t n) {
  Trim(&s, &n);
  const char* end = s + n;
  const char* p = s;
  double quota;
  if (n >= 3 && std::memcmp(s, "max", 3) == 0) {
    quota = Inf();
    p = s + 3;
  } else {
    uint64_t q;
    if (!ParseU64(&p, end, &q)) return NaN();
    quota = static_cast<double>(q);
  }
  if (p == end || (*p != ' ' && *p != '\t')) return NaN();
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  uint64_t period;
  if (!ParseU64(&p, end, &period) || p != end) return NaN();
  return QuotaCores(quota, static_cast<double>(period));
}

// Calls fn(line, length) for each line of [s, s + n) (without its '\n').
template <typename Fn>
inline void ForEachLine(const char* s, size_t n, Fn fn) {
  const char* end = s + n;
  while (s < end) {
    const char* nl = static_cast<const char*>(std::memchr(s, '\n', static_cast<size_t>(end - s)));
    const char* e = nl != nullptr ? nl : end;
    fn(s, static_cast<size_t>(e - s));
    s = nl != nullptr ? nl + 1 : end;
  }
}

// The value of `key` in "key value" lines (memory.events, cpu.stat, memory.oom_control):
// NaN when no line has that key or its value is not an unsigned decimal.
inline double KeyValue(const char* s, size_t n, const char* key) {
  const size_t klen = std::strlen(key);
  double out = NaN();
  bool found = false;
  ForEachLine(s, n, [&](const char* line, size_t len) {
    if (found || len <= klen || std::memcmp(line, key, klen) != 0) return;
    if (line[klen] != ' ' && line[klen] != '\t') return;
    found = true;
    out = ParseCount(line + klen, len - klen);
  });
  return out;
}

// The total= of the "some" or "full" line of a PSI file ("some avg10=0.00 avg60=0.00
// avg300=0.00 total=12345"), µs; NaN when that line or its total is missing (cpu "full"
// before Linux 5.13).
inline double PsiTotalUs(const char* s, size_t n, const char* kind) {
  const size_t klen = std::strlen(kind);
  double out = NaN();
  bool found = false;
  ForEachLine(s, n, [&](const char* line, size_t len) {
    if (found || len <= klen || std::memcmp(line, kind, klen) != 0 || line[klen] != ' ') return;
    found = true;
    const char* end = line + len;
    for (const char* p = line + klen; p + 7 <= end; p++) {
      if (p[-1] != ' ' || std::memcmp(p, "total=", 6) != 0) continue;
      const char* q = p + 6;
      uint64_t v;
      if (ParseU64(&q, end, &v) && (q == end || IsSpace(*q))) out = static_cast<double>(v);
      return;
    }
  });
  return out;
}

// The working set: usage less the inactive file pages, never below 0 (the two files are
// read at different moments); NaN unless both are known.
inline double WorkingSet(double usage, double inactive_file) {
  if (usage != usage || inactive_file != inactive_file) return NaN();
  return usage > inactive_file ? usage - inactive_file : 0;
}

// ---- /proc/self/cgroup ----

// Which cgroup the process is in, per hierarchy it cares about (paths as the kernel shows
// them: relative to the cgroup namespace's root, starting with '/').
struct Membership {
  bool has_v2 = false, has_memory = false, has_cpu = false;
  char v2[kMaxPath] = {};
  char memory[kMaxPath] = {};
  char cpu[kMaxPath] = {};
};

inline bool CopyPath(const char* s, size_t n, char* out) {
  if (n == 0 || n >= kMaxPath || s[0] != '/' || std::memchr(s, '\0', n) != nullptr) return false;
  std::memcpy(out, s, n);
  out[n] = '\0';
  return true;
}

// Whether `list` (comma-separated, [s, s + n)) holds `name`.
inline bool ListHas(const char* s, size_t n, const char* name) {
  const size_t len = std::strlen(name);
  const char* end = s + n;
  while (s < end) {
    const char* comma = static_cast<const char*>(std::memchr(s, ',', static_cast<size_t>(end - s)));
    const char* e = comma != nullptr ? comma : end;
    if (static_cast<size_t>(e - s) == len && std::memcmp(s, name, len) == 0) return true;
    s = comma != nullptr ? comma + 1 : end;
  }
  return false;
}

// One line: "hierarchy-id:controller,list:/path" (v1) or "0::/path" (v2). The path is the
// rest of the line after the second ':' (it may itself hold ':').
inline void ParseCgroupLine(const char* line, size_t n, Membership* m) {
  const char* end = line + n;
  const char* c1 = static_cast<const char*>(std::memchr(line, ':', n));
  if (c1 == nullptr) return;
  const char* c2 =
      static_cast<const char*>(std::memchr(c1 + 1, ':', static_cast<size_t>(end - c1 - 1)));
  if (c2 == nullptr) return;
  const char* ctl = c1 + 1;
  const size_t ctl_len = static_cast<size_t>(c2 - ctl);
  const char* path = c2 + 1;
  size_t path_len = static_cast<size_t>(end - path);
  while (path_len > 0 && (path[path_len - 1] == '\n' || path[path_len - 1] == '\r')) path_len--;
  if (c1 - line == 1 && line[0] == '0' && ctl_len == 0) {
    if (!m->has_v2) m->has_v2 = CopyPath(path, path_len, m->v2);
    return;
  }
  if (!m->has_memory && ListHas(ctl, ctl_len, "memory"))
    m->has_memory = CopyPath(path, path_len, m->memory);
  if (!m->has_cpu && ListHas(ctl, ctl_len, "cpu")) m->has_cpu = CopyPath(path, path_len, m->cpu);
}

inline void ParseCgroupFile(const char* s, size_t n, Membership* m) {
  ForEachLine(s, n, [m](const char* line, size_t len) { ParseCgroupLine(line, len, m); });
}

// ---- /proc/self/mountinfo ----

// A cgroup hierarchy's mount: the directory of the hierarchy it shows (root, relative to
// the hierarchy, as cgroup paths are) and where it is mounted.
struct Mount {
  bool found = false;
  bool matches = false;  // its root is a prefix of the process's path
  char root[kMaxPath] = {};
  char point[kMaxPath] = {};
};

struct Mounts {
  Mount v2, memory, cpu;
};

// mountinfo escapes space, tab, newline and backslash as \ooo. False when the result does
// not fit.
inline bool Unescape(const char* s, size_t n, char* out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      c = static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    }
    if (c == '\0' || o + 1 >= cap) return false;
    out[o++] = c;
  }
  out[o] = '\0';
  return o > 0;
}

// Whether `prefix` is `path` or a parent directory of it.
inline bool PathHasPrefix(const char* path, const char* prefix) {
  const size_t n = std::strlen(prefix);
  if (n == 1 && prefix[0] == '/') return path[0] == '/';
  return std::strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

// Keeps `candidate` in `slot` when it is the first mount of its kind, or the first whose
// root holds the process's path (bind mounts of other parts of a hierarchy come and go).
inline void Offer(Mount* slot, const char* root, const char* point, const char* self_path) {
  const bool matches = self_path != nullptr && PathHasPrefix(self_path, root);
  if (slot->found && (slot->matches || !matches)) return;
  slot->found = true;
  slot->matches = matches;
  std::snprintf(slot->root, sizeof slot->root, "%s", root);
  std::snprintf(slot->point, sizeof slot->point, "%s", point);
}

// Splits the next space-separated field of [*p, end).
inline bool NextField(const char** p, const char* end, const char** f, size_t* n) {
  const char* s = *p;
  while (s < end && *s == ' ') s++;
  if (s == end) return false;
  const char* e = s;
  while (e < end && *e != ' ') e++;
  *f = s;
  *n = static_cast<size_t>(e - s);
  *p = e;
  return true;
}

// One mountinfo line: "id parent major:minor root mount-point options [optional...] - type
// source super-options". cgroup2 mounts are the unified hierarchy; cgroup (v1) mounts name
// their controllers in the super options ("rw,cpu,cpuacct").
inline void ParseMountinfoLine(const char* line, size_t n, const Membership& self, Mounts* m) {
  const char* p = line;
  const char* end = line + n;
  const char* f[5];
  size_t fl[5];
  for (int i = 0; i < 5; i++)
    if (!NextField(&p, end, &f[i], &fl[i])) return;
  // Optional fields up to the lone "-".
  const char* t;
  size_t tl;
  for (;;) {
    if (!NextField(&p, end, &t, &tl)) return;
    if (tl == 1 && t[0] == '-') break;
  }
  const char* type;
  size_t type_len;
  const char* source;
  size_t source_len;
  const char* opts;
  size_t opts_len;
  if (!NextField(&p, end, &type, &type_len) || !NextField(&p, end, &source, &source_len) ||
      !NextField(&p, end, &opts, &opts_len)) {
    return;
  }
  const bool v2 = type_len == 7 && std::memcmp(type, "cgroup2", 7) == 0;
  const bool v1 = type_len == 6 && std::memcmp(type, "cgroup", 6) == 0;
  if (!v1 && !v2) return;
  char root[kMaxPath], point[kMaxPath];
  if (!Unescape(f[3], fl[3], root, sizeof root) || !Unescape(f[4], fl[4], point, sizeof point))
    return;
  if (root[0] != '/' || point[0] != '/') return;
  if (v2) {
    Offer(&m->v2, root, point, self.has_v2 ? self.v2 : nullptr);
    return;
  }
  if (ListHas(opts, opts_len, "memory"))
    Offer(&m->memory, root, point, self.has_memory ? self.memory : nullptr);
  if (ListHas(opts, opts_len, "cpu"))
    Offer(&m->cpu, root, point, self.has_cpu ? self.cpu : nullptr);
}

// ---- paths and files ----

inline bool IsDir(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

inline bool IsRegular(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// a + b into out; false when it does not fit.
inline bool Join(const char* a, const char* b, char* out, size_t cap) {
  const int n = std::snprintf(out, cap, "%s%s%s", a, (b[0] == '/' || b[0] == '\0') ? "" : "/", b);
  return n > 0 && static_cast<size_t>(n) < cap;
}

// The directory of the process's cgroup under a mount: the mount point plus the process's
// path relative to the mount's root. Inside a cgroup namespace the process's path is
// already relative to what is mounted (often "/"); when the joined path does not exist the
// mount itself is the process's cgroup (a container's own mount).
inline bool CgroupDir(const Mount& mount, const char* self_path, char* out, size_t cap) {
  const char* rel = self_path;
  const size_t root_len = std::strlen(mount.root);
  if (!(root_len == 1 && mount.root[0] == '/') && PathHasPrefix(self_path, mount.root))
    rel = self_path + root_len;
  if (Join(mount.point, rel, out, cap) && IsDir(out)) return true;
  std::snprintf(out, cap, "%s", mount.point);
  return IsDir(out);
}

// Under a given root (the cgroupRoot option): `dir` + the process's path when that exists,
// else `dir` itself.
inline bool DirUnder(const char* dir, bool has_self, const char* self_path, char* out, size_t cap) {
  if (!IsDir(dir)) return false;
  if (has_self && !(self_path[0] == '/' && self_path[1] == '\0') &&
      Join(dir, self_path, out, cap) && IsDir(out)) {
    return true;
  }
  std::snprintf(out, cap, "%s", dir);
  return true;
}

// Opens a file to read it again and again: only a regular file (cgroupfs and procfs files
// are), opened without blocking, so that a FIFO or a device in a hostile root is refused
// rather than waited on. -1 when missing or refused.
inline int OpenRegular(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads the file behind `fd` from its start into buf (at most cap - 1 bytes, NUL-ended).
// When the file fills the buffer, only its complete lines are kept: a value cut in the
// middle would read as another number. -1 on failure.
inline ssize_t ReadAt0(int fd, char* buf, size_t cap) {
  if (fd < 0 || cap < 2) return -1;
  ssize_t n;
  do {
    n = pread(fd, buf, cap - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  if (static_cast<size_t>(n) == cap - 1) {
    while (n > 0 && buf[n - 1] != '\n') n--;
  }
  buf[n] = '\0';
  return n;
}

// Calls fn(line, length) for each line of the file at `path`, one line at a time through a
// kMaxLine buffer; longer lines are skipped whole; stops after kMaxListingBytes. False when
// the file cannot be opened.
template <typename Fn>
inline bool ForEachFileLine(const char* path, Fn fn) {
  const int fd = OpenRegular(path);
  if (fd < 0) return false;
  char buf[kMaxLine];
  size_t have = 0;
  size_t total = 0;
  bool skipping = false;  // inside a line longer than the buffer
  for (;;) {
    if (have == sizeof buf) {
      // No newline in a full buffer: drop this line up to its end.
      have = 0;
      skipping = true;
    }
    ssize_t n = read(fd, buf + have, sizeof buf - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += static_cast<size_t>(n);
    have += static_cast<size_t>(n);
    size_t start = 0;
    for (;;) {
      char* nl = static_cast<char*>(std::memchr(buf + start, '\n', have - start));
      if (nl == nullptr) break;
      const size_t end = static_cast<size_t>(nl - buf);
      if (!skipping) fn(buf + start, end - start);
      skipping = false;
      start = end + 1;
    }
    std::memmove(buf, buf + start, have - start);
    have -= start;
    if (total >= kMaxListingBytes) {
      have = 0;
      break;
    }
  }
  if (have > 0 && !skipping) fn(buf, have);
  close(fd);
  return true;
}

// ---- the reader ----

// One sampler's cgroup files: resolved and opened by Open(), re-read by Read() on the
// refresh timer, closed by Close(). One thread uses it (the environment's JS thread).
class Reader {
 public:
  enum Mode { kOff = 0, kSystem = 1, kRoot = 2 };

  Reader() {
    for (int& fd : fds_) fd = -1;
  }
  ~Reader() { Close(); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // kSystem: the process's cgroups as mounted (proc_dir is where /proc is: "/proc" but in
  // tests). kRoot: `root` stands for the cgroup mounts (see docs/containers.md):
  //   v2: root/cgroup.controllers exists; the process's v2 path under root if it exists,
  //       else root itself, holds memory.max, cpu.max, … ;
  //   v1: root/memory and root/cpu (or cpu,cpuacct / cpuacct,cpu), each with the
  //       process's path under it if that exists; root/unified, if there, is the unified
  //       hierarchy of a hybrid layout (its PSI files are read).
  // Returns the cgroup version found (0: none).
  int Open(Mode mode, const char* root, const char* proc_dir = "/proc") {
    Close();
    if (mode == kOff) return 0;
    Membership self;
    char path[kMaxPath];
    if (Join(proc_dir, "self/cgroup", path, sizeof path)) {
      ForEachFileLine(path,
                      [&self](const char* line, size_t n) { ParseCgroupLine(line, n, &self); });
    }
    char v2[kMaxPath], mem[kMaxPath], cpu[kMaxPath], unified[kMaxPath];
    bool have_v2 = false, have_mem = false, have_cpu = false, have_unified = false;
    if (mode == kSystem) {
      Mounts mounts;
      if (Join(proc_dir, "self/mountinfo", path, sizeof path)) {
        ForEachFileLine(
            path, [&](const char* line, size_t n) { ParseMountinfoLine(line, n, self, &mounts); });
      }
      have_mem = self.has_memory && mounts.memory.found &&
                 CgroupDir(mounts.memory, self.memory, mem, sizeof mem);
      have_cpu =
          self.has_cpu && mounts.cpu.found && CgroupDir(mounts.cpu, self.cpu, cpu, sizeof cpu);
      const bool v2_dir =
          self.has_v2 && mounts.v2.found && CgroupDir(mounts.v2, self.v2, v2, sizeof v2);
      if (have_mem || have_cpu) {
        have_unified = v2_dir;
        if (have_unified) std::snprintf(unified, sizeof unified, "%s", v2);
      } else {
        have_v2 = v2_dir;
      }
    } else {
      if (root == nullptr || root[0] != '/') return 0;
      if (Join(root, "cgroup.controllers", path, sizeof path) && IsRegular(path)) {
        have_v2 = DirUnder(root, self.has_v2, self.v2, v2, sizeof v2);
      } else {
        have_mem = Join(root, "memory", path, sizeof path) &&
                   DirUnder(path, self.has_memory, self.memory, mem, sizeof mem);
        static const char* const kCpuDirs[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
        for (const char* name : kCpuDirs) {
          if (have_cpu) break;
          have_cpu = Join(root, name, path, sizeof path) &&
                     DirUnder(path, self.has_cpu, self.cpu, cpu, sizeof cpu);
        }
        if (have_mem || have_cpu) {
          have_unified = Join(root, "unified", path, sizeof path) &&
                         DirUnder(path, self.has_v2, self.v2, unified, sizeof unified);
        }
      }
    }
    if (have_v2) {
      version_ = 2;
      OpenIn(v2, kMemMax, "memory.max");
      OpenIn(v2, kMemHigh, "memory.high");
      OpenIn(v2, kMemCurrent, "memory.current");
      OpenIn(v2, kMemEvents, "memory.events");
      OpenIn(v2, kMemStat, "memory.stat");
      OpenIn(v2, kMemPressure, "memory.pressure");
      OpenIn(v2, kCpuMax, "cpu.max");
      OpenIn(v2, kCpuStat, "cpu.stat");
      OpenIn(v2, kCpuPressure, "cpu.pressure");
    } else if (have_mem || have_cpu) {
      version_ = 1;
      if (have_mem) {
        OpenIn(mem, kMemMax, "memory.limit_in_bytes");
        OpenIn(mem, kMemCurrent, "memory.usage_in_bytes");
        OpenIn(mem, kMemStat, "memory.stat");
        OpenIn(mem, kV1Failcnt, "memory.failcnt");
        OpenIn(mem, kV1MemswFailcnt, "memory.memsw.failcnt");
        OpenIn(mem, kV1OomControl, "memory.oom_control");
      }
      if (have_cpu) {
        OpenIn(cpu, kCpuMax, "cpu.cfs_quota_us");
        OpenIn(cpu, kV1Period, "cpu.cfs_period_us");
        OpenIn(cpu, kCpuStat, "cpu.stat");
      }
      if (have_unified) {
        OpenIn(unified, kMemPressure, "memory.pressure");
        OpenIn(unified, kCpuPressure, "cpu.pressure");
      }
    }
    return version_;
  }

  void Close() {
    for (int& fd : fds_) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
    version_ = 0;
  }

  int version() const { return version_; }

  // Descriptors held open (tests; the fd accounting of a sampler).
  int open_files() const {
    int n = 0;
    for (int fd : fds_) n += fd >= 0 ? 1 : 0;
    return n;
  }

  // Reads every opened file now. A file that cannot be read gives NaN for its values.
  void Read(Values* v) const {
    *v = Values();
    v->version = version_;
    if (version_ == 0) return;
    char buf[kMaxFileBytes];
    ssize_t n;
    if (version_ == 2) {
      if ((n = Get(kMemMax, buf)) >= 0) v->memory_limit_bytes = ParseLimit(buf, n);
      if ((n = Get(kMemHigh, buf)) >= 0) v->memory_high_bytes = ParseLimit(buf, n);
      if ((n = Get(kMemCurrent, buf)) >= 0) v->memory_usage_bytes = ParseCount(buf, n);
      if ((n = Get(kMemStat, buf)) >= 0) {
        v->memory_working_set_bytes =
            WorkingSet(v->memory_usage_bytes, KeyValue(buf, n, "inactive_file"));
      }
      if ((n = Get(kMemEvents, buf)) >= 0) {
        v->memory_high_events = KeyValue(buf, n, "high");
        v->memory_max_events = KeyValue(buf, n, "max");
        v->oom_events = KeyValue(buf, n, "oom");
        v->oom_kill_events = KeyValue(buf, n, "oom_kill");
      }
      if ((n = Get(kCpuMax, buf)) >= 0) v->cpu_quota_cores = ParseCpuMax(buf, n);
      if ((n = Get(kCpuStat, buf)) >= 0) {
        v->cpu_periods = KeyValue(buf, n, "nr_periods");
        v->cpu_throttled_periods = KeyValue(buf, n, "nr_throttled");
        v->cpu_throttled_ns = KeyValue(buf, n, "throttled_usec") * 1000;
      }
    } else {
      if ((n = Get(kMemMax, buf)) >= 0) v->memory_limit_bytes = ParseLimit(buf, n);
      if ((n = Get(kMemCurrent, buf)) >= 0) v->memory_usage_bytes = ParseCount(buf, n);
      // usage_in_bytes counts the hierarchy below too: so does total_inactive_file
      // (inactive_file is this group's own pages only).
      if ((n = Get(kMemStat, buf)) >= 0) {
        v->memory_working_set_bytes =
            WorkingSet(v->memory_usage_bytes, KeyValue(buf, n, "total_inactive_file"));
      }
      // A charge is tried against memory+swap first (when swap is accounted) and fails
      // there or at memory alone, never at both: with memsw.limit_in_bytes equal to the
      // limit every failure is memsw's, and memory.failcnt stays 0.
      if ((n = Get(kV1Failcnt, buf)) >= 0) {
        v->memory_max_events = ParseCount(buf, n);
        if ((n = Get(kV1MemswFailcnt, buf)) >= 0) v->memory_max_events += ParseCount(buf, n);
      }
      // oom_kill since Linux 4.13; under_oom is a state, not a count.
      if ((n = Get(kV1OomControl, buf)) >= 0) v->oom_kill_events = KeyValue(buf, n, "oom_kill");
      double quota = NaN();
      if ((n = Get(kCpuMax, buf)) >= 0) quota = ParseQuotaUs(buf, n);
      if ((n = Get(kV1Period, buf)) >= 0)
        v->cpu_quota_cores = QuotaCores(quota, ParseCount(buf, n));
      if ((n = Get(kCpuStat, buf)) >= 0) {
        v->cpu_periods = KeyValue(buf, n, "nr_periods");
        v->cpu_throttled_periods = KeyValue(buf, n, "nr_throttled");
        v->cpu_throttled_ns = KeyValue(buf, n, "throttled_time");
      }
    }
    if ((n = Get(kMemPressure, buf)) >= 0) {
      v->memory_pressure_some_ns = PsiTotalUs(buf, n, "some") * 1000;
      v->memory_pressure_full_ns = PsiTotalUs(buf, n, "full") * 1000;
    }
    if ((n = Get(kCpuPressure, buf)) >= 0) {
      v->cpu_pressure_some_ns = PsiTotalUs(buf, n, "some") * 1000;
      v->cpu_pressure_full_ns = PsiTotalUs(buf, n, "full") * 1000;
    }
  }

 private:
  // v2 files, and the v1 ones that play the same part in the same slot.
  enum File {
    kMemMax,          // memory.max | memory.limit_in_bytes
    kMemHigh,         // memory.high
    kMemCurrent,      // memory.current | memory.usage_in_bytes
    kMemEvents,       // memory.events
    kMemStat,         // memory.stat
    kMemPressure,     // memory.pressure (v2, or the unified hierarchy of a hybrid)
    kCpuMax,          // cpu.max | cpu.cfs_quota_us
    kCpuStat,         // cpu.stat
    kCpuPressure,     // cpu.pressure
    kV1Failcnt,       // memory.failcnt
    kV1MemswFailcnt,  // memory.memsw.failcnt (where swap is accounted)
    kV1OomControl,    // memory.oom_control
    kV1Period,        // cpu.cfs_period_us
    kFileCount
  };

  void OpenIn(const char* dir, File f, const char* name) {
    char path[kMaxPath];
    if (Join(dir, name, path, sizeof path)) fds_[f] = OpenRegular(path);
  }

  ssize_t Get(File f, char (&buf)[kMaxFileBytes]) const {
    return ReadAt0(fds_[f], buf, sizeof buf);
  }

  int fds_[kFileCount];
  int version_ = 0;
};

}  // namespace cgroup
}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_CGROUP_H_
