// Published files: the directory is used only when it is ours and private, files are made
// exclusively (no symlink followed, mode 0600, blocks reserved), and a reader refuses every
// kind of malformed, foreign or incompatible file with a clear message before reading it.
#include "../../native/core/published.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "check.h"

using namespace rs::pub;

namespace {

constexpr uint32_t kLayout = 7;

std::string g_root;

std::string Path(const std::string& name) { return g_root + "/" + name; }

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

void WriteBytes(const std::string& path, const void* data, size_t n) {
  FILE* f = std::fopen(path.c_str(), "wb");
  CHECK(f != nullptr);
  if (f == nullptr) return;
  if (n > 0) CHECK_EQ(std::fwrite(data, 1, n, f), n);
  std::fclose(f);
}

// A whole, valid file made by the writer's own functions; returns the directory fd.
Mapping MakeValid(int dir_fd, const char* name, uint64_t block_bytes) {
  Mapping m;
  Result r = CreateFile(dir_fd, name, block_bytes, &m);
  CHECK(r.ok());
  if (!r.ok()) return m;
  Header* h = m.header();
  h->layout_version = kLayout;
  h->abi = 115;
  h->layout_hash = 0x1234;
  h->pid = 4242;
  h->thread_id = 3;
  h->start_ticks = 987654;
  h->worker_id = -1;
  SetText(h->node_version, "v20.20.2");
  SetText(h->title, "node app.js");
  for (uint64_t i = 0; i < block_bytes / 8; i++) m.block()[i] = static_cast<double>(i) * 0.5;
  Seal(h);
  return m;
}

void DirectoryIsCreatedPrivate() {
  int fd = -1;
  const std::string dir = Path("pub");
  Result r = OpenDirectory(dir.c_str(), geteuid(), &fd);
  CHECK(r.ok());
  struct stat st;
  CHECK_EQ(stat(dir.c_str(), &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0700u);
  close(fd);
  // Opened again as it is: still accepted.
  r = OpenDirectory(dir.c_str(), geteuid(), &fd);
  CHECK(r.ok());
  close(fd);
}

void UnsafeDirectoriesAreRefused() {
  int fd = -1;
  const std::string open_dir = Path("open");
  CHECK_EQ(mkdir(open_dir.c_str(), 0700), 0);
  CHECK_EQ(chmod(open_dir.c_str(), 0777), 0);
  Result r = OpenDirectory(open_dir.c_str(), geteuid(), &fd);
  CHECK(r.status == Status::kRefused && Contains(r.message, "writable by others (mode 777"));
  CHECK_EQ(fd, -1);

  const std::string link = Path("link");
  CHECK_EQ(symlink(Path("pub").c_str(), link.c_str()), 0);
  r = OpenDirectory(link.c_str(), geteuid(), &fd);
  CHECK(r.status == Status::kRefused && Contains(r.message, "is a symbolic link"));

  const std::string file = Path("plain-file");
  WriteBytes(file, "x", 1);
  r = OpenDirectory(file.c_str(), geteuid(), &fd);
  CHECK(r.status == Status::kRefused && Contains(r.message, "not a directory"));

  // Someone else's directory: as root, hand one to nobody; otherwise ask for another uid.
  const std::string foreign = Path("foreign");
  CHECK_EQ(mkdir(foreign.c_str(), 0700), 0);
  uid_t me = geteuid();
  if (me == 0) {
    CHECK_EQ(chown(foreign.c_str(), 65534, 65534), 0);
  } else {
    me = me + 1;  // the directory is ours, so to a reader claiming another uid it is foreign
  }
  r = OpenDirectory(foreign.c_str(), me, &fd);
  CHECK(r.status == Status::kRefused && Contains(r.message, "is owned by uid"));
}

void WrittenThenRead() {
  int dir_fd = -1;
  CHECK(OpenDirectory(Path("pub").c_str(), geteuid(), &dir_fd).ok());
  Mapping w = MakeValid(dir_fd, "4242-3", 8 * 1000);
  struct stat st;
  CHECK_EQ(stat(Path("pub/4242-3").c_str(), &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0600u);
  CHECK_EQ(static_cast<uint64_t>(st.st_size), kHeaderBytes + 8000ull);

  Mapping m;
  Header h;
  Result r = OpenForRead(Path("pub/4242-3").c_str(), geteuid(), kLayout, &m, &h);
  CHECK(r.ok());
  CHECK_EQ(h.pid, 4242);
  CHECK_EQ(h.thread_id, 3);
  CHECK_EQ(h.start_ticks, 987654u);
  CHECK_EQ(h.worker_id, -1);
  CHECK(std::string(h.title) == "node app.js");
  CHECK(std::string(h.node_version) == "v20.20.2");
  CHECK_EQ(m.block_bytes, 8000u);
  CHECK_EQ(m.block()[999], 499.5);
  // The writer's later writes are what the reader sees: one mapping of one file.
  w.block()[10] = 77;
  CHECK_EQ(m.block()[10], 77.0);
  // A store through the reader's mapping stays in this mapping (private, copy-on-write):
  // neither the writer nor the file sees it, and it is no crash.
  m.block()[20] = -1;
  CHECK_EQ(w.block()[20], 10.0);
  Mapping m2;
  Header h2;
  CHECK(OpenForRead(Path("pub/4242-3").c_str(), geteuid(), kLayout, &m2, &h2).ok());
  CHECK_EQ(m2.block()[20], 10.0);
  m2.Unmap();
  // Other pages of the reader's mapping still follow the writer.
  w.block()[900] = 5;
  CHECK_EQ(m.block()[900], 5.0);
  m.Unmap();
  w.Unmap();
  close(dir_fd);
}

void ExclusiveAndNoSymlinks() {
  int dir_fd = -1;
  CHECK(OpenDirectory(Path("pub").c_str(), geteuid(), &dir_fd).ok());
  Mapping m;
  // The name exists: never opened again, never truncated.
  Result r = CreateFile(dir_fd, "4242-3", 64, &m);
  CHECK(r.status == Status::kRefused && Contains(r.message, "File exists"));
  Mapping h1;
  Header h;
  CHECK(OpenForRead(Path("pub/4242-3").c_str(), geteuid(), kLayout, &h1, &h).ok());
  h1.Unmap();

  // A planted symlink: nothing is written through it.
  const std::string target = Path("victim");
  WriteBytes(target, "", 0);
  CHECK_EQ(symlink(target.c_str(), Path("pub/999-0").c_str()), 0);
  r = CreateFile(dir_fd, "999-0", 64, &m);
  CHECK(r.status == Status::kRefused);
  struct stat st;
  CHECK_EQ(stat(target.c_str(), &st), 0);
  CHECK_EQ(st.st_size, 0);
  r = OpenForRead(Path("pub/999-0").c_str(), geteuid(), kLayout, &m, &h);
  CHECK(r.status == Status::kRefused && Contains(r.message, "symbolic link"));

  r = CreateFile(dir_fd, "../escape", 64, &m);
  CHECK(r.status == Status::kRefused && Contains(r.message, "bad file name"));
  close(dir_fd);
}

void MalformedFilesAreRefused() {
  Mapping m;
  Header h;
  auto open = [&](const std::string& path, uint32_t layout = kLayout) {
    Result r = OpenForRead(path.c_str(), geteuid(), layout, &m, &h);
    if (r.ok()) m.Unmap();
    return r;
  };
  // Too short for a header.
  char bytes[8192];
  for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  WriteBytes(Path("short"), bytes, 100);
  Result r = open(Path("short"));
  CHECK(r.status == Status::kInvalid && Contains(r.message, "too short"));
  // Random bytes.
  WriteBytes(Path("garbage"), bytes, sizeof bytes);
  r = open(Path("garbage"));
  CHECK(r.status == Status::kInvalid && Contains(r.message, "bad magic"));
  // Larger than any block could be (sparse: costs no space).
  WriteBytes(Path("huge"), bytes, 0);
  CHECK_EQ(truncate(Path("huge").c_str(), static_cast<off_t>(kMaxFileBytes + 1)), 0);
  r = open(Path("huge"));
  CHECK(r.status == Status::kInvalid && Contains(r.message, "more than a published block"));
  // Not a regular file: a directory, a FIFO (opening it must not block).
  r = open(Path("pub"));
  CHECK(r.status == Status::kInvalid && Contains(r.message, "not a regular file"));
  CHECK_EQ(mkfifo(Path("fifo").c_str(), 0600), 0);
  r = open(Path("fifo"));
  CHECK(r.status == Status::kInvalid && Contains(r.message, "not a regular file"));

  // A valid file, then one field broken at a time.
  int dir_fd = -1;
  CHECK(OpenDirectory(Path("pub").c_str(), geteuid(), &dir_fd).ok());
  Mapping w = MakeValid(dir_fd, "1-0", 800);
  const std::string path = Path("pub/1-0");
  CHECK(open(path).ok());
  r = open(path, kLayout + 1);
  CHECK(r.status == Status::kIncompatible && Contains(r.message, "layout version 7"));
  Header good = *w.header();
  w.header()->format_version = 2;
  r = open(path);
  CHECK(r.status == Status::kIncompatible && Contains(r.message, "file format 2"));
  *w.header() = good;
  w.header()->block_bytes = 801;
  r = open(path);
  CHECK(r.status == Status::kInvalid && Contains(r.message, "does not fit"));
  w.header()->block_bytes = 1u << 20;
  r = open(path);
  CHECK(r.status == Status::kInvalid && Contains(r.message, "does not fit"));
  *w.header() = good;
  w.header()->block_offset = 8;
  r = open(path);
  CHECK(r.status == Status::kInvalid && Contains(r.message, "block offset"));
  *w.header() = good;
  std::memset(w.header()->title, 'a', sizeof w.header()->title);
  r = open(path);
  CHECK(r.status == Status::kInvalid && Contains(r.message, "not terminated"));
  *w.header() = good;
  std::memset(w.header()->meta, '{', sizeof w.header()->meta);
  r = open(path);
  CHECK(r.status == Status::kInvalid && Contains(r.message, "not terminated"));
  *w.header() = good;
  CHECK(open(path).ok());
  w.Unmap();
  close(dir_fd);
}

void ReservationFailureLeavesNothing() {
  int dir_fd = -1;
  CHECK(OpenDirectory(Path("pub").c_str(), geteuid(), &dir_fd).ok());
  // A file-size limit stands in for a full tmpfs: posix_fallocate fails up front.
  struct rlimit old;
  CHECK_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 64 * 1024;
  CHECK_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Mapping m;
  Result r = CreateFile(dir_fd, "5-0", 1 << 20, &m);
  CHECK_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  CHECK(r.status == Status::kRefused && Contains(r.message, "cannot reserve"));
  CHECK(m.base == nullptr);
  CHECK(faccessat(dir_fd, "5-0", F_OK, 0) != 0 && errno == ENOENT);
  // Without a limit: every block is allocated before anything is written (not a sparse
  // file whose first write to a page could find no space).
  r = CreateFile(dir_fd, "6-0", 1 << 20, &m);
  CHECK(r.ok());
  struct stat st;
  CHECK_EQ(fstatat(dir_fd, "6-0", &st, 0), 0);
  CHECK(static_cast<uint64_t>(st.st_blocks) * 512 >= kHeaderBytes + (1u << 20));
  m.Unmap();
  close(dir_fd);
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/rs-published-XXXXXX";
  const char* root = mkdtemp(tmpl);
  CHECK(root != nullptr);
  if (root == nullptr) return Finish("published_test");
  g_root = root;
  DirectoryIsCreatedPrivate();
  UnsafeDirectoriesAreRefused();
  WrittenThenRead();
  ExclusiveAndNoSymlinks();
  MalformedFilesAreRefused();
  ReservationFailureLeavesNothing();
  const std::string cleanup = "rm -rf '" + g_root + "'";
  CHECK_EQ(std::system(cleanup.c_str()), 0);
  return Finish("published_test");
}
