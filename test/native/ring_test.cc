// SPSC ring: order, wraparound of the free-running counters, drop-when-full, and a
// producer and a consumer on two threads (run under ThreadSanitizer too).
#include <cstring>
#include <thread>
#include <vector>

#include "../../native/core/layout.h"
#include "../../native/core/ring.h"
#include "check.h"

using namespace rs;

namespace {

struct TestRing {
  std::vector<double> control = std::vector<double>(k::RING_CONTROL_SLOTS, 0);
  std::vector<double> records;
  Ring ring;
  explicit TestRing(uint32_t cap) : records(static_cast<size_t>(cap) * k::RECORD_SLOTS, 0) {
    Ring::Init(control.data(), cap);
    ring = Ring(control.data(), records.data(), cap);
  }
  bool Push(double tag) {
    double* r = ring.Reserve();
    if (r == nullptr) return false;
    for (uint32_t i = 0; i < k::RECORD_SLOTS; i++) StoreSlot(r + i, tag + i);
    ring.Commit();
    return true;
  }
};

void OrderAndOverflow() {
  TestRing t(64);
  for (int i = 0; i < 64; i++) CHECK(t.Push(i * 100.0));
  CHECK(!t.Push(-1));  // full: dropped, not overwritten
  CHECK_EQ(t.ring.Size(), 64u);
  double out[k::RECORD_SLOTS];
  for (int i = 0; i < 64; i++) {
    CHECK(t.ring.Pop(out));
    CHECK_EQ(out[0], i * 100.0);
    CHECK_EQ(out[k::RECORD_SLOTS - 1], i * 100.0 + k::RECORD_SLOTS - 1);
  }
  CHECK(!t.ring.Pop(out));
  CHECK_EQ(t.ring.Size(), 0u);
}

void CounterWraparound() {
  // Start both counters just below 2^32 so head wraps past zero while tail has not.
  TestRing t(64);
  const uint32_t start = 0xFFFFFFF0u;
  StoreWord(WordOf(t.control.data() + k::RING_HEAD_SLOT), start);
  StoreWord(WordOf(t.control.data() + k::RING_TAIL_SLOT), start);
  double out[k::RECORD_SLOTS];
  for (int round = 0; round < 10; round++) {
    for (int i = 0; i < 40; i++) CHECK(t.Push(round * 1000.0 + i));
    CHECK_EQ(t.ring.Size(), 40u);
    for (int i = 0; i < 40; i++) {
      CHECK(t.ring.Pop(out));
      CHECK_EQ(out[0], round * 1000.0 + i);
    }
  }
  CHECK(LoadWord(WordOf(t.control.data() + k::RING_HEAD_SLOT)) < start);  // it did wrap
  // Full detection across the wrap.
  for (int i = 0; i < 64; i++) CHECK(t.Push(i));
  CHECK(!t.Push(99));
}

void ConcurrentProducerConsumer() {
  TestRing t(256);
  const int n = 200000;
  int dropped = 0;
  std::thread producer([&] {
    for (int i = 0; i < n; i++) {
      while (!t.Push(i)) {
        dropped++;
        std::this_thread::yield();
      }
    }
  });
  double out[k::RECORD_SLOTS];
  int next = 0;
  bool torn = false;
  while (next < n) {
    if (!t.ring.Pop(out)) continue;
    if (out[0] != next) torn = true;
    for (uint32_t i = 1; i < k::RECORD_SLOTS; i++) {
      if (out[i] != next + static_cast<double>(i)) torn = true;
    }
    next++;
  }
  producer.join();
  CHECK(!torn);
  CHECK_EQ(next, n);
  std::printf("  concurrent: %d records, producer found the ring full %d times\n", n, dropped);
}

}  // namespace

int main() {
  OrderAndOverflow();
  CounterWraparound();
  ConcurrentProducerConsumer();
  return Finish("ring_test");
}
