// The stall watchdog: its decision step by step, then the real thread against a fake loop
// thread (an iteration counter and an idle clock), with a reader thread copying the stall
// region under the seqlock all along. Run under ThreadSanitizer and ASan+UBSan.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "../../native/core/watchdog.h"
#include "check.h"

using namespace rs;

namespace {

void TestSteps() {
  WatchdogState s;
  const uint64_t ms = 1000000;
  CHECK(WatchdogStep(&s, 0, 0, 0, 50 * ms) == WatchdogEvent::kNone);        // primes
  CHECK(WatchdogStep(&s, 5, 0, 10 * ms, 50 * ms) == WatchdogEvent::kNone);  // iterations moved
  CHECK_EQ(s.progress_ns, 10 * ms);
  CHECK(WatchdogStep(&s, 5, 7, 40 * ms, 50 * ms) == WatchdogEvent::kNone);  // idle grew: waiting
  CHECK(WatchdogStep(&s, 5, 7, 80 * ms, 50 * ms) == WatchdogEvent::kNone);  // 40 ms still
  CHECK(WatchdogStep(&s, 5, 7, 90 * ms, 50 * ms) == WatchdogEvent::kStallBegan);
  CHECK(s.stalled);
  CHECK(WatchdogStep(&s, 5, 7, 200 * ms, 50 * ms) == WatchdogEvent::kNone);  // once per stall
  CHECK(WatchdogStep(&s, 6, 7, 210 * ms, 50 * ms) == WatchdogEvent::kStallEnded);
  CHECK(!s.stalled);
  // A loop blocked in poll (idle time growing) is never a stall.
  for (uint64_t t = 220; t < 1000; t += 10) {
    CHECK(WatchdogStep(&s, 6, t, t * ms, 50 * ms) == WatchdogEvent::kNone);
  }
}

// The iteration running when the watchdog starts (a preload's holds the app's whole
// synchronous start-up) is not judged; the first one after it is.
void TestStartupIteration() {
  WatchdogState s;
  const uint64_t ms = 1000000;
  CHECK(WatchdogStep(&s, 3, 9, 0, 50 * ms) == WatchdogEvent::kNone);  // primed at start
  for (uint64_t t = 10; t <= 400; t += 10) {
    CHECK(WatchdogStep(&s, 3, 9, t * ms, 50 * ms) == WatchdogEvent::kNone);  // start-up: 400 ms
  }
  CHECK(!s.armed);
  CHECK(WatchdogStep(&s, 4, 9, 410 * ms, 50 * ms) == WatchdogEvent::kNone);  // it ends
  CHECK(s.armed);
  CHECK(WatchdogStep(&s, 4, 9, 450 * ms, 50 * ms) == WatchdogEvent::kNone);
  CHECK(WatchdogStep(&s, 4, 9, 460 * ms, 50 * ms) == WatchdogEvent::kStallBegan);  // a real stall
  // Idle time growing ends the start-up iteration too (the loop waited for events).
  WatchdogState w;
  CHECK(WatchdogStep(&w, 3, 9, 0, 50 * ms) == WatchdogEvent::kNone);
  CHECK(WatchdogStep(&w, 3, 9, 100 * ms, 50 * ms) == WatchdogEvent::kNone);
  CHECK(WatchdogStep(&w, 3, 12, 110 * ms, 50 * ms) == WatchdogEvent::kNone);
  CHECK(WatchdogStep(&w, 3, 12, 170 * ms, 50 * ms) == WatchdogEvent::kStallBegan);
}

class FakeLoop : public WatchdogProbe {
 public:
  std::atomic<uint64_t> iterations{0};
  std::atomic<uint64_t> idle{0};
  std::atomic<int> stalls{0};
  std::atomic<uint64_t> stalled_at{0};
  uint64_t Iterations() override { return iterations.load(std::memory_order_relaxed); }
  uint64_t IdleNs() override { return idle.load(std::memory_order_relaxed); }
  bool OnStall(uint64_t iteration, uint64_t) override {
    stalls.fetch_add(1);
    stalled_at.store(iteration);
    return true;
  }
};

void TestThread() {
  std::vector<double> region(k::STALL_REGION_SLOTS, 0);
  FakeLoop loop;
  Watchdog wd;
  const uint64_t ms = 1000000;
  CHECK_EQ(wd.Start(region.data(), 50 * ms, 2 * ms, &loop), 0);
  CHECK(wd.running());
  std::atomic<bool> done{false};
  std::atomic<int> seen_active{0};
  // A reader on a third thread: every consistent copy has either no stall, or a stall at
  // the iteration the loop is stuck in.
  std::thread reader([&] {
    std::vector<double> copy(k::STALL_REGION_SLOTS);
    while (!done.load()) {
      if (SeqRead(WordOf(region.data()), region.data() + 1, copy.data() + 1,
                  k::STALL_REGION_SLOTS - 1) < 0)
        continue;
      if (copy[STALL_ACTIVE_SINCE_NS] != 0) {
        seen_active.fetch_add(1);
        CHECK_EQ(copy[STALL_ITERATION], 1000);
      }
      CHECK_EQ(copy[STALL_THRESHOLD_NS], static_cast<double>(50 * ms));
    }
  });
  // Busy iterations, then waiting for events, then a 200 ms stall at iteration 1000.
  for (uint64_t i = 1; i <= 1000; i++) {
    loop.iterations.store(i);
    if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (int i = 0; i < 60; i++) {
    loop.idle.fetch_add(1000000);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK_EQ(loop.stalls.load(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_EQ(loop.stalls.load(), 1);
  CHECK_EQ(loop.stalled_at.load(), 1000u);
  CHECK(LoadSlot(region.data() + STALL_ACTIVE_SINCE_NS) > 0);
  loop.iterations.store(1001);  // the stalled iteration ends
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_EQ(LoadSlot(region.data() + STALL_ACTIVE_SINCE_NS), 0);
  CHECK_EQ(LoadSlot(region.data() + STALL_STACK_REQUESTS), 1);
  CHECK(LoadSlot(region.data() + STALL_CHECKS) > 50);
  done.store(true);
  reader.join();
  CHECK(seen_active.load() > 0);
  wd.Stop();
  wd.Stop();  // idempotent
  CHECK(!wd.running());
  // Restartable, and Stop() returns at once (it does not wait out the interval).
  CHECK_EQ(wd.Start(region.data(), 50 * ms, 60000 * ms, &loop), 0);
  const auto t0 = std::chrono::steady_clock::now();
  wd.Stop();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
}

}  // namespace

int main() {
  TestSteps();
  TestStartupIteration();
  TestThread();
  return Finish("watchdog");
}
