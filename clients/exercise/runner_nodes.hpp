// Where an exercise's simulated nodes run. Each node is a real TLS client of
// the gateway (a NodeClient), and the nodes share a few io threads (one per
// core). A process holds one descriptor per node, and the gateway's process
// one more per node, so when a scenario has more nodes than one process should
// hold, they are spread over worker processes (`icegate exercise node-worker`,
// re-executed from the runner's own program), each reached over a socketpair:
// commands (submit, review, trigger) go down it, and each node's events come
// back up it as the frames they arrived in. The gateway stays in the runner's
// process, which then holds only its side of the connections.
// scenarios/README.md ("Thousands of nodes") says how the nodes are shared out.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "clients/node/node_client.hpp"

namespace icegate::exercise {

struct NodeSetup {
  std::filesystem::path pki_dir;  // the run's PKI, with every node's certificate
  std::string host = "127.0.0.1";  // the gateway's address...
  std::uint16_t port = 0;          // ...and port
  std::vector<std::string> nodes;
  // At most this many nodes in one process (0: as many as the descriptor
  // limit allows); more are spread over worker processes of this many each.
  std::size_t nodes_per_process = 0;
  // The program a worker runs as `PROGRAM exercise node-worker`; empty: this
  // process's own executable.
  std::filesystem::path worker_program;
  std::ostream* progress = nullptr;  // "connected 500/3741 nodes"
};

// Every node's events, as NodeOptions::sink would hand them (from any thread).
using EventSink = std::function<void(const std::string& node, node::NodeEvent event)>;

class ExerciseNodes {
 public:
  virtual ~ExerciseNodes() = default;
  virtual void submit(const std::string& node, const Message& message) = 0;
  virtual void review(const std::string& node, const std::string& hold_id, node::Verdict verdict,
                      const std::vector<std::string>& withhold_portion_ids, const std::string& comment) = 0;
  virtual void trigger(const std::string& node, const std::string& event) = 0;
  virtual bool contains(const std::string& node) const = 0;
  // The node asks the gateway to echo `tag` (NodeClient::request_echo): its
  // Echo event comes after every frame the gateway wrote to it before.
  virtual void request_echo(const std::string& node, std::int64_t tag) = 0;
  // Returns once every event the nodes have taken from their connections so
  // far has reached the sink. In this process they are there already; a
  // worker is asked, and answers after the events it has written. (A node
  // hands the sink a delivery before it acknowledges it, so once the gateway
  // has every acknowledgement, sync() means the runner has every delivery.)
  virtual void sync() = 0;
  // How many worker processes hold the nodes (0: all in this process).
  virtual std::size_t worker_processes() const = 0;
  // Every node closes, its queued frames sent first. Idempotent.
  virtual void close() = 0;
};

// How many descriptors this process may hold, once its soft limit is raised
// to the hard limit (RLIMIT_NOFILE).
std::size_t raise_descriptor_limit();

// Connects every node (in this process, or in workers when there are more than
// a process should hold). Throws std::runtime_error naming a node that could
// not connect, or saying why the nodes cannot be held at all.
std::unique_ptr<ExerciseNodes> connect_exercise_nodes(const NodeSetup& setup, EventSink sink);

// Nodes connected to several gateways (one ExerciseNodes each) as one: each
// command goes to the part that holds the node.
std::unique_ptr<ExerciseNodes> join_exercise_nodes(std::vector<std::unique_ptr<ExerciseNodes>> parts);

// A worker process's side: reads its setup and commands from `fd`, connects
// its nodes and writes their events back, until told to close (or `fd`
// closes). Returns the process's exit code.
int run_node_worker(int fd);

}  // namespace icegate::exercise
