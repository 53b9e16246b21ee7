#include "tools/bench/certificates.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/pki/pki.hpp"
#include "tools/bench/scenario.hpp"

namespace icegate::bench {

namespace fs = std::filesystem;

PkiReport ensure_pool_certificates(const fs::path& dir, std::size_t count, std::size_t threads, pki::KeyType key_type) {
  std::vector<std::string> ids;
  ids.reserve(count);
  for (std::size_t i = 0; i < count; ++i) ids.push_back(pool_node_id(i));
  return ensure_node_certificates(dir, ids, threads, "icegate bench CA", key_type);
}

PkiReport ensure_node_certificates(const fs::path& dir, const std::vector<std::string>& ids, std::size_t threads,
                                   const std::string& ca_name, pki::KeyType key_type) {
  PkiReport report;
  if (!fs::exists(pki::ca_paths(dir).certificate)) pki::init_ca(dir, ca_name, false, key_type);
  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const pki::Paths paths = pki::node_paths(dir, ids[i]);
    if (!fs::exists(paths.certificate) || !fs::exists(paths.key)) missing.push_back(i);
  }
  if (missing.empty()) return report;

  const auto start = std::chrono::steady_clock::now();
  pki::IssueOptions options;
  options.key_type = key_type;
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;  // guards failure
  auto work = [&] {
    try {
      for (std::size_t k; (k = next.fetch_add(1)) < missing.size();) pki::issue_node(dir, ids[missing[k]], options);
    } catch (...) {
      const std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = missing.size();
    }
  };
  std::vector<std::thread> workers;
  for (std::size_t t = 1; t < std::max<std::size_t>(threads, 1); ++t) workers.emplace_back(work);
  work();
  for (auto& worker : workers) worker.join();
  if (failure) std::rethrow_exception(failure);
  report.issued = missing.size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace icegate::bench
