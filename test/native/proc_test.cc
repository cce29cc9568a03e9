// Process identity for published files: the stat line is parsed after the command name
// whatever that name holds, and a process is alive only while it runs with the recorded
// start time (not after it exits, not as a zombie, not as a reused pid).
#include "../../native/core/proc.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "check.h"

using namespace rs::proc;

namespace {

bool Parse(const std::string& line, Stat* st) { return ParseStat(line.data(), line.size(), st); }

void ParsesAwkwardNames() {
  Stat st;
  // Fields 3..22: the state, fields 4..21 (18 numbers), then starttime 424242.
  const std::string rest = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 99 100\n";
  CHECK(Parse("123 (node)" + rest, &st));
  CHECK_EQ(st.start_ticks, 424242u);
  CHECK_EQ(st.state, 'S');
  // A name with spaces and parentheses: only the last ')' ends it.
  CHECK(Parse("123 (a) b (c) 1 2)" + rest, &st));
  CHECK_EQ(st.start_ticks, 424242u);
  // Malformed lines are refused, never read past their end.
  CHECK(!Parse("123 node S 1 2", &st));
  CHECK(!Parse("123 (node) S 1 2 3", &st));
  CHECK(!Parse("123 (node)", &st));
  CHECK(!Parse("123 (node) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x 20", &st));
  CHECK(!Parse(
      "123 (node) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99999999999999999999999 1", &st));
  CHECK(!Parse("", &st));
}

void LiveDeadZombieReused() {
  const uint64_t mine = StartTicks(getpid());
  CHECK(mine > 0);
  CHECK(Alive(getpid(), mine));
  // The same pid with another start time: a reused pid, not our process.
  CHECK(!Alive(getpid(), mine + 1));
  CHECK(!Alive(0, mine));
  CHECK(!Alive(-1, mine));
  CHECK(!Alive(int64_t{1} << 40, mine));

  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  CHECK(child > 0);
  const uint64_t started = StartTicks(child);
  CHECK(started > 0);
  CHECK(Alive(child, started));
  CHECK_EQ(kill(child, SIGKILL), 0);
  // Killed, not yet reaped: a zombie, not alive.
  for (int i = 0; i < 200; i++) {
    Stat st;
    if (ReadStat(child, &st) && st.state == 'Z') break;
    usleep(5000);
  }
  CHECK(!Alive(child, started));
  int status = 0;
  CHECK_EQ(waitpid(child, &status, 0), child);
  CHECK(!Alive(child, started));
  CHECK_EQ(StartTicks(child), 0u);
}

}  // namespace

int main() {
  ParsesAwkwardNames();
  LiveDeadZombieReused();
  return Finish("proc_test");
}
