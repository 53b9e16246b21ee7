// A program run as a child process, as a person runs it from a shell: stdin
// closed, and its exit code, standard output and standard error collected.
// Used by the tests of the `icegate` executable itself (cli_main_test,
// cli_policy_prove_test).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/files.hpp"
#include "tests/support/temporary_directory.hpp"

namespace icegate::testing {

struct ChildRun {
  int exit_code = -1;  // 128 + the signal when a signal ended it; -1 when it could not be run or waited for
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] a path: no search of PATH) and waits for it.
inline ChildRun run_child(std::vector<std::string> argv_storage) {
  TemporaryDirectory dir;
  const auto out_file = dir / "out";
  const auto err_file = dir / "err";
  std::vector<char*> argv;
  for (std::string& argument : argv_storage) argv.push_back(argument.data());
  argv.push_back(nullptr);
  const pid_t child = ::fork();
  if (child == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ChildRun run;
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child) return run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = read_file(out_file);
  run.err = read_file(err_file);
  return run;
}

}  // namespace icegate::testing
