// One stall's profile: the stacks sampled while it lasted (watchdog.profile), kept in
// fixed memory. Each frame (function name, script, script id, line, column) is interned
// once into a small id; a sample is its time and the ids of its frames, leaf first.
// Everything is sized when the sampler starts, so sampling never allocates: what does not
// fit is counted (samples dropped, stacks cut at the depth bound, frames the table had no
// room for — those become frame 0, "(frames not recorded)").
//
// Used on the JS thread only (V8's interrupt samples, the loop's check callback finishes,
// the binding reads): no synchronisation. No Node or V8 headers: the caller copies each
// frame's strings out of V8 and hands the bytes here.
#ifndef RUNTIME_SAMPLER_CORE_STALL_PROFILE_H_
#define RUNTIME_SAMPLER_CORE_STALL_PROFILE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rs {

namespace profile {
constexpr uint32_t kMaxDepth = 64;        // frames kept per sample (the leaf's side)
constexpr uint32_t kMaxSamples = 1000;    // samples per stall (10 s at 10 ms)
constexpr uint32_t kMaxFrameIds = 32768;  // frame ids over all samples of a stall
constexpr uint32_t kMaxFrames = 1024;     // distinct frames per stall, frame 0 included
constexpr uint32_t kMaxStrings = 1024;    // distinct names and script URLs
constexpr uint32_t kStringBytes = 32 * 1024;
constexpr uint32_t kMaxNameBytes = 256;  // a longer function name or URL is cut
constexpr uint32_t kMaxUrlBytes = 512;
constexpr uint32_t kOverflowFrame = 0;
constexpr char kOverflowName[] = "(frames not recorded)";
// Profiles kept at once: the one being sampled and the last finished ones, waiting for
// the sampler's thread to take them on its next drain (about 150 KB each).
constexpr uint32_t kSlots = 4;
}  // namespace profile

struct ProfileFrame {
  uint32_t name;  // string ids
  uint32_t url;
  int32_t script_id;
  int32_t line;
  int32_t column;
};

class StallProfile {
 public:
  StallProfile() = default;
  StallProfile(const StallProfile&) = delete;
  StallProfile& operator=(const StallProfile&) = delete;

  // Starts profile `id` (ids start at 1; 0 means none) for loop iteration `iteration`.
  void Reset(uint64_t id, uint64_t iteration) {
    id_ = id;
    iteration_ = iteration;
    finished_ = false;
    samples_ = 0;
    ids_used_ = 0;
    frames_ = 0;
    strings_ = 0;
    string_bytes_ = 0;
    dropped_ = truncated_ = frames_lost_ = missed_ = 0;
    end_ns_ = 0;
    std::memset(string_index_, 0, sizeof(string_index_));
    std::memset(frame_index_, 0, sizeof(frame_index_));
    const uint32_t name = InternString(profile::kOverflowName, sizeof(profile::kOverflowName) - 1);
    const uint32_t empty = InternString("", 0);
    frame_table_[frames_++] = ProfileFrame{name, empty, 0, 0, 0};
    InsertFrameIndex(HashFrame(frame_table_[0]), 0);
  }

  // A sample at `time_ns`; false when there is no room (counted as dropped). Between a
  // true BeginSample() and EndSample(), AddFrame() appends the stack's frames, leaf first.
  bool BeginSample(uint64_t time_ns) {
    if (samples_ >= profile::kMaxSamples || ids_used_ + 1 > profile::kMaxFrameIds) {
      dropped_++;
      return false;
    }
    sample_time_[samples_] = time_ns;
    sample_start_[samples_] = ids_used_;
    open_ = true;
    return true;
  }

  // `name` and `url` are UTF-8 bytes, cut here to the bounds above.
  void AddFrame(const char* name, size_t name_len, const char* url, size_t url_len,
                int32_t script_id, int32_t line, int32_t column) {
    if (!open_) return;
    const uint32_t depth = ids_used_ - sample_start_[samples_];
    if (depth >= profile::kMaxDepth || ids_used_ >= profile::kMaxFrameIds) {
      depth_cut_ = true;
      return;
    }
    frame_ids_[ids_used_++] =
        static_cast<uint16_t>(InternFrame(name, name_len, url, url_len, script_id, line, column));
  }

  void EndSample() {
    if (!open_) return;
    open_ = false;
    if (depth_cut_) truncated_++;
    depth_cut_ = false;
    samples_++;
    sample_start_[samples_] = ids_used_;
  }

  void Finish(uint64_t end_ns) {
    finished_ = true;
    end_ns_ = end_ns;
  }

  uint64_t id() const { return id_; }
  uint64_t iteration() const { return iteration_; }
  bool finished() const { return finished_; }
  uint64_t end_ns() const { return end_ns_; }
  uint32_t samples() const { return samples_; }
  uint64_t sample_time(uint32_t i) const { return sample_time_[i]; }
  // Sample i's frame ids, leaf first.
  const uint16_t* sample_frames(uint32_t i, uint32_t* depth) const {
    *depth = sample_start_[i + 1] - sample_start_[i];
    return frame_ids_ + sample_start_[i];
  }
  uint32_t frames() const { return frames_; }
  const ProfileFrame& frame(uint32_t i) const { return frame_table_[i]; }
  const char* string(uint32_t i, uint32_t* len) const {
    *len = string_table_[i].len;
    return string_pool_ + string_table_[i].offset;
  }
  uint32_t dropped() const { return dropped_; }
  uint32_t truncated() const { return truncated_; }
  uint32_t frames_lost() const { return frames_lost_; }
  // Profile ticks that found the previous sample still waiting to run (the JS thread was
  // outside JavaScript, in native code or a system call): set by the caller at Finish().
  uint32_t missed() const { return missed_; }
  void set_missed(uint32_t n) { missed_ = n; }

