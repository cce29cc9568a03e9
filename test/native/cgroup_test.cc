// The cgroup reader: each interface file's format (limits, "max", v1's page-rounded no
// limit, key-value lines, PSI), /proc/self/cgroup and mountinfo lines of v1, v2 and hybrid
// hosts, resolution under a given root and through a fake /proc (namespaced and not), and
// bounded, non-blocking reads of hostile files (a FIFO, a huge file, a directory).
#include "../../native/core/cgroup.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "check.h"

using namespace rs::cgroup;

namespace {

bool IsNaN(double v) { return v != v; }
const double kInf = Inf();

double Limit(const std::string& s) { return ParseLimit(s.data(), s.size()); }
double Count(const std::string& s) { return ParseCount(s.data(), s.size()); }
double Quota(const std::string& s) { return ParseQuotaUs(s.data(), s.size()); }
double CpuMax(const std::string& s) { return ParseCpuMax(s.data(), s.size()); }
double Key(const std::string& s, const char* k) { return KeyValue(s.data(), s.size(), k); }
double Psi(const std::string& s, const char* k) { return PsiTotalUs(s.data(), s.size(), k); }

void Formats() {
  CHECK_EQ(Limit("max\n"), kInf);
  CHECK_EQ(Limit("209715200\n"), 209715200.0);
  CHECK_EQ(Limit(" 4096 \n"), 4096.0);
  // v1's "no limit" (LONG_MAX rounded down to a 4 KiB page; 64 KiB pages give another).
  CHECK_EQ(Limit("9223372036854771712\n"), kInf);
  CHECK_EQ(Limit("9223372036854710272\n"), kInf);
  CHECK_EQ(Limit("4000000000000000000\n"), 4000000000000000000.0);
  CHECK(IsNaN(Limit("")));
  CHECK(IsNaN(Limit("\n")));
  CHECK(IsNaN(Limit("maximum\n")));
  CHECK(IsNaN(Limit("-1\n")));
  CHECK(IsNaN(Limit("12 34\n")));
  CHECK(IsNaN(Limit("0x10\n")));
  CHECK(IsNaN(Limit("99999999999999999999999\n")));  // past 64 bits: garbage, not a limit
  CHECK_EQ(Count("0\n"), 0.0);
  CHECK_EQ(Count("18446744073709551615"), 18446744073709551615.0);
  CHECK(IsNaN(Count("18446744073709551616")));
  CHECK(IsNaN(Count("max")));
  CHECK(IsNaN(Count("1.5")));
  CHECK_EQ(Quota("-1\n"), kInf);
  CHECK_EQ(Quota("20000\n"), 20000.0);
  CHECK(IsNaN(Quota("-2\n")));
  CHECK(IsNaN(Quota("-\n")));
  CHECK_EQ(QuotaCores(20000, 100000), 0.2);
  CHECK_EQ(QuotaCores(kInf, 100000), kInf);
  CHECK(IsNaN(QuotaCores(20000, 0)));
  CHECK(IsNaN(QuotaCores(NaN(), 100000)));
  CHECK(IsNaN(QuotaCores(kInf, NaN())));
  CHECK_EQ(CpuMax("max 100000\n"), kInf);
  CHECK_EQ(CpuMax("20000 100000\n"), 0.2);
  CHECK_EQ(CpuMax("150000 100000"), 1.5);
  CHECK_EQ(CpuMax("50000\t100000\n"), 0.5);
  CHECK(IsNaN(CpuMax("20000\n")));
  CHECK(IsNaN(CpuMax("max\n")));
  CHECK(IsNaN(CpuMax("20000 0\n")));
  CHECK(IsNaN(CpuMax("maxx 100000\n")));
  CHECK(IsNaN(CpuMax("20000 100000 7\n")));
  CHECK(IsNaN(CpuMax("-1 100000\n")));
  CHECK(IsNaN(CpuMax("")));
}

void KeyValues() {
  const std::string events = "low 0\nhigh 12\nmax 345\noom 6\noom_kill 2\noom_group_kill 0\n";
  CHECK_EQ(Key(events, "high"), 12.0);
  CHECK_EQ(Key(events, "max"), 345.0);
  CHECK_EQ(Key(events, "oom"), 6.0);  // not oom_kill's or oom_group_kill's line
  CHECK_EQ(Key(events, "oom_kill"), 2.0);
  CHECK(IsNaN(Key(events, "oom_k")));
  CHECK(IsNaN(Key(events, "missing")));
  const std::string v2stat =
      "usage_usec 6000\nuser_usec 5000\nsystem_usec 1000\nnr_periods 120\nnr_throttled 96\n"
      "throttled_usec 7654321\nnr_bursts 0\nburst_usec 0\n";
  CHECK_EQ(Key(v2stat, "nr_periods"), 120.0);
  CHECK_EQ(Key(v2stat, "nr_throttled"), 96.0);
  CHECK_EQ(Key(v2stat, "throttled_usec"), 7654321.0);
  const std::string v1stat = "nr_periods 10\nnr_throttled 8\nthrottled_time 1234567890\n";
  CHECK_EQ(Key(v1stat, "throttled_time"), 1234567890.0);
  const std::string oom = "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n";
  CHECK_EQ(Key(oom, "oom_kill"), 1.0);
  // Older kernels have no oom_kill line.
  CHECK(IsNaN(Key("oom_kill_disable 0\nunder_oom 0\n", "oom_kill")));
  // Garbage values, no trailing newline, a key without a value, CRLF.
  CHECK(IsNaN(Key("high x\n", "high")));
  CHECK(IsNaN(Key("high\n", "high")));
  CHECK(IsNaN(Key("high \n", "high")));
  CHECK_EQ(Key("a 1\nhigh 7", "high"), 7.0);
  CHECK_EQ(Key("high 7\r\n", "high"), 7.0);
  // The first line with the key counts.
  CHECK_EQ(Key("high 1\nhigh 2\n", "high"), 1.0);
  CHECK(IsNaN(Key("", "high")));
}

void Pressure() {
  const std::string mem =
      "some avg10=0.00 avg60=0.12 avg300=0.05 total=123456\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=789\n";
  CHECK_EQ(Psi(mem, "some"), 123456.0);
  CHECK_EQ(Psi(mem, "full"), 789.0);
  // cpu.pressure before Linux 5.13 has no full line.
  CHECK(IsNaN(Psi("some avg10=1.00 avg60=2.00 avg300=3.00 total=5\n", "full")));
  CHECK(IsNaN(Psi("some avg10=1.00 total=\n", "some")));
  CHECK(IsNaN(Psi("some avg10=1.00 total=12x\n", "some")));
  CHECK(IsNaN(Psi("some avg10=1.00 xtotal=12\n", "some")));
  CHECK(IsNaN(Psi("something total=1\n", "some")));
  CHECK_EQ(Psi("some total=18446744073709551615\n", "some"), 18446744073709551615.0);
  CHECK(IsNaN(Psi("some total=18446744073709551616\n", "some")));
  CHECK(IsNaN(Psi("", "some")));
}

Membership Self(const std::string& text) {
  Membership m;
  ParseCgroupFile(text.data(), text.size(), &m);
  return m;
}

void ProcCgroup() {
  // A v1 host (this test machine's kind), with a name= hierarchy and a separate cpuacct.
  Membership m = Self(
      "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/acct\n1:cpu:/quota\n"
      "0::/\n");
  CHECK(m.has_memory && m.has_cpu && m.has_v2);
  CHECK(std::strcmp(m.memory, "/process_api/abc") == 0);
  CHECK(std::strcmp(m.cpu, "/quota") == 0);  // not cpuacct's line
  CHECK(std::strcmp(m.v2, "/") == 0);
  // cpu and cpuacct co-mounted (most distributions).
  m = Self("5:cpu,cpuacct:/docker/ff\n7:memory:/docker/ff\n");
  CHECK(m.has_cpu && std::strcmp(m.cpu, "/docker/ff") == 0);
  CHECK(!m.has_v2);
  m = Self("5:cpuacct,cpu:/x\n");
  CHECK(m.has_cpu && std::strcmp(m.cpu, "/x") == 0);
  // cpuset is not cpu.
  m = Self("3:cpuset:/s\n2:cpuacct:/a\n");
  CHECK(!m.has_cpu && !m.has_memory);
  // Pure v2; a path that holds ':'.
  m = Self("0::/user.slice/user-0.slice/session-1.scope\n");
  CHECK(m.has_v2 && std::strcmp(m.v2, "/user.slice/user-0.slice/session-1.scope") == 0);
  m = Self("0::/a:b\n");
  CHECK(m.has_v2 && std::strcmp(m.v2, "/a:b") == 0);
  // Garbage: no fields, a relative path, an empty path, a NUL, a v2 line with controllers.
  m = Self("garbage\n4:memory\n4:memory:relative\n1:cpu:\n0:memory:/m\n");
  CHECK(!m.has_cpu && !m.has_v2);
  CHECK(m.has_memory && std::strcmp(m.memory, "/m") == 0);
  const std::string nul("1:cpu:/a\0b\n", 11);
  m = Self(nul);
  CHECK(!m.has_cpu);
  // A path longer than any the kernel could open.
  m = Self("0::/" + std::string(kMaxPath, 'a') + "\n");
  CHECK(!m.has_v2);
}

Mounts ParseMounts(const std::string& text, const Membership& self) {
  Mounts mounts;
  ForEachLine(text.data(), text.size(),
              [&](const char* line, size_t n) { ParseMountinfoLine(line, n, self, &mounts); });
  return mounts;
}

void Mountinfo() {
  const Membership self =
      Self("4:memory:/kubepods/pod1/c1\n1:cpu,cpuacct:/kubepods/pod1/c1\n0::/\n");
  // A hybrid host: v1 controllers, the unified hierarchy at .../unified; optional fields
  // before the "-"; a mount point with a space (\040).
  const std::string text =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "
      "rw,cpu,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/mem\\040ory rw,relatime shared:10 master:3 - cgroup cgroup "
      "rw,memory\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
      "50 23 8:1 / / rw - ext4 /dev/sda1 rw\n";
  Mounts m = ParseMounts(text, self);
  CHECK(m.cpu.found && std::strcmp(m.cpu.point, "/sys/fs/cgroup/cpu,cpuacct") == 0);
  CHECK(m.memory.found && std::strcmp(m.memory.point, "/sys/fs/cgroup/mem ory") == 0);
  CHECK(m.v2.found && std::strcmp(m.v2.point, "/sys/fs/cgroup/unified") == 0);
  // A container's own mounts (Docker without a cgroup namespace): the root is the
  // container's cgroup; a bind mount of another part of the hierarchy is passed over.
  const std::string docker =
      "60 59 0:29 /other /mnt/other ro - cgroup cgroup rw,memory\n"
      "61 59 0:29 /kubepods/pod1/c1 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "62 59 0:29 /kubepods/pod1 /sys/fs/cgroup/x ro - cgroup cgroup rw,memory\n";
  m = ParseMounts(docker, self);
  CHECK(m.memory.found && m.memory.matches);
  CHECK(std::strcmp(m.memory.point, "/sys/fs/cgroup/memory") == 0);
  CHECK(std::strcmp(m.memory.root, "/kubepods/pod1/c1") == 0);
  // None matches: the first one is kept.
  m = ParseMounts(
      "1 0 0:1 /zzz /a - cgroup cgroup rw,memory\n2 0 0:1 /yyy /b - cgroup c rw,memory\n", self);
  CHECK(m.memory.found && !m.memory.matches && std::strcmp(m.memory.point, "/a") == 0);
  // Malformed lines: no separator, too few fields, relative paths, a bad escape kept as is.
  m = ParseMounts(
      "1 0 0:1 / /a rw cgroup cgroup rw,memory\n"
      "1 0 0:1 /\n"
      "1 0 0:1 / rel rw - cgroup cgroup rw,cpu\n"
      "1 0 0:1 / /x rw -\n"
      "1 0 0:1 / /b\\09 rw - cgroup2 cgroup2 rw\n",
      self);
  CHECK(!m.memory.found && !m.cpu.found);
  CHECK(m.v2.found && std::strcmp(m.v2.point, "/b\\09") == 0);
  // Escapes that would make a NUL are refused.
  m = ParseMounts("1 0 0:1 / /a\\000b rw - cgroup2 cgroup2 rw\n", self);
  CHECK(!m.v2.found);
  CHECK(PathHasPrefix("/a/b", "/a") && PathHasPrefix("/a", "/a") && PathHasPrefix("/a", "/"));
  CHECK(!PathHasPrefix("/ab", "/a") && !PathHasPrefix("/", "/a"));
}

// ---- fixture trees ----

std::string g_tmp;

void Write(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  CHECK(f != nullptr);
  if (f == nullptr) return;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

void MkdirP(const std::string& path) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i == path.size() || path[i] == '/') mkdir(path.substr(0, i).c_str(), 0755);
  }
}

