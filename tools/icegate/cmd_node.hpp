// `icegate node`: be one node, over mutual TLS.
//   node --id ID --pki DIR [--gateway HOST:PORT] send (--file MESSAGE.yaml | --to A... --category C
//        [--purpose P] [--title T] --portion "LABEL=body"...) [--json] [--wait MS]
//   node ... listen [--count N] [--timeout S] [--json]
//   node ... review HOLD_ID (--approve | --refuse | --withhold PORTION...) [--comment TEXT]
//   node ... trigger EVENT
//   node ... interactive
// Exit codes: 0 ok; 1 error (cannot connect, refused, bad input); 2 the
// message was accepted but every recipient was denied.
#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace icegate::cli {

struct NodeParams {
  std::string id;
  std::filesystem::path pki;
  std::string gateway = "127.0.0.1:7443";
};

struct NodeSendParams {
  std::filesystem::path file;         // a message description (YAML or JSON)
  std::vector<std::string> to;        // or flags: addressees ("role:x", "list:x", ...)
  std::string category;
  std::string purpose;
  std::string title;
  std::string scheme;                 // the scheme the labels are under (empty: the gateway's)
  std::vector<std::string> portions;  // "SECRET/UK EYES ONLY=body text"
  bool json = false;
  int wait_ms = 10'000;               // for the Ack and Receipt
};

struct NodeListenParams {
  int count = 0;        // exit after this many deliveries (0: no limit)
  double timeout = 0;   // exit after this many seconds (0: no limit)
  bool json = false;
};

struct NodeReviewParams {
  std::string hold_id;
  bool approve = false;
  bool refuse = false;
  std::vector<std::string> withhold;  // approve, withholding these portions
  std::string comment;
  int wait_ms = 10'000;
};

struct NodeTriggerParams {
  std::string event;
  int wait_ms = 10'000;
};

int run_node_send(const NodeParams& node, const NodeSendParams& params, std::ostream& out, std::ostream& err);
int run_node_listen(const NodeParams& node, const NodeListenParams& params, std::ostream& out, std::ostream& err);
int run_node_review(const NodeParams& node, const NodeReviewParams& params, std::ostream& out, std::ostream& err);
int run_node_trigger(const NodeParams& node, const NodeTriggerParams& params, std::ostream& out, std::ostream& err);
int run_node_interactive(const NodeParams& node, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace icegate::cli
