// Histogram bucket function: OpenTelemetry boundaries (upper-inclusive), monotonicity,
// clamping, agreement with the TypeScript vectors, and recording into a block region.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../../native/core/histogram.h"
#include "check.h"

using namespace rs;

namespace {

void Boundaries() {
  for (uint32_t scale = k::HIST_MIN_SCALE; scale <= k::HIST_MAX_SCALE; scale++) {
    const int32_t per = 1 << scale;
    // Exact powers of two sit at the top of the bucket below them: (2^(e-1/per), 2^e].
    for (int e = 1; e < 40; e++) {
      double v = std::ldexp(1.0, e);
      CHECK_EQ(BucketIndex(v, scale), e * per - 1);
      CHECK_EQ(BucketIndex(std::nextafter(v, INFINITY), scale), e * per);
    }
    CHECK_EQ(BucketIndex(1.0, scale), -1);
    CHECK_EQ(BucketIndex(0.25, scale), -1);
    CHECK_EQ(BucketIndex(NAN, scale), -1);
    const int32_t max_index = static_cast<int32_t>(k::HIST_TOP_OCTAVE) * per - 1;
    CHECK_EQ(BucketIndex(1e300, scale), max_index);
    CHECK_EQ(BucketIndex(INFINITY, scale), max_index);
    CHECK_EQ(BucketIndex(std::ldexp(1.0, 44), scale), max_index);
    // A bucket's lower bound belongs to the bucket below; the next double up is inside.
    for (int32_t i = 0; i < 43 * per; i++) {
      double lower = BucketLowerBound(i, scale);
      CHECK_EQ(BucketIndex(lower, scale), i - 1);
      CHECK_EQ(BucketIndex(std::nextafter(lower, INFINITY), scale), i);
    }
  }
}

// The bin-table bucket function against the plain binary search: at every boundary of
// the finest scale and its neighbours, every bin start and its neighbours, and random
// mantissas, at every scale and over many octaves.
void TableEqualsSearch() {
  auto both = [](double v) {
    for (uint32_t scale = k::HIST_MIN_SCALE; scale <= k::HIST_MAX_SCALE; scale++) {
      CHECK_EQ(BucketIndex(v, scale), BucketIndexBySearch(v, scale));
    }
  };
  for (int e : {0, 1, 7, 20, 33, 43, 44}) {
    const double p = std::ldexp(1.0, e);
    for (int i = 0; i < (1 << k::HIST_MAX_SCALE); i++) {
      const double b = kBucketBoundaries[i] * p;
      both(b);
      both(std::nextafter(b, INFINITY));
      both(std::nextafter(b, 0.0));
    }
    for (int b = 0; b < (1 << detail::kBinBits); b++) {
      const double start = (1.0 + static_cast<double>(b) / (1 << detail::kBinBits)) * p;
      both(start);
      both(std::nextafter(start, INFINITY));
      both(std::nextafter(start, 0.0));
    }
  }
  uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift64*
  for (int i = 0; i < 2000000; i++) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    const uint64_t r = x * 0x2545f4914f6cdd1dull;
    const uint64_t bits =
        (static_cast<uint64_t>(1023 + (r >> 58) % 46) << 52) | (r & 0x000fffffffffffffull);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    both(v);
  }
}

void Monotonic() {
  int32_t prev = -2;
  for (double v = 1.0; v < 1e13; v *= 1.0007) {
    int32_t i = BucketIndex(v, 6);
    CHECK(i >= prev);
    prev = i;
    // The bucket's bounds contain the value.
    if (i >= 0 && i < 44 * 64 - 1) {
      CHECK(BucketLowerBound(i, 6) < v);
      CHECK(v <= BucketLowerBound(i + 1, 6) * (1 + 1e-15));
    }
  }
}

