#include "clients/exercise/runner_nodes.hpp"

#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include "clients/node/io_threads.hpp"
#include "gateway/transport/tls.hpp"
#include "gateway/wire/codec.hpp"
#include "gateway/wire/framing.hpp"

extern char** environ;

namespace icegate::exercise {

namespace {

using namespace std::chrono_literals;

// Descriptors a process keeps for itself beyond one per connection: the
// store, logs, the PKI files it reads, the workers' sockets.
constexpr std::size_t reserved_descriptors = 256;

node::NodeOptions node_options(const NodeSetup& setup, const std::string& node) {
  node::NodeOptions options;
  options.node_id = node;
  options.credentials = transport::node_credentials(setup.pki_dir, node);
  options.host = setup.host;
  options.port = setup.port;
  options.heartbeat_interval = std::chrono::hours(1);
  return options;
}

// ---- the runner <-> worker protocol ------------------------------------------
// A record is its length (4 bytes, little-endian, of what follows), its kind
// (1 byte), and its fields, each a length (4 bytes) and bytes.

enum class Kind : std::uint8_t {
  setup = 1,     // runner -> worker: port, PKI directory, then the node ids
  command = 2,   // runner -> worker: node, frame bytes, submitted message id ("" unless a Submit)
  close = 3,     // runner -> worker: close every node, then say closed
  ready = 10,    // worker -> runner: every node connected
  failed = 11,   // worker -> runner: node, why it could not connect
  event = 12,    // worker -> runner: node, the frame received
  gone = 13,     // worker -> runner: node, "1" when reconnecting else "0", reason
  closed = 14,   // worker -> runner: every node closed
  connected = 15,  // worker -> runner: how many of its nodes have connected so far
  sync = 4,      // runner -> worker: answer synced once what came before is written
  echo = 5,      // runner -> worker: node, tag: the node requests an echo (NodeClient::request_echo)
  synced = 16,   // worker -> runner: every event taken so far is written before this
};

struct Record {
  Kind kind{};
  std::vector<std::string> fields;
};

void put_u32(std::string& out, std::uint32_t n) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return n;
}

std::string encode_record(Kind kind, const std::vector<std::string>& fields) {
  std::string body(1, static_cast<char>(kind));
  for (const auto& field : fields) {
    put_u32(body, static_cast<std::uint32_t>(field.size()));
    body += field;
  }
  std::string record;
  put_u32(record, static_cast<std::uint32_t>(body.size()));
  return record + body;
}

// Writes all of `bytes`; false when the other side has gone.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool read_exact(int fd, char* out, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, out, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// The next record; nothing at the end of the stream (or a malformed record,
// which only a broken peer sends: the stream is then given up).
std::optional<Record> read_record(int fd) {
  char length[4];
  if (!read_exact(fd, length, 4)) return std::nullopt;
  std::string body(get_u32(length), '\0');
  if (body.empty() || !read_exact(fd, body.data(), body.size())) return std::nullopt;
  Record record;
  record.kind = static_cast<Kind>(body[0]);
  std::size_t at = 1;
  while (at < body.size()) {
    if (body.size() - at < 4) return std::nullopt;
    const std::uint32_t size = get_u32(body.data() + at);
    at += 4;
    if (body.size() - at < size) return std::nullopt;
    record.fields.push_back(body.substr(at, size));
    at += size;
  }
  return record;
}

std::string field(const Record& record, std::size_t i) { return i < record.fields.size() ? record.fields[i] : ""; }

// ---- every node in this process ----------------------------------------------

class LocalNodes : public ExerciseNodes {
 public:
  LocalNodes(const NodeSetup& setup, EventSink sink) {
    for (const auto& node : setup.nodes) {
      auto options = node_options(setup, node);
      options.io = &threads_.next();
      options.sink = sink;
      try {
        clients_.emplace(node, std::make_unique<node::NodeClient>(std::move(options)));
      } catch (const std::exception& e) {
        close();
        throw std::runtime_error(fmt::format("node {} could not connect: {}", node, e.what()));
      }
      if (setup.progress && setup.nodes.size() > 200 && clients_.size() % 500 == 0)
        fmt::print(*setup.progress, "connected {}/{} nodes\n", clients_.size(), setup.nodes.size());
    }
  }
  ~LocalNodes() override { close(); }

