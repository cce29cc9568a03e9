// Seqlock: a writer thread keeps every slot of a region equal to one counter value; a
// reader thread must never see two different values in one consistent copy.
#include <atomic>
#include <thread>
#include <vector>

#include "../../native/core/seqlock.h"
#include "check.h"

using namespace rs;

int main() {
  const uint32_t slots = 96;
  std::vector<double> region(slots + 1, 0);  // slot 0: sequence word
  uint32_t* seq = WordOf(region.data());
  double* data = region.data() + 1;
  std::atomic<bool> done{false};
  const int writes = 100000;

  std::thread writer([&] {
    SeqWriter w(seq);
    for (int v = 1; v <= writes; v++) {
      w.Begin();
      for (uint32_t i = 0; i < slots; i++) StoreSlot(data + i, v);
      w.End();
      // Real writers update at GC and loop-iteration boundaries, not back to back; a
      // writer that never pauses could starve readers, which a seqlock permits.
      if (v % 4 == 0) std::this_thread::yield();
    }
    done.store(true);
  });

  std::vector<double> copy(slots);
  long reads = 0, retries = 0, torn = 0;
  double last = 0;
  bool went_back = false;
  while (!done.load()) {
    // Unbounded retries: under ThreadSanitizer on two cores a reader can be starved for a
    // long time by a busy writer, which a seqlock permits; what must never happen is a
    // torn copy.
    int r = SeqRead(seq, data, copy.data(), slots, 1 << 30);
    CHECK(r >= 0);
    retries += r;
    reads++;
    for (uint32_t i = 1; i < slots; i++) {
      if (copy[i] != copy[0]) {
        torn++;
        break;
      }
    }
    if (copy[0] < last) went_back = true;
    last = copy[0];
  }
  writer.join();
  int r = SeqRead(seq, data, copy.data(), slots);
  CHECK_EQ(r, 0);
  CHECK_EQ(copy[0], static_cast<double>(writes));
  CHECK_EQ(torn, 0L);
  CHECK(!went_back);
  CHECK(reads > 0);
  CHECK_EQ(LoadWord(seq) % 2, 0u);
  std::printf("  %ld consistent reads, %ld retries, 0 torn\n", reads, retries);

  // A writer that died mid-update (odd sequence) makes a bounded reader give up.
  StoreWord(seq, LoadWord(seq) + 1);
  CHECK_EQ(SeqRead(seq, data, copy.data(), slots, 1000), -1);
  return Finish("seqlock_test");
}
