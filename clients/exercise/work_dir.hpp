// A working directory for a run or a host: the one the caller gave (kept), or
// a temporary one of our own that goes when this object does, so that an
// exercise's keys and data live no longer than the exercise.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace icegate::exercise {

class WorkDir {
 public:
  // `given` empty: a new directory `<tmp>/<prefix>-XXXXXX`, removed afterwards.
  WorkDir(const std::filesystem::path& given, std::string_view prefix) {
    if (!given.empty()) {
      path_ = given;
      std::filesystem::create_directories(path_);
      return;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory");
    path_ = pattern;
    owned_ = true;
  }
  ~WorkDir() {
    std::error_code ignored;
    if (owned_) std::filesystem::remove_all(path_, ignored);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool owned_ = false;
};

}  // namespace icegate::exercise