void RemoveTree(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    unlink(path.c_str());
    return;
  }
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    const std::string child = path + "/" + e->d_name;
    struct stat st;
    if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      RemoveTree(child);
    else
      unlink(child.c_str());
  }
  closedir(d);
  rmdir(path.c_str());
}

// A fake /proc whose self/cgroup says `cgroup` (and self/mountinfo `mountinfo`).
std::string FakeProc(const std::string& name, const std::string& cgroup,
                     const std::string& mountinfo) {
  const std::string dir = g_tmp + "/" + name;
  MkdirP(dir + "/self");
  Write(dir + "/self/cgroup", cgroup);
  Write(dir + "/self/mountinfo", mountinfo);
  return dir;
}

void WriteV2(const std::string& dir) {
  MkdirP(dir);
  Write(dir + "/memory.max", "209715200\n");
  Write(dir + "/memory.high", "max\n");
  Write(dir + "/memory.current", "104857600\n");
  // As Linux 6 writes it, shortened: the working set is usage − inactive_file.
  Write(dir + "/memory.stat",
        "anon 50000000\nfile 40000000\nkernel 2000000\nshmem 0\ninactive_anon 0\n"
        "active_anon 50000000\ninactive_file 4857600\nactive_file 35142400\n"
        "unevictable 0\n");
  Write(dir + "/memory.events", "low 0\nhigh 3\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n");
  Write(dir + "/memory.pressure",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500\nfull avg10=0.00 avg60=0.00 "
        "avg300=0.00 total=700\n");
  Write(dir + "/cpu.max", "20000 100000\n");
  Write(dir + "/cpu.stat",
        "usage_usec 1\nuser_usec 1\nsystem_usec 0\nnr_periods 50\nnr_throttled 40\n"
        "throttled_usec 2500000\n");
  Write(dir + "/cpu.pressure",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=9\nfull avg10=0.00 avg60=0.00 "
        "avg300=0.00 total=4\n");
}