  void submit(const std::string& node, const Message& message) override { clients_.at(node)->submit(message); }
  void review(const std::string& node, const std::string& hold_id, node::Verdict verdict,
              const std::vector<std::string>& withhold_portion_ids, const std::string& comment) override {
    clients_.at(node)->review(hold_id, verdict, withhold_portion_ids, comment);
  }
  void trigger(const std::string& node, const std::string& event) override { clients_.at(node)->trigger(event); }
  void request_echo(const std::string& node, std::int64_t tag) override { clients_.at(node)->request_echo(tag); }
  bool contains(const std::string& node) const override { return clients_.contains(node); }
  void sync() override {}
  std::size_t worker_processes() const override { return 0; }
  void close() override {
    for (auto& [id, client] : clients_) client->close();
    clients_.clear();
  }

 private:
  node::IoThreads threads_;  // declared first: outlives the clients
  std::map<std::string, std::unique_ptr<node::NodeClient>> clients_;
};

// ---- nodes in worker processes -------------------------------------------------

class Worker {
 public:
  Worker(const std::filesystem::path& program, std::vector<std::string> nodes, const NodeSetup& setup, EventSink sink,
         std::atomic<std::size_t>& connected)
      : nodes_(std::move(nodes)), sink_(std::move(sink)), connected_(connected) {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
      throw std::runtime_error(fmt::format("cannot make a socketpair for a worker: {}", std::strerror(errno)));
    fd_ = ends[0];
    // The worker finds its end as descriptor 3 (dup2 clears close-on-exec).
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, ends[1], 3);
    const std::string program_text = program.string();
    std::vector<std::string> args{program_text, "exercise", "node-worker"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int spawned = ::posix_spawn(&pid_, program_text.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(ends[1]);
    if (spawned != 0) {
      ::close(fd_);
      throw std::runtime_error(fmt::format("cannot start worker {}: {}", program_text, std::strerror(spawned)));
    }
    std::string setup_text = fmt::format("{}\n{}\n{}\n", setup.port, setup.pki_dir.string(), setup.host);
    for (const auto& node : nodes_) setup_text += node + "\n";
    send(encode_record(Kind::setup, {setup_text}));
    reader_ = std::thread([this] { read(); });
  }

  ~Worker() {
    close();
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) ::close(fd_);
    reap();
  }

