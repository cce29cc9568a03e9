// A sampler's block in a file other processes can map (the HotSpot hsperfdata model): one
// file per sampler, a fixed header page, then the block exactly as in process memory.
//
// Everything here is the file-system half of publishing, with no Node or V8 include:
// - the directory is used only if it is ours: owned by this uid, a real directory (never a
//   symlink), not group/world writable; created 0700 when missing;
// - a file is created with O_EXCL | O_NOFOLLOW through the directory's descriptor (no path
//   race), mode 0600, and its blocks reserved with posix_fallocate, so a full tmpfs is a
//   clear refusal at start and never a SIGBUS on a later write;
// - a reader maps the file it opened read-only (private, copy-on-write) and validates magic,
//   sizes, formats and offsets before it trusts a byte; a file of another layout is
//   "incompatible", anything else malformed is "invalid".
// The writer writes the header's fields first and the magic last (release): a reader that
// sees the magic sees the fields.
#ifndef RUNTIME_SAMPLER_CORE_PUBLISHED_H_
#define RUNTIME_SAMPLER_CORE_PUBLISHED_H_

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace rs {
namespace pub {

// "RSBLOCK1" as a little-endian uint64.
constexpr uint64_t kMagic = 0x314b434f4c425352ull;
constexpr uint32_t kFormatVersion = 1;
// The header takes one page, so the block that follows is page- and double-aligned.
constexpr uint32_t kHeaderBytes = 4096;
// A reader refuses anything larger: no published block is near it, and a hostile file must
// not make a reader map gigabytes.
constexpr uint64_t kMaxFileBytes = 64ull << 20;

struct Header {
  uint64_t magic;  // written last
  uint32_t header_bytes;
  uint32_t format_version;
  uint32_t layout_version;
  uint32_t abi;
  uint64_t layout_hash;
  uint64_t block_offset;
  uint64_t block_bytes;
  int64_t pid;
  int64_t thread_id;
  // Field 22 of /proc/<pid>/stat (clock ticks since boot): with the pid, names a process
  // even after its pid is reused.
  uint64_t start_ticks;
  int32_t worker_id;  // node:cluster worker id, or -1
  uint32_t reserved;
  char node_version[32];
  char title[256];
  // What a reader needs to make its view, as JSON written by the library (heap space names,
  // options, layout parameters); validated by the reader like any handle. NUL-terminated.
  char meta[2048];
};
static_assert(sizeof(Header) <= kHeaderBytes, "the header fits its page");

enum class Status { kOk, kRefused, kInvalid, kIncompatible };

struct Result {
  Status status = Status::kOk;
  std::string message;  // what was wrong, with the path
  bool ok() const { return status == Status::kOk; }
};

inline Result Fail(Status s, const std::string& what) { return Result{s, what}; }

inline std::string ErrnoText(int e) { return std::string(std::strerror(e)); }

// fstat of a descriptor just opened for `path`; on failure it is closed.
inline Result StatOrClose(int fd, const char* path, struct stat* st) {
  if (fstat(fd, st) == 0) return Result{};
  const int e = errno;
  close(fd);
  return Fail(Status::kRefused, std::string("cannot stat ") + path + ": " + ErrnoText(e));
}

// Opens `path` as our publishing directory, creating it 0700 when it is missing (its parent
// must exist) and `create` is set. On success `*dir_fd` is an O_DIRECTORY descriptor the
// caller closes.
inline Result OpenDirectory(const char* path, uid_t uid, int* dir_fd, bool create = true) {
  *dir_fd = -1;
  if (create && mkdir(path, 0700) != 0 && errno != EEXIST) {
    return Fail(Status::kRefused, std::string("cannot create ") + path + ": " + ErrnoText(errno));
  }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP || e == ENOTDIR) {
      struct stat st;
      if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        return Fail(Status::kRefused, std::string(path) + " is a symbolic link");
      return Fail(Status::kRefused, std::string(path) + " is not a directory");
    }
    return Fail(Status::kRefused, std::string("cannot open ") + path + ": " + ErrnoText(e));
  }
  struct stat st;
  Result r = StatOrClose(fd, path, &st);
  if (!r.ok()) return r;
  if (st.st_uid != uid) {
    close(fd);
    return Fail(Status::kRefused, std::string(path) + " is owned by uid " +
                                      std::to_string(st.st_uid) + ", not by this user (uid " +
                                      std::to_string(uid) + ")");
  }
  if ((st.st_mode & 022) != 0) {
    close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Fail(Status::kRefused,
                std::string(path) + " is writable by others (mode " + mode + "; 0700 is accepted)");
  }
  *dir_fd = fd;
  return Result{};
}

// A file mapped into this process: writable for its writer, read-only for a reader. The
// block's place is kept here as validated, never re-read from the (shared) header.
struct Mapping {
  void* base = nullptr;
  size_t bytes = 0;
  uint64_t block_offset = 0;
  uint64_t block_bytes = 0;
  Header* header() const { return static_cast<Header*>(base); }
  double* block() const {
    return reinterpret_cast<double*>(static_cast<char*>(base) + block_offset);
  }
  void Unmap() {
    if (base != nullptr) munmap(base, bytes);
    base = nullptr;
    bytes = 0;
  }
};