void CheckV2(const Values& v) {
  CHECK_EQ(v.version, 2.0);
  CHECK_EQ(v.memory_limit_bytes, 209715200.0);
  CHECK_EQ(v.memory_high_bytes, kInf);
  CHECK_EQ(v.memory_usage_bytes, 104857600.0);
  CHECK_EQ(v.memory_working_set_bytes, 100000000.0);
  CHECK_EQ(v.memory_high_events, 3.0);
  CHECK_EQ(v.memory_max_events, 17.0);
  CHECK_EQ(v.oom_events, 2.0);
  CHECK_EQ(v.oom_kill_events, 1.0);
  CHECK_EQ(v.cpu_quota_cores, 0.2);
  CHECK_EQ(v.cpu_periods, 50.0);
  CHECK_EQ(v.cpu_throttled_periods, 40.0);
  CHECK_EQ(v.cpu_throttled_ns, 2500000000.0);
  CHECK_EQ(v.memory_pressure_some_ns, 1500000.0);
  CHECK_EQ(v.memory_pressure_full_ns, 700000.0);
  CHECK_EQ(v.cpu_pressure_some_ns, 9000.0);
  CHECK_EQ(v.cpu_pressure_full_ns, 4000.0);
}

void RootV2() {
  const std::string root = g_tmp + "/v2";
  MkdirP(root);
  Write(root + "/cgroup.controllers", "cpu memory\n");
  WriteV2(root);
  const std::string proc = FakeProc("proc-v2", "0::/\n", "");
  Reader r;
  CHECK_EQ(r.Open(Reader::kRoot, root.c_str(), proc.c_str()), 2);
  CHECK_EQ(r.open_files(), 9);
  Values v;
  r.Read(&v);
  CheckV2(v);
  // The refresh sees a file rewritten in place (pread from 0 each time).
  Write(root + "/memory.current", "1\n");
  Write(root + "/cpu.max", "max 100000\n");
  r.Read(&v);
  CHECK_EQ(v.memory_usage_bytes, 1.0);
  CHECK_EQ(v.memory_working_set_bytes, 0.0);  // read apart from the usage: never negative
  CHECK_EQ(v.cpu_quota_cores, kInf);
  r.Close();
  CHECK_EQ(r.open_files(), 0);
  CHECK_EQ(r.version(), 0);
  r.Read(&v);
  CHECK_EQ(v.version, 0.0);
  CHECK(IsNaN(v.memory_limit_bytes));

  // The process's own path under the root is the cgroup when it exists.
  const std::string nested = root + "/kubepods/pod1/c1";
  WriteV2(nested);
  Write(nested + "/memory.max", "max\n");
  const std::string proc2 = FakeProc("proc-v2-nested", "0::/kubepods/pod1/c1\n", "");
  CHECK_EQ(r.Open(Reader::kRoot, root.c_str(), proc2.c_str()), 2);
  r.Read(&v);
  CHECK_EQ(v.memory_limit_bytes, kInf);
  // A path that is not under the root: the root itself.
  const std::string proc3 = FakeProc("proc-v2-elsewhere", "0::/system.slice/x\n", "");
  CHECK_EQ(r.Open(Reader::kRoot, root.c_str(), proc3.c_str()), 2);
  r.Read(&v);
  CHECK_EQ(v.memory_limit_bytes, 209715200.0);

  // Missing files are NaN, each on its own.
  const std::string sparse = g_tmp + "/v2-sparse";
  MkdirP(sparse);
  Write(sparse + "/cgroup.controllers", "");
  Write(sparse + "/memory.current", "42\n");
  Write(sparse + "/cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=3\n");
  CHECK_EQ(r.Open(Reader::kRoot, sparse.c_str(), proc.c_str()), 2);
  CHECK_EQ(r.open_files(), 2);
  r.Read(&v);
  CHECK_EQ(v.memory_usage_bytes, 42.0);
  CHECK_EQ(v.cpu_pressure_some_ns, 3000.0);
  CHECK(IsNaN(v.cpu_pressure_full_ns));
  CHECK(IsNaN(v.memory_limit_bytes) && IsNaN(v.memory_high_bytes) && IsNaN(v.oom_kill_events));
  CHECK(IsNaN(v.memory_working_set_bytes));  // no memory.stat
  CHECK(IsNaN(v.cpu_quota_cores) && IsNaN(v.cpu_periods) && IsNaN(v.cpu_throttled_ns));
  CHECK(IsNaN(v.memory_pressure_some_ns));
}