  // Waits for the process to end; its peak resident memory in KiB.
  long reap() {
    if (pid_ <= 0) return 0;
    rusage usage{};
    int status = 0;
    while (::wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return usage.ru_maxrss;
  }

  // "" once every node has connected, else why not.
  std::string wait_ready() { return ready_.get_future().get(); }

  void send(const std::string& record) {
    std::lock_guard lock(write_mutex_);
    write_all(fd_, record);  // a worker that has gone is noticed by the reader
  }

  void close() {
    if (closing_.exchange(true)) return;
    send(encode_record(Kind::close, {}));
  }

  // Asks for a synced answer; wait_synced() waits for it.
  std::uint64_t ask_sync() {
    std::uint64_t ticket;
    {
      std::lock_guard lock(sync_mutex_);
      ticket = ++asked_;
    }
    send(encode_record(Kind::sync, {}));
    return ticket;
  }
  void wait_synced(std::uint64_t ticket) {
    std::unique_lock lock(sync_mutex_);
    synced_changed_.wait(lock, [&] { return answered_ >= ticket || ended_; });
  }

  // Waits until the worker has closed its nodes (or gone).
  void join() {
    if (reader_.joinable()) reader_.join();
  }

 private:
  void end() {
    std::lock_guard lock(sync_mutex_);
    ended_ = true;
    synced_changed_.notify_all();
  }

  void set_ready(std::string why) {
    if (!ready_set_.exchange(true)) ready_.set_value(std::move(why));
  }

  void read() {
    while (auto record = read_record(fd_)) {
      switch (record->kind) {
        case Kind::ready: set_ready(""); break;
        case Kind::failed:
          set_ready(fmt::format("node {} could not connect: {}", field(*record, 0), field(*record, 1)));
          break;
        case Kind::connected: connected_ += std::stoul(field(*record, 0)); break;
        case Kind::event: {
          v1::Frame frame;
          if (!frame.ParseFromString(field(*record, 1))) break;
          if (auto event = node::to_event(std::move(frame))) sink_(field(*record, 0), std::move(*event));
          break;
        }
        case Kind::gone:
          sink_(field(*record, 0), node::NodeEvent{node::Disconnected{field(*record, 2), field(*record, 1) == "1"}, {}});
          break;
        case Kind::synced: {
          std::lock_guard lock(sync_mutex_);
          ++answered_;
          synced_changed_.notify_all();
          break;
        }
        case Kind::closed: end(); return;
        default: break;
      }
    }
    end();
    // The worker ended without saying it had closed: it crashed or was killed.
    const std::string why = "the worker process holding the node ended";
    set_ready(fmt::format("{} ({} nodes from {})", why, nodes_.size(), nodes_.empty() ? "" : nodes_.front()));
    if (!closing_)
      for (const auto& node : nodes_) sink_(node, node::NodeEvent{node::Disconnected{why, false}, {}});
  }

  std::vector<std::string> nodes_;
  EventSink sink_;
  std::atomic<std::size_t>& connected_;
  int fd_ = -1;
  pid_t pid_ = -1;
  std::mutex write_mutex_;  // guards writes to fd_
  std::promise<std::string> ready_;
  std::atomic<bool> ready_set_{false};
  std::atomic<bool> closing_{false};
  std::mutex sync_mutex_;  // guards asked_, answered_, ended_
  std::condition_variable synced_changed_;
  std::uint64_t asked_ = 0;
  std::uint64_t answered_ = 0;
  bool ended_ = false;  // the reader has stopped: no answer will come
  std::thread reader_;
};

class WorkerNodes : public ExerciseNodes {
 public:
  WorkerNodes(const NodeSetup& setup, std::size_t per_worker, EventSink sink) : progress_(setup.progress) {
    const std::filesystem::path program =
        setup.worker_program.empty() ? std::filesystem::read_symlink("/proc/self/exe") : setup.worker_program;
    const std::size_t count = (setup.nodes.size() + per_worker - 1) / per_worker;
    // Evenly: 19,000 nodes under a cap of 9,872 are two workers of 9,500.
    for (std::size_t w = 0; w < count; ++w) {
      std::vector<std::string> share;
      for (std::size_t i = w; i < setup.nodes.size(); i += count) share.push_back(setup.nodes[i]);
      for (const auto& node : share) owner_.emplace(node, w);
      workers_.push_back(std::make_unique<Worker>(program, std::move(share), setup, sink, connected_));
    }
    // The workers connect their shares at the same time.
    std::vector<std::future<std::string>> ready;
    for (auto& worker : workers_) ready.push_back(std::async(std::launch::async, [&w = *worker] { return w.wait_ready(); }));
    std::size_t reported = 0;
    std::string failure;
    for (auto& r : ready) {
      while (r.wait_for(1s) != std::future_status::ready)
        if (setup.progress && connected_ / 500 > reported / 500) {
          reported = connected_;
          fmt::print(*setup.progress, "connected {}/{} nodes in {} worker processes\n", reported, setup.nodes.size(),
                     workers_.size());
        }
      if (auto why = r.get(); !why.empty() && failure.empty()) failure = why;
    }
    if (!failure.empty()) {
      close();
      throw std::runtime_error(failure);
    }
  }
  ~WorkerNodes() override { close(); }

