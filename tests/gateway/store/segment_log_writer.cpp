// A child process for segment_log_test's SIGKILL test: opens the segment log
// in argv[1] and appends payloads "record <seq> " padded to 40..239 bytes,
// from two threads in batches of 1 to 16, until it is killed. Each durable
// callback's last seq is printed on stdout (one line each, written straight
// to the pipe), so the test knows what was acknowledged when it killed it.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/store/segment_log.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: segment_log_writer DIR\n");
    return 2;
  }
  // Small segments, so that kills also land around segment rolls.
  icegate::store::SegmentLog log(argv[1], {.segment_bytes = 256 * 1024, .max_batch_bytes = 64 * 1024});
  std::mutex append_mutex;  // guards next_seq: a payload names the seq append() will give it
  std::uint64_t next_seq = log.recovery().last_seq + 1;
  auto produce = [&](unsigned salt) {
    for (unsigned round = salt;; ++round) {
      const std::size_t count = 1 + round % 16;
      std::lock_guard lock(append_mutex);
      std::vector<std::string> payloads;
      for (std::size_t i = 0; i < count; ++i) {
        std::string payload = "record " + std::to_string(next_seq + i) + " ";
        payload.resize(40 + (round * 7 + i) % 200, 'p');
        payloads.push_back(std::move(payload));
      }
      const std::uint64_t first = log.append(std::move(payloads), [](bool ok, std::uint64_t last_seq) {
        if (!ok) _exit(3);
        const std::string line = std::to_string(last_seq) + "\n";
        if (::write(STDOUT_FILENO, line.data(), line.size()) < 0) _exit(4);
      });
      if (first != next_seq) _exit(5);
      next_seq += count;
    }
  };
  std::thread a(produce, 0), b(produce, 5);
  a.join();
  b.join();
}