// test/fixtures/bucket-vectors.txt: lines "value scale index" written by the TypeScript
// side (scripts/gen-bucket-vectors.mjs). The C++ function must agree on every one.
void SharedVectors(const char* path) {
  std::ifstream in(path);
  CHECK(in.good());
  std::string line;
  long n = 0, bad = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string value_hex;
    uint32_t scale;
    int32_t expected;
    ls >> value_hex >> scale >> expected;
    uint64_t bits = std::stoull(value_hex, nullptr, 16);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (BucketIndex(v, scale) != expected) {
      if (bad < 5)
        std::fprintf(stderr, "  vector %s scale %u: got %d want %d\n", value_hex.c_str(), scale,
                     BucketIndex(v, scale), expected);
      bad++;
    }
    n++;
  }
  CHECK(n > 10000);
  CHECK_EQ(bad, 0L);
  std::printf("  %ld shared vectors agree\n", n);
}

void RecordIntoRegion() {
  const uint32_t scale = 6;
  std::vector<double> region(HistRegionSlots(scale), 0);
  BlockHistogram::Init(region.data(), scale);
  BlockHistogram h(region.data(), scale);
  h.Record(1000);
  h.Record(2000);
  h.Record(0);
  h.Record(1e9);
  CHECK_EQ(region[HIST_COUNT], 4.0);
  CHECK_EQ(region[HIST_SUM], 1000 + 2000 + 1e9);
  CHECK_EQ(region[HIST_MIN], 0.0);
  CHECK_EQ(region[HIST_MAX], 1e9);
  CHECK_EQ(region[HIST_ZERO_COUNT], 1.0);
  CHECK_EQ(LoadWord(WordOf(region.data() + HIST_SEQ)), 8u);  // 4 write sections
  double total = 0;
  for (uint32_t i = 0; i < HistBucketCount(scale); i++) total += h.buckets()[i];
  CHECK_EQ(total, 3.0);
  CHECK_EQ(h.buckets()[BucketIndex(1000, scale) - kHistIndexOffset], 1.0);
}

// RecordBatch leaves the region exactly as the same values one Record() each: random
// batches (zeros, ones, values up to 2^32 - 1) into two regions, compared slot by slot.
void RecordBatchEqualsRecord() {
  for (uint32_t scale : {0u, 3u, 6u, 8u}) {
    std::vector<double> a(HistRegionSlots(scale), 0), b(HistRegionSlots(scale), 0);
    BlockHistogram::Init(a.data(), scale);
    BlockHistogram::Init(b.data(), scale);
    BlockHistogram one(a.data(), scale), batch(b.data(), scale);
    uint64_t x = 0x9e3779b97f4a7c15ull + scale;
    uint32_t values[BlockHistogram::kMaxBatch];
    uint32_t sections = 0;
    for (int round = 0; round < 200; round++) {
      const uint32_t n = round == 0 ? 0 : 1 + static_cast<uint32_t>(x % BlockHistogram::kMaxBatch);
      for (uint32_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const uint32_t kind = static_cast<uint32_t>(x >> 60);
        values[i] = kind == 0   ? 0
                    : kind == 1 ? 1
                    : kind < 8  ? static_cast<uint32_t>(x % 20000)
                                : static_cast<uint32_t>(x >> 32);
        one.Record(values[i]);
      }
      batch.RecordBatch(values, n);
      if (n > 0) sections++;
    }
    // Everything but the sequence word (one write section a batch).
    for (uint32_t i = 0; i < a.size(); i++) {
      if (i == HIST_SEQ) continue;
      if (a[i] != b[i])
        std::fprintf(stderr, "  scale %u slot %u: record %g, batch %g\n", scale, i, a[i], b[i]);
      CHECK_EQ(a[i], b[i]);
    }
    CHECK_EQ(LoadWord(WordOf(b.data() + HIST_SEQ)), 2 * sections);
    CHECK(b[HIST_COUNT] > 10000);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Boundaries();
  TableEqualsSearch();
  Monotonic();
  RecordIntoRegion();
  RecordBatchEqualsRecord();
  if (argc > 1) SharedVectors(argv[1]);
  return Finish("histogram_test");
}