// Creates `name` in the directory, reserves header + block_bytes and maps it writable. The
// header is zero but for its sizes; the caller fills it and then calls Seal(). On failure
// nothing is left behind.
inline Result CreateFile(int dir_fd, const char* name, uint64_t block_bytes, Mapping* out) {
  *out = Mapping{};
  if (std::strchr(name, '/') != nullptr || name[0] == '\0' || name[0] == '.')
    return Fail(Status::kRefused, std::string("bad file name ") + name);
  const uint64_t total = kHeaderBytes + block_bytes;
  int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return Fail(Status::kRefused, std::string("cannot create ") + name + ": " + ErrnoText(errno));
  auto undo = [&](const std::string& why) {
    close(fd);
    unlinkat(dir_fd, name, 0);
    return Fail(Status::kRefused, why);
  };
  // The umask may only take bits away; make the mode exactly 0600.
  if (fchmod(fd, 0600) != 0)
    return undo(std::string("cannot chmod ") + name + ": " + ErrnoText(errno));
  const int e = posix_fallocate(fd, 0, static_cast<off_t>(total));
  if (e != 0) {
    return undo(std::string("cannot reserve ") + std::to_string(total) + " bytes for " + name +
                ": " + ErrnoText(e));
  }
  void* base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return undo(std::string("cannot map ") + name + ": " + ErrnoText(errno));
  close(fd);  // the mapping keeps the file
  out->base = base;
  out->bytes = total;
  out->block_offset = kHeaderBytes;
  out->block_bytes = block_bytes;
  Header* h = out->header();
  h->header_bytes = kHeaderBytes;
  h->format_version = kFormatVersion;
  h->block_offset = kHeaderBytes;
  h->block_bytes = block_bytes;
  return Result{};
}

// Publishes the header: the magic goes last, so a reader that sees it sees every field.
inline void Seal(Header* h) { __atomic_store_n(&h->magic, kMagic, __ATOMIC_RELEASE); }

// Copies `s` into a fixed header field, always NUL-terminated.
template <size_t N>
inline void SetText(char (&field)[N], const char* s) {
  std::strncpy(field, s, N - 1);
  field[N - 1] = '\0';
}

// Maps `path` read-only after checking it is a regular file of this user, of a sane size,
// and that its header is whole and consistent; `layout_version` is the reader's own.
// `*header` receives the validated copy of the header (the file's own may change under a
// hostile writer after the check; nothing is read from it again).
inline Result OpenForRead(const char* path, uid_t uid, uint32_t layout_version, Mapping* out,
                          Header* header) {
  *out = Mapping{};
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP) return Fail(Status::kRefused, std::string(path) + " is a symbolic link");
    return Fail(Status::kRefused, std::string("cannot open ") + path + ": " + ErrnoText(e));
  }
  struct stat st;
  Result r = StatOrClose(fd, path, &st);
  if (!r.ok()) return r;
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Fail(Status::kInvalid, std::string(path) + " is not a regular file");
  }
  if (st.st_uid != uid) {
    close(fd);
    return Fail(Status::kRefused, std::string(path) + " is owned by uid " +
                                      std::to_string(st.st_uid) + ", not by this user");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderBytes) {
    close(fd);
    return Fail(Status::kInvalid, std::string(path) + " is " + std::to_string(size) +
                                      " bytes: too short for a header (" +
                                      std::to_string(kHeaderBytes) + ")");
  }
  if (size > kMaxFileBytes) {
    close(fd);
    return Fail(Status::kInvalid, std::string(path) + " is " + std::to_string(size) +
                                      " bytes: more than a published block can be (" +
                                      std::to_string(kMaxFileBytes) + ")");
  }
  // Private and copy-on-write: the file was opened read-only and no store of this process
  // (a stray write into the JavaScript buffer included) can reach it or the writer; pages
  // this process never writes stay the file's own, so the writer's updates show through.
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  close(fd);
  if (base == MAP_FAILED)
    return Fail(Status::kRefused, std::string("cannot map ") + path + ": " + ErrnoText(map_errno));
  Mapping m;
  m.base = base;
  m.bytes = size;
  if (__atomic_load_n(&m.header()->magic, __ATOMIC_ACQUIRE) != kMagic) {
    m.Unmap();
    return Fail(Status::kInvalid, std::string(path) + ": not a runtime-sampler block (bad magic)");
  }
  Header copy;
  std::memcpy(&copy, m.base, sizeof copy);
  const Header* h = &copy;
  auto bad = [&](Status s, const std::string& why) {
    m.Unmap();
    return Fail(s, std::string(path) + ": " + why);
  };
  if (h->format_version != kFormatVersion)
    return bad(Status::kIncompatible, "file format " + std::to_string(h->format_version) +
                                          ", this reader knows " + std::to_string(kFormatVersion));
  if (h->header_bytes != kHeaderBytes || h->block_offset != kHeaderBytes)
    return bad(Status::kInvalid,
               "header size or block offset is not " + std::to_string(kHeaderBytes));
  if (h->block_bytes == 0 || h->block_bytes % sizeof(double) != 0 ||
      h->block_bytes > size - kHeaderBytes)
    return bad(Status::kInvalid, "block of " + std::to_string(h->block_bytes) +
                                     " bytes does not fit the file's " + std::to_string(size));
  if (h->layout_version != layout_version)
    return bad(Status::kIncompatible, "layout version " + std::to_string(h->layout_version) +
                                          ", this reader's is " + std::to_string(layout_version));
  if (h->node_version[sizeof h->node_version - 1] != '\0' ||
      h->title[sizeof h->title - 1] != '\0' || h->meta[sizeof h->meta - 1] != '\0')
    return bad(Status::kInvalid, "header text is not terminated");
  m.block_offset = h->block_offset;
  m.block_bytes = h->block_bytes;
  *out = m;
  *header = copy;
  return Result{};
}

}  // namespace pub
}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_PUBLISHED_H_
