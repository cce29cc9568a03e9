// Stall profiles: the frame table's interning and every bound of the fixed buffers
// (core/stall_profile.h), then the watchdog's profile ticks against a fake loop (ticks only
// while a stall lasts, at about the profile interval). Run under ASan+UBSan and TSan.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../native/core/stall_profile.h"
#include "../../native/core/watchdog.h"
#include "check.h"

using namespace rs;

namespace {

void Frame(StallProfile* p, const std::string& name, const std::string& url, int line) {
  p->AddFrame(name.data(), name.size(), url.data(), url.size(), 7, line, 3);
}

std::string Name(const StallProfile& p, uint32_t frame) {
  uint32_t len;
  const char* s = p.string(p.frame(frame).name, &len);
  return std::string(s, len);
}

void TestInterning() {
  auto p = std::make_unique<StallProfile>();
  p->Reset(1, 42);
  CHECK_EQ(p->id(), 1u);
  CHECK_EQ(p->iteration(), 42u);
  CHECK_EQ(p->frames(), 1u);  // frame 0: "(frames not recorded)"
  CHECK(Name(*p, profile::kOverflowFrame) == profile::kOverflowName);
  for (int i = 0; i < 10; i++) {
    CHECK(p->BeginSample(1000 + i));
    Frame(p.get(), i % 2 ? "b" : "a", "/app.js", i % 2 ? 20 : 10);  // leaf
    Frame(p.get(), "main", "/app.js", 5);
    p->EndSample();
  }
  CHECK_EQ(p->samples(), 10u);
  CHECK_EQ(p->frames(), 4u);  // overflow, a, main, b: each interned once
  uint32_t depth;
  const uint16_t* f0 = p->sample_frames(0, &depth);
  CHECK_EQ(depth, 2u);
  CHECK(Name(*p, f0[0]) == "a");
  CHECK(Name(*p, f0[1]) == "main");
  const uint16_t* f1 = p->sample_frames(1, &depth);
  CHECK(Name(*p, f1[0]) == "b");
  CHECK_EQ(f1[1], f0[1]);  // the same "main" frame
  CHECK_EQ(p->sample_time(9), 1009u);
  CHECK_EQ(p->frame(f0[0]).line, 10);
  CHECK_EQ(p->frame(f0[0]).script_id, 7);
  // The same name at another line is another frame; the name's string is shared.
  CHECK(p->BeginSample(2000));
  Frame(p.get(), "a", "/app.js", 11);
  p->EndSample();
  CHECK_EQ(p->frames(), 5u);
  const uint16_t* f10 = p->sample_frames(10, &depth);
  CHECK_EQ(p->frame(f10[0]).name, p->frame(f0[0]).name);
  CHECK(!p->finished());
  p->Finish(5000);
  CHECK(p->finished());
  CHECK_EQ(p->end_ns(), 5000u);
  CHECK_EQ(p->dropped() + p->truncated() + p->frames_lost(), 0u);
  // Reset forgets everything.
  p->Reset(2, 43);
  CHECK_EQ(p->samples(), 0u);
  CHECK_EQ(p->frames(), 1u);
  CHECK(!p->finished());
}

void TestBounds() {
  auto p = std::make_unique<StallProfile>();
  p->Reset(1, 1);
  // Depth: a stack deeper than kMaxDepth keeps its leaf side and is counted as cut.
  CHECK(p->BeginSample(1));
  for (uint32_t i = 0; i < profile::kMaxDepth + 10; i++)
    Frame(p.get(), "f" + std::to_string(i), "/x.js", 1);
  p->EndSample();
  uint32_t depth;
  const uint16_t* f = p->sample_frames(0, &depth);
  CHECK_EQ(depth, profile::kMaxDepth);
  CHECK(Name(*p, f[0]) == "f0");
  CHECK_EQ(p->truncated(), 1u);
  // Names are cut at kMaxNameBytes.
  CHECK(p->BeginSample(2));
  Frame(p.get(), std::string(profile::kMaxNameBytes + 100, 'n'), "/x.js", 1);
  p->EndSample();
  f = p->sample_frames(1, &depth);
  CHECK_EQ(Name(*p, f[0]).size(), profile::kMaxNameBytes);
  // Frames: past kMaxFrames distinct ones, new frames become frame 0, counted.
  for (uint32_t i = 0; i < profile::kMaxFrames; i++) {
    if (!p->BeginSample(10 + i)) break;
    Frame(p.get(), "g", "/y.js", static_cast<int>(i));
    p->EndSample();
  }
  CHECK_EQ(p->frames(), profile::kMaxFrames);
  CHECK(p->frames_lost() > 0);
  f = p->sample_frames(p->samples() - 1, &depth);
  CHECK_EQ(f[0], profile::kOverflowFrame);
  // Samples: past kMaxSamples, dropped and counted; nothing written out of bounds (ASan).
  auto q = std::make_unique<StallProfile>();
  q->Reset(3, 1);
  for (uint32_t i = 0; i < profile::kMaxSamples + 25; i++) {
    if (q->BeginSample(i)) {
      Frame(q.get(), "h", "/z.js", 1);
      q->EndSample();
    } else {
      Frame(q.get(), "never", "/z.js", 1);  // ignored: no open sample
      q->EndSample();
    }
  }
  CHECK_EQ(q->samples(), profile::kMaxSamples);
  CHECK_EQ(q->dropped(), 25u);
  // Frame ids: kMaxFrameIds in all; a full buffer drops the sample.
  auto r = std::make_unique<StallProfile>();
  r->Reset(4, 1);
  uint32_t ids = 0;
  for (uint32_t i = 0; i < profile::kMaxSamples; i++) {
    if (!r->BeginSample(i)) break;
    for (uint32_t d = 0; d < profile::kMaxDepth; d++)
      Frame(r.get(), "d" + std::to_string(d), "/w.js", 1);
    r->EndSample();
    r->sample_frames(i, &depth);
    ids += depth;
  }
  CHECK(ids <= profile::kMaxFrameIds);
  CHECK(r->samples() < profile::kMaxSamples);
  CHECK(r->dropped() + r->truncated() > 0);
  // Strings: the pool fills with long distinct URLs; frames then go to frame 0.
  auto s = std::make_unique<StallProfile>();
  s->Reset(5, 1);
  for (uint32_t i = 0; i < 200 && s->BeginSample(i); i++) {
    Frame(s.get(), "u", std::string(profile::kMaxUrlBytes - 4, 'u') + std::to_string(1000 + i), 1);
    s->EndSample();
  }
  CHECK(s->frames_lost() > 0);
  uint32_t len;
  for (uint32_t i = 1; i < s->frames(); i++) {
    s->string(s->frame(i).url, &len);
    CHECK(len <= profile::kMaxUrlBytes);
  }
}

class FakeLoop : public WatchdogProbe {
 public:
  std::atomic<uint64_t> iterations{0};
  std::atomic<uint64_t> idle{0};
  std::atomic<int> ticks{0};
  std::atomic<uint64_t> tick_iteration{0};
  std::atomic<int> gaps_kept{0};
  double gaps_ms[4096];  // between ticks, written by the watchdog thread only
  std::chrono::steady_clock::time_point last_tick{};
  uint64_t Iterations() override { return iterations.load(std::memory_order_relaxed); }
  uint64_t IdleNs() override { return idle.load(std::memory_order_relaxed); }
  bool OnStall(uint64_t, uint64_t) override { return true; }
  void OnStallTick(uint64_t iteration) override {
    const auto now = std::chrono::steady_clock::now();
    if (ticks.fetch_add(1) > 0 && gaps_kept.load() < 4096) {
      gaps_ms[gaps_kept.load()] =
          std::chrono::duration<double, std::milli>(now - last_tick).count();
      gaps_kept.fetch_add(1);
    }
    last_tick = now;
    tick_iteration.store(iteration);
  }
};

void TestTicks() {
  std::vector<double> region(k::STALL_REGION_SLOTS, 0);
  FakeLoop loop;
  Watchdog wd;
  const uint64_t ms = 1000000;
  // Checks every 20 ms; profile ticks every 2 ms on average, only during a stall.
  CHECK_EQ(wd.Start(region.data(), 30 * ms, 20 * ms, &loop, 2 * ms), 0);
  for (uint64_t i = 1; i <= 50; i++) {
    loop.iterations.store(i);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK_EQ(loop.ticks.load(), 0);  // no stall, no tick
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a stall at iteration 50
  const int during = loop.ticks.load();
  loop.iterations.store(51);
  const double stalled_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (uint64_t i = 52; i <= 80; i++) {  // the loop moves again
    loop.iterations.store(i);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const int after = loop.ticks.load();
  wd.Stop();
  // Seen stalled after 30–50 ms: ~250 ms of ticks at 2 ms on average is ~125; a loaded
  // machine stretches sleeps, so only a wide band is asserted (the point: far more than
  // the 20 ms checks alone would give, ~12, and not many more than the mean allows).
  CHECK(during >= 40);
  CHECK(during <= static_cast<int>(stalled_ms));
  CHECK_EQ(loop.tick_iteration.load(), 50u);
  CHECK(after - during <= 2);  // stops once the loop moves
  // Poisson sampling: the gaps are exponential (coefficient of variation ~1; a fixed or
  // ±25% jittered period gives < 0.2), and their mean is the interval's.
  const int n = loop.gaps_kept.load();
  double sum = 0, sq = 0;
  for (int i = 0; i < n; i++) sum += loop.gaps_ms[i];
  const double mean = sum / n;
  for (int i = 0; i < n; i++) sq += (loop.gaps_ms[i] - mean) * (loop.gaps_ms[i] - mean);
  const double cv = std::sqrt(sq / n) / mean;
  std::printf("profile ticks: %d gaps, mean %.2f ms, cv %.2f\n", n, mean, cv);
  CHECK(cv > 0.5);
  CHECK(mean > 1.5 && mean < 4);
}

}  // namespace

int main() {
  TestInterning();
  TestBounds();
  TestTicks();
  return Finish("stall_profile");
}