  void submit(const std::string& node, const Message& message) override {
    v1::Frame frame;
    wire::encode(message, *frame.mutable_submit()->mutable_message());
    command(node, frame, message.id);
  }
  void review(const std::string& node, const std::string& hold_id, node::Verdict verdict,
              const std::vector<std::string>& withhold_portion_ids, const std::string& comment) override {
    command(node, node::review_frame(hold_id, verdict, withhold_portion_ids, comment), "");
  }
  void trigger(const std::string& node, const std::string& event) override {
    command(node, node::trigger_frame(event), "");
  }
  bool contains(const std::string& node) const override { return owner_.contains(node); }
  void request_echo(const std::string& node, std::int64_t tag) override {
    workers_.at(owner_.at(node))->send(encode_record(Kind::echo, {node, std::to_string(tag)}));
  }
  void sync() override {
    std::vector<std::uint64_t> tickets;
    for (auto& worker : workers_) tickets.push_back(worker->ask_sync());
    for (std::size_t i = 0; i < workers_.size(); ++i) workers_[i]->wait_synced(tickets[i]);
  }
  std::size_t worker_processes() const override { return workers_.size(); }
  void close() override {
    for (auto& worker : workers_) worker->close();
    for (auto& worker : workers_) worker->join();
    // Peak memory is per process: say each worker's, for a run's total.
    std::vector<long> peaks;
    for (auto& worker : workers_) peaks.push_back(worker->reap() / 1024);
    if (progress_ && !peaks.empty()) {
      rusage self{};
      ::getrusage(RUSAGE_SELF, &self);
      fmt::print(*progress_, "peak resident memory: runner and gateway {} MiB so far, worker processes {} MiB\n",
                 self.ru_maxrss / 1024, fmt::join(peaks, " + "));
    }
    workers_.clear();
  }

 private:
  void command(const std::string& node, const v1::Frame& frame, const std::string& submit_id) {
    workers_.at(owner_.at(node))->send(encode_record(Kind::command, {node, wire::encode_frame(frame), submit_id}));
  }

  std::ostream* progress_;
  std::atomic<std::size_t> connected_{0};
  std::map<std::string, std::size_t> owner_;  // node -> its worker
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace

std::size_t raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20 : static_cast<std::size_t>(limit.rlim_cur);
}

std::unique_ptr<ExerciseNodes> connect_exercise_nodes(const NodeSetup& setup, EventSink sink) {
  const std::size_t limit = raise_descriptor_limit();
  const std::size_t spare = limit > reserved_descriptors ? limit - reserved_descriptors : 0;
  // In one process each node costs two descriptors: its own socket and the
  // gateway's end of it.
  const std::size_t per_process = setup.nodes_per_process ? setup.nodes_per_process : spare / 2;
  if (setup.nodes.size() <= per_process) return std::make_unique<LocalNodes>(setup, std::move(sink));
  // Spread over workers, the gateway's process still holds one per node.
  if (setup.nodes.size() > spare)
    throw std::runtime_error(fmt::format(
        "{} nodes need {} descriptors in the gateway's process (one a node, {} kept for its files), but it may hold "
        "{} (ulimit -Hn): run fewer nodes, or raise the hard limit",
        setup.nodes.size(), setup.nodes.size() + reserved_descriptors, reserved_descriptors, limit));
  const std::size_t per_worker = setup.nodes_per_process ? setup.nodes_per_process : spare;
  return std::make_unique<WorkerNodes>(setup, std::max<std::size_t>(1, std::min(per_worker, spare)), std::move(sink));
}

namespace {

class JoinedNodes : public ExerciseNodes {
 public:
  explicit JoinedNodes(std::vector<std::unique_ptr<ExerciseNodes>> parts) : parts_(std::move(parts)) {}
  void submit(const std::string& node, const Message& message) override { part(node).submit(node, message); }
  void review(const std::string& node, const std::string& hold_id, node::Verdict verdict,
              const std::vector<std::string>& withhold_portion_ids, const std::string& comment) override {
    part(node).review(node, hold_id, verdict, withhold_portion_ids, comment);
  }
  void trigger(const std::string& node, const std::string& event) override { part(node).trigger(node, event); }
  bool contains(const std::string& node) const override {
    return std::any_of(parts_.begin(), parts_.end(), [&](const auto& p) { return p->contains(node); });
  }
  void request_echo(const std::string& node, std::int64_t tag) override { part(node).request_echo(node, tag); }
  void sync() override {
    for (auto& p : parts_) p->sync();
  }
  std::size_t worker_processes() const override {
    std::size_t count = 0;
    for (const auto& p : parts_) count += p->worker_processes();
    return count;
  }
  void close() override {
    for (auto& p : parts_) p->close();
  }