void RootV1() {
  const std::string root = g_tmp + "/v1";
  const std::string mem = root + "/memory/rs-test";
  const std::string cpu = root + "/cpu,cpuacct/rs-test";
  MkdirP(mem);
  MkdirP(cpu);
  MkdirP(root + "/unified");
  Write(mem + "/memory.limit_in_bytes", "209715200\n");
  Write(mem + "/memory.usage_in_bytes", "4096\n");
  // v1 usage counts the groups below: total_inactive_file does too, inactive_file not.
  Write(mem + "/memory.stat",
        "cache 8192\nrss 4096\ninactive_file 2048\nactive_file 0\nhierarchical_memory_limit "
        "209715200\ntotal_cache 8192\ntotal_inactive_file 1024\ntotal_active_file 0\n");
  Write(mem + "/memory.failcnt", "5\n");
  Write(mem + "/memory.memsw.failcnt", "2\n");
  Write(mem + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  Write(cpu + "/cpu.cfs_quota_us", "20000\n");
  Write(cpu + "/cpu.cfs_period_us", "100000\n");
  Write(cpu + "/cpu.stat", "nr_periods 10\nnr_throttled 8\nthrottled_time 640000000\n");
  Write(root + "/unified/memory.pressure",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=11\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  Write(root + "/unified/cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=2\n");
  const std::string proc =
      FakeProc("proc-v1", "4:memory:/rs-test\n1:cpu,cpuacct:/rs-test\n0::/\n", "");
  Reader r;
  CHECK_EQ(r.Open(Reader::kRoot, root.c_str(), proc.c_str()), 1);
  Values v;
  r.Read(&v);
  CHECK_EQ(v.version, 1.0);
  CHECK_EQ(v.memory_limit_bytes, 209715200.0);
  CHECK(IsNaN(v.memory_high_bytes));  // v1 has no memory.high
  CHECK_EQ(v.memory_usage_bytes, 4096.0);
  CHECK_EQ(v.memory_working_set_bytes, 3072.0);
  CHECK_EQ(v.memory_max_events, 7.0);  // memory.failcnt + memory.memsw.failcnt
  CHECK(IsNaN(v.memory_high_events) && IsNaN(v.oom_events));
  CHECK_EQ(v.oom_kill_events, 1.0);
  CHECK_EQ(v.cpu_quota_cores, 0.2);
  CHECK_EQ(v.cpu_periods, 10.0);
  CHECK_EQ(v.cpu_throttled_periods, 8.0);
  CHECK_EQ(v.cpu_throttled_ns, 640000000.0);
  CHECK_EQ(v.memory_pressure_some_ns, 11000.0);
  CHECK_EQ(v.memory_pressure_full_ns, 0.0);
  CHECK_EQ(v.cpu_pressure_some_ns, 2000.0);
  CHECK(IsNaN(v.cpu_pressure_full_ns));
  // "No limit" as v1 shows it.
  Write(mem + "/memory.limit_in_bytes", "9223372036854771712\n");
  Write(cpu + "/cpu.cfs_quota_us", "-1\n");
  r.Read(&v);
  CHECK_EQ(v.memory_limit_bytes, kInf);
  CHECK_EQ(v.cpu_quota_cores, kInf);
  // Without swap accounting (no memsw files) memory.failcnt alone; a garbled one is NaN.
  unlink((mem + "/memory.memsw.failcnt").c_str());
  CHECK_EQ(r.Open(Reader::kRoot, root.c_str(), proc.c_str()), 1);
  r.Read(&v);
  CHECK_EQ(v.memory_max_events, 5.0);
  Write(mem + "/memory.memsw.failcnt", "x\n");
  CHECK_EQ(r.Open(Reader::kRoot, root.c_str(), proc.c_str()), 1);
  r.Read(&v);
  CHECK(IsNaN(v.memory_max_events));
  // A period that cannot be read: the quota in cores is unknown, not infinite.
  Write(cpu + "/cpu.cfs_period_us", "garbage\n");
  r.Read(&v);
  CHECK(IsNaN(v.cpu_quota_cores));

  // Only a cpu controller (memory not mounted): memory values NaN, still v1; no unified.
  const std::string cpu_only = g_tmp + "/v1-cpu";
  MkdirP(cpu_only + "/cpu");
  Write(cpu_only + "/cpu/cpu.stat", "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n");
  CHECK_EQ(r.Open(Reader::kRoot, cpu_only.c_str(), proc.c_str()), 1);
  r.Read(&v);
  CHECK_EQ(v.cpu_periods, 1.0);
  CHECK(IsNaN(v.memory_limit_bytes) && IsNaN(v.memory_pressure_some_ns));
}

void RootNone() {
  Reader r;
  Values v;
  const std::string proc = FakeProc("proc-none", "0::/\n", "");
  CHECK_EQ(r.Open(Reader::kRoot, (g_tmp + "/does-not-exist").c_str(), proc.c_str()), 0);
  CHECK_EQ(r.Open(Reader::kRoot, "relative/path", proc.c_str()), 0);
  CHECK_EQ(r.Open(Reader::kRoot, nullptr, proc.c_str()), 0);
  const std::string empty = g_tmp + "/empty";
  MkdirP(empty);
  CHECK_EQ(r.Open(Reader::kRoot, empty.c_str(), proc.c_str()), 0);
  CHECK_EQ(r.Open(Reader::kOff, empty.c_str(), proc.c_str()), 0);
  CHECK_EQ(r.open_files(), 0);
  r.Read(&v);
  CHECK_EQ(v.version, 0.0);
  CHECK(IsNaN(v.memory_usage_bytes) && IsNaN(v.cpu_pressure_some_ns));
  // A /proc without self/cgroup: nothing to append, the root itself is read.
  const std::string root = g_tmp + "/v2-noproc";
  MkdirP(root);
  Write(root + "/cgroup.controllers", "");
  Write(root + "/memory.current", "7\n");
  CHECK_EQ(r.Open(Reader::kRoot, root.c_str(), (g_tmp + "/no-proc").c_str()), 2);
  r.Read(&v);
  CHECK_EQ(v.memory_usage_bytes, 7.0);
}

void Hostile() {
  const std::string root = g_tmp + "/hostile";
  MkdirP(root);
  Write(root + "/cgroup.controllers", "");
  // A FIFO nobody writes: opening it must not block, and it is refused.
  CHECK_EQ(mkfifo((root + "/memory.max").c_str(), 0600), 0);
  // A directory where a file should be.
  MkdirP(root + "/memory.high");
  // A huge file: read no further than the buffer, and a cut value is not a value.
  {
    std::string big(1 << 20, '7');
    Write(root + "/memory.current", big);
    std::string lines;
    while (lines.size() < (1u << 20)) lines += "high 1\n";
    Write(root + "/memory.events", "max 3\n" + lines);
    std::string psi = "some avg10=0.00 avg60=0.00 avg300=0.00 total=";
    psi += std::string(kMaxFileBytes, '1');
    Write(root + "/memory.pressure", psi);
  }
  // A device (through a symlink).
  CHECK_EQ(symlink("/dev/zero", (root + "/cpu.stat").c_str()), 0);
  // A symlink that leads nowhere.
  CHECK_EQ(symlink((root + "/nothing").c_str(), (root + "/cpu.max").c_str()), 0);
  const std::string proc = FakeProc("proc-hostile", "0::/\n", "");
  Reader r;
  CHECK_EQ(r.Open(Reader::kRoot, root.c_str(), proc.c_str()), 2);
  CHECK_EQ(r.open_files(), 3);  // memory.current, .events, .pressure; the rest refused
  Values v;
  r.Read(&v);
  CHECK(IsNaN(v.memory_limit_bytes));
  CHECK(IsNaN(v.memory_high_bytes));
  CHECK(IsNaN(v.memory_usage_bytes));
  CHECK_EQ(v.memory_max_events, 3.0);  // the first lines of a huge file still count
  CHECK_EQ(v.memory_high_events, 1.0);
  CHECK(IsNaN(v.memory_pressure_some_ns));
  CHECK(IsNaN(v.cpu_periods) && IsNaN(v.cpu_quota_cores));
}

void System() {
  // Through a fake /proc: a v1 host where the process's cgroup sits under the mounts (no
  // namespace), and the unified hierarchy's root cgroup for PSI.
  const std::string fs = g_tmp + "/sysfs";
  const std::string mem = fs + "/memory/kube/c1";
  const std::string cpu = fs + "/cpu/kube/c1";
  MkdirP(mem);
  MkdirP(cpu);
  MkdirP(fs + "/unified");
  Write(mem + "/memory.limit_in_bytes", "1048576\n");
  Write(mem + "/memory.usage_in_bytes", "524288\n");
  Write(cpu + "/cpu.cfs_quota_us", "50000\n");
  Write(cpu + "/cpu.cfs_period_us", "100000\n");
  Write(fs + "/unified/cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=77\n");
  const std::string mountinfo = "32 31 0:29 / " + fs + "/cpu rw - cgroup cgroup rw,cpu\n" +
                                "35 31 0:32 / " + fs + "/memory rw - cgroup cgroup rw,memory\n" +
                                "41 31 0:38 / " + fs + "/unified rw - cgroup2 cgroup2 rw\n";
  std::string proc =
      FakeProc("proc-sys-v1", "4:memory:/kube/c1\n1:cpu:/kube/c1\n0::/\n", mountinfo);
  Reader r;
  CHECK_EQ(r.Open(Reader::kSystem, nullptr, proc.c_str()), 1);
  Values v;
  r.Read(&v);
  CHECK_EQ(v.memory_limit_bytes, 1048576.0);
  CHECK_EQ(v.memory_usage_bytes, 524288.0);
  CHECK_EQ(v.cpu_quota_cores, 0.5);
  CHECK_EQ(v.cpu_pressure_some_ns, 77000.0);

  // Docker without a cgroup namespace: the mount's root is the container's cgroup and
  // the process's path names it in full: stripped, the mount point is the cgroup.
  const std::string ctr = g_tmp + "/ctr";
  MkdirP(ctr + "/memory");
  Write(ctr + "/memory/memory.limit_in_bytes", "2097152\n");
  proc = FakeProc("proc-docker", "4:memory:/docker/abc\n",
                  "35 31 0:32 /docker/abc " + ctr + "/memory rw - cgroup cgroup rw,memory\n");
  CHECK_EQ(r.Open(Reader::kSystem, nullptr, proc.c_str()), 1);
  r.Read(&v);
  CHECK_EQ(v.memory_limit_bytes, 2097152.0);

  // A cgroup namespace that /proc/self/cgroup shows a path the mount does not have (the
  // process moved after the mount was made, or the namespaces differ): the mount itself.
  proc = FakeProc("proc-ns", "4:memory:/elsewhere/x\n",
                  "35 31 0:32 / " + ctr + "/memory rw - cgroup cgroup rw,memory\n");
  CHECK_EQ(r.Open(Reader::kSystem, nullptr, proc.c_str()), 1);
  r.Read(&v);
  CHECK_EQ(v.memory_limit_bytes, 2097152.0);

  // Pure v2: the unified mount, the process's cgroup under it.
  const std::string v2 = g_tmp + "/sys-v2";
  WriteV2(v2 + "/user.slice/app.scope");
  proc = FakeProc("proc-sys-v2", "0::/user.slice/app.scope\n",
                  "30 23 0:26 / " + v2 + " rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
  CHECK_EQ(r.Open(Reader::kSystem, nullptr, proc.c_str()), 2);
  r.Read(&v);
  CheckV2(v);

  // Membership without a mount, or a mount without membership: nothing.
  proc =
      FakeProc("proc-unmounted", "4:memory:/x\n0::/\n", "50 23 8:1 / / rw - ext4 /dev/sda1 rw\n");
  CHECK_EQ(r.Open(Reader::kSystem, nullptr, proc.c_str()), 0);
  proc = FakeProc("proc-nomember", "", "41 31 0:38 / " + v2 + " rw - cgroup2 cgroup2 rw\n");
  CHECK_EQ(r.Open(Reader::kSystem, nullptr, proc.c_str()), 0);

  // A mountinfo line longer than the line buffer is skipped, and the lines after it count.
  const std::string longline =
      "99 1 0:1 / /x rw - overlay overlay rw,lowerdir=" + std::string(3 * kMaxLine, 'L') + "\n";
  proc = FakeProc("proc-longline", "0::/user.slice/app.scope\n",
                  longline + "30 23 0:26 / " + v2 + " rw - cgroup2 cgroup2 rw\n");
  CHECK_EQ(r.Open(Reader::kSystem, nullptr, proc.c_str()), 2);

  // This machine's own cgroups: whatever they are, reading them is consistent.
  CHECK(r.Open(Reader::kSystem, nullptr) >= 0);
  r.Read(&v);
  CHECK_EQ(v.version, static_cast<double>(r.version()));
  r.Close();
}

void LineReader() {
  const std::string path = g_tmp + "/lines";
  Write(path, "a\n\nbb\n" + std::string(kMaxLine + 5, 'x') + "\nccc");
  std::string seen;
  CHECK(ForEachFileLine(path.c_str(),
                        [&](const char* s, size_t n) { seen += std::string(s, n) + "|"; }));
  CHECK(seen == "a||bb|ccc|");
  CHECK(!ForEachFileLine((g_tmp + "/missing").c_str(), [](const char*, size_t) {}));
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/rs-cgroup-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  g_tmp = tmpl;
  Formats();
  KeyValues();
  Pressure();
  ProcCgroup();
  Mountinfo();
  RootV2();
  RootV1();
  RootNone();
  Hostile();
  System();
  LineReader();
  RemoveTree(g_tmp);
  return Finish("cgroup");
}