 private:
  struct StringEntry {
    uint32_t offset;
    uint32_t len;
    uint32_t hash;
  };
  static constexpr uint32_t kStringIndexSize = profile::kMaxStrings * 2;  // powers of two
  static constexpr uint32_t kFrameIndexSize = profile::kMaxFrames * 2;
  static constexpr uint32_t kNoString = UINT32_MAX;

  static uint32_t Mix(uint32_t h, uint32_t v) {
    // FNV-1a over the value's bytes.
    for (int i = 0; i < 4; i++) {
      h ^= (v >> (8 * i)) & 0xffu;
      h *= 16777619u;
    }
    return h;
  }
  static uint32_t HashBytes(const char* s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
      h ^= static_cast<unsigned char>(s[i]);
      h *= 16777619u;
    }
    return h;
  }
  static uint32_t HashFrame(const ProfileFrame& f) {
    uint32_t h = 2166136261u;
    h = Mix(h, f.name);
    h = Mix(h, f.url);
    h = Mix(h, static_cast<uint32_t>(f.script_id));
    h = Mix(h, static_cast<uint32_t>(f.line));
    return Mix(h, static_cast<uint32_t>(f.column));
  }

  // The string's id, or kNoString when the table or the pool is full.
  uint32_t InternString(const char* s, size_t n) {
    const uint32_t h = HashBytes(s, n);
    uint32_t pos = h & (kStringIndexSize - 1);
    for (;;) {
      const uint32_t entry = string_index_[pos];
      if (entry == 0) break;
      const StringEntry& e = string_table_[entry - 1];
      if (e.hash == h && e.len == n && std::memcmp(string_pool_ + e.offset, s, n) == 0)
        return entry - 1;
      pos = (pos + 1) & (kStringIndexSize - 1);
    }
    if (strings_ >= profile::kMaxStrings || n > profile::kStringBytes - string_bytes_)
      return kNoString;
    std::memcpy(string_pool_ + string_bytes_, s, n);
    string_table_[strings_] = StringEntry{string_bytes_, static_cast<uint32_t>(n), h};
    string_bytes_ += static_cast<uint32_t>(n);
    string_index_[pos] = static_cast<uint16_t>(++strings_);
    return strings_ - 1;
  }

  void InsertFrameIndex(uint32_t h, uint32_t id) {
    uint32_t pos = h & (kFrameIndexSize - 1);
    while (frame_index_[pos] != 0) pos = (pos + 1) & (kFrameIndexSize - 1);
    frame_index_[pos] = static_cast<uint16_t>(id + 1);
  }

  uint32_t InternFrame(const char* name, size_t name_len, const char* url, size_t url_len,
                       int32_t script_id, int32_t line, int32_t column) {
    if (name_len > profile::kMaxNameBytes) name_len = profile::kMaxNameBytes;
    if (url_len > profile::kMaxUrlBytes) url_len = profile::kMaxUrlBytes;
    const uint32_t n = InternString(name, name_len);
    const uint32_t u = n == kNoString ? kNoString : InternString(url, url_len);
    if (u == kNoString) {
      frames_lost_++;
      return profile::kOverflowFrame;
    }
    const ProfileFrame f{n, u, script_id, line, column};
    const uint32_t h = HashFrame(f);
    uint32_t pos = h & (kFrameIndexSize - 1);
    for (;;) {
      const uint32_t entry = frame_index_[pos];
      if (entry == 0) break;
      const ProfileFrame& e = frame_table_[entry - 1];
      if (e.name == n && e.url == u && e.script_id == script_id && e.line == line &&
          e.column == column)
        return entry - 1;
      pos = (pos + 1) & (kFrameIndexSize - 1);
    }
    if (frames_ >= profile::kMaxFrames) {
      frames_lost_++;
      return profile::kOverflowFrame;
    }
    frame_table_[frames_] = f;
    frame_index_[pos] = static_cast<uint16_t>(frames_ + 1);
    return frames_++;
  }

  uint64_t id_ = 0;
  uint64_t iteration_ = 0;
  bool finished_ = false;
  bool open_ = false;
  bool depth_cut_ = false;
  uint64_t end_ns_ = 0;
  uint32_t samples_ = 0;
  uint32_t ids_used_ = 0;
  uint32_t frames_ = 0;
  uint32_t strings_ = 0;
  uint32_t string_bytes_ = 0;
  uint32_t dropped_ = 0;
  uint32_t truncated_ = 0;
  uint32_t frames_lost_ = 0;
  uint32_t missed_ = 0;
  uint64_t sample_time_[profile::kMaxSamples];
  uint32_t sample_start_[profile::kMaxSamples + 1];
  uint16_t frame_ids_[profile::kMaxFrameIds];
  ProfileFrame frame_table_[profile::kMaxFrames];
  uint16_t frame_index_[kFrameIndexSize];
  StringEntry string_table_[profile::kMaxStrings];
  uint16_t string_index_[kStringIndexSize];
  char string_pool_[profile::kStringBytes];
};

static_assert(profile::kMaxFrames <= 65535 && profile::kMaxStrings <= 65535,
              "frame and string ids are 16-bit in the indexes");

}  // namespace rs

#endif  // RUNTIME_SAMPLER_CORE_STALL_PROFILE_H_