 private:
  ExerciseNodes& part(const std::string& node) {
    for (auto& p : parts_)
      if (p->contains(node)) return *p;
    throw std::runtime_error(fmt::format("node {} is connected to no gateway of the run", node));
  }
  std::vector<std::unique_ptr<ExerciseNodes>> parts_;
};

}  // namespace

std::unique_ptr<ExerciseNodes> join_exercise_nodes(std::vector<std::unique_ptr<ExerciseNodes>> parts) {
  return std::make_unique<JoinedNodes>(std::move(parts));
}

int run_node_worker(int fd) {
  raise_descriptor_limit();
  auto setup_record = read_record(fd);
  if (!setup_record || setup_record->kind != Kind::setup) {
    fmt::print(stderr, "icegate exercise node-worker: no setup on descriptor {} (the runner starts workers)\n", fd);
    return 1;
  }
  std::istringstream lines(field(*setup_record, 0));
  NodeSetup setup;
  std::string line;
  std::getline(lines, line);
  setup.port = static_cast<std::uint16_t>(std::stoul(line));
  std::getline(lines, line);
  setup.pki_dir = line;
  std::getline(lines, line);
  setup.host = line;
  while (std::getline(lines, line))
    if (!line.empty()) setup.nodes.push_back(line);

  std::mutex write_mutex;  // guards writes to fd, from every io thread
  const auto reply = [&](Kind kind, const std::vector<std::string>& fields) {
    std::lock_guard lock(write_mutex);
    write_all(fd, encode_record(kind, fields));
  };
  EventSink sink = [&](const std::string& node, node::NodeEvent event) {
    if (const auto* gone = std::get_if<node::Disconnected>(&event.payload))
      reply(Kind::gone, {node, gone->reconnecting ? "1" : "0", gone->reason});
    else
      reply(Kind::event, {node, event.frame.SerializeAsString()});
  };

  // Connected here rather than through LocalNodes, to tell the runner how
  // far it has got and which node failed. The threads outlive the clients.
  node::IoThreads threads;
  std::map<std::string, std::unique_ptr<node::NodeClient>> clients;
  std::size_t since_report = 0;
  for (const auto& node : setup.nodes) {
    auto options = node_options(setup, node);
    options.io = &threads.next();
    options.sink = sink;
    try {
      clients.emplace(node, std::make_unique<node::NodeClient>(std::move(options)));
    } catch (const std::exception& e) {
      reply(Kind::failed, {node, e.what()});
      for (auto& [id, client] : clients) client->close();
      return 1;
    }
    if (++since_report == 100) {
      reply(Kind::connected, {std::to_string(since_report)});
      since_report = 0;
    }
  }
  reply(Kind::ready, {});

  while (auto record = read_record(fd)) {
    if (record->kind == Kind::close) break;
    if (record->kind == Kind::sync) reply(Kind::synced, {});
    if (record->kind != Kind::command && record->kind != Kind::echo) continue;
    const auto it = clients.find(field(*record, 0));
    if (it == clients.end()) continue;
    if (record->kind == Kind::echo) {
      it->second->request_echo(std::stoll(field(*record, 1)));
      continue;
    }
    if (const auto id = field(*record, 2); !id.empty()) it->second->submit_encoded(id, field(*record, 1));
    else it->second->send_raw(field(*record, 1));
  }
  for (auto& [id, client] : clients) client->close();
  clients.clear();
  reply(Kind::closed, {});
  return 0;
}

}  // namespace icegate::exercise
