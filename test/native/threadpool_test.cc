// The threadpool size as libuv derives it from UV_THREADPOOL_SIZE: the edge cases of its
// atoi-and-clamp rule, and the 16-byte limit of libuv 1.52's uv_os_getenv.
#include "../../native/core/threadpool.h"

#include "check.h"

using namespace rs;

int main() {
  const unsigned v146 = (1u << 16) | (46u << 8);
  const unsigned v152 = (1u << 16) | (52u << 8) | 1u;
  CHECK_EQ(ThreadpoolSize(nullptr, v146), 4u);
  CHECK_EQ(ThreadpoolSize("2", v146), 2u);
  CHECK_EQ(ThreadpoolSize("1", v146), 1u);
  CHECK_EQ(ThreadpoolSize("128", v146), 128u);
  CHECK_EQ(ThreadpoolSize("1024", v146), 1024u);
  CHECK_EQ(ThreadpoolSize("1025", v146), 1024u);
  CHECK_EQ(ThreadpoolSize("99999999999", v146), 1024u);
  // atoi: 0 for no digits, leading blanks and sign accepted, trailing junk ignored.
  CHECK_EQ(ThreadpoolSize("", v146), 1u);
  CHECK_EQ(ThreadpoolSize("abc", v146), 1u);
  CHECK_EQ(ThreadpoolSize("0", v146), 1u);
  CHECK_EQ(ThreadpoolSize("  6", v146), 6u);
  CHECK_EQ(ThreadpoolSize("+3", v146), 3u);
  CHECK_EQ(ThreadpoolSize("8threads", v146), 8u);
  CHECK_EQ(ThreadpoolSize("2.9", v146), 2u);
  // Negative values are huge as unsigned ints: clamped to the maximum.
  CHECK_EQ(ThreadpoolSize("-1", v146), 1024u);
  CHECK_EQ(ThreadpoolSize("-4096", v146), 1024u);
  // 2^32 + 3 wraps to 3 through atoi's int.
  CHECK_EQ(ThreadpoolSize("4294967299", v146), 3u);
  // libuv 1.52: 15 bytes fit its buffer, 16 do not (the value counts as unset).
  CHECK_EQ(ThreadpoolSize("000000000000016", v152), 16u);
  CHECK_EQ(ThreadpoolSize("0000000000000016", v152), 4u);
  CHECK_EQ(ThreadpoolSize("0000000000000016", v146), 16u);
  return Finish("threadpool_test");
}
