// TickCalibration: the tick rate is learned against the monotonic clock only after a
// long enough baseline, converts accurately, and a counter that jumps turns it off.
#include <cmath>
#include <cstdint>

#include "../../native/core/clock.h"
#include "check.h"

using namespace rs;

namespace {

void LearnsTheRate() {
  TickCalibration c;
  const double ticks_per_ns = 2.9;  // a 2.9 GHz counter
  const uint64_t t0 = 1000000000000ull, n0 = 5000000000ull;
  c.Begin(t0, n0);
  CHECK(c.enabled());
  CHECK(!c.ready());
  // 10 ms in: not enough baseline yet.
  c.Update(t0 + static_cast<uint64_t>(10e6 * ticks_per_ns), n0 + 10000000);
  CHECK(!c.ready());
  // 25 ms in, with 40 ns of clock-read jitter: ready, and accurate to 1e-5.
  c.Update(t0 + static_cast<uint64_t>(25e6 * ticks_per_ns), n0 + 25000040);
  CHECK(c.ready());
  CHECK(std::fabs(c.ns_per_tick() * ticks_per_ns - 1) < 1e-5);
  CHECK(std::llabs(static_cast<long long>(c.TicksFor(1000000)) - 2900000) < 100);
  // A restart keeps the learned rate.
  c.Begin(t0 + static_cast<uint64_t>(30e6 * ticks_per_ns), n0 + 30000000);
  CHECK(c.ready());
}

void JumpDisables() {
  TickCalibration c;
  c.Begin(0, 0);
  c.Update(30000000, 30000000);  // 1 tick per ns
  CHECK(c.ready());
  c.Update(31000000, 31000000);
  CHECK(c.ready());
  // The counter jumps 50 ms ahead of the clock in 1 ms: off for good.
  c.Update(82000000, 32000000);
  CHECK(!c.ready());
  CHECK(!c.enabled());
  c.Update(83000000, 33000000);
  CHECK(!c.ready());
  // Backwards also disables.
  TickCalibration d;
  d.Begin(100, 0);
  d.Update(30000100, 30000000);
  CHECK(d.ready());
  d.Update(50, 31000000);
  CHECK(!d.enabled());
}

void DisabledStaysOff() {
  TickCalibration c;
  c.Disable();
  c.Begin(0, 0);
  c.Update(100000000, 100000000);
  CHECK(!c.ready());
  CHECK(!c.enabled());
}

void RealClocksAgree() {
  if (!InvariantTscAvailable()) return;
  TickCalibration c;
  c.Begin(ReadTsc(), MonotonicNs());
  const uint64_t end = MonotonicNs() + 30000000;
  while (MonotonicNs() < end) {
  }
  c.Update(ReadTsc(), MonotonicNs());
  CHECK(c.ready());
  const uint64_t t = ReadTsc(), n = MonotonicNs();
  const uint64_t end2 = n + 5000000;
  while (MonotonicNs() < end2) {
  }
  const double by_ticks = static_cast<double>(ReadTsc() - t) * c.ns_per_tick();
  const double by_clock = static_cast<double>(MonotonicNs() - n);
  CHECK(std::fabs(by_ticks - by_clock) < 0.01 * by_clock);
}

}  // namespace

int main() {
  LearnsTheRate();
  JumpDisables();
  DisabledStaysOff();
  RealClocksAgree();
  return Finish("clock_test");
}
