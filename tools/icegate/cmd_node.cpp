#include "tools/icegate/cmd_node.hpp"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "clients/node/message_file.hpp"
#include "clients/node/node_client.hpp"
#include "clients/node/render.hpp"
#include "tools/icegate/cmd_serve.hpp"
#include "tools/icegate/commands.hpp"

namespace icegate::cli {

namespace {

using namespace std::chrono_literals;

std::unique_ptr<node::NodeClient> connect(const NodeParams& params, std::ostream& err) {
  node::NodeOptions options;
  options.node_id = params.id;
  std::string error;
  if (!split_host_port(params.gateway, options.host, options.port, error)) {
    fmt::print(err, "icegate node: --gateway: {}\n", error);
    return nullptr;
  }
  options.credentials = transport::node_credentials(params.pki, params.id);
  try {
    return std::make_unique<node::NodeClient>(std::move(options));
  } catch (const std::exception& e) {
    fmt::print(err, "icegate node {}: {}\n", params.id, e.what());
    return nullptr;
  }
}

void print_event(std::ostream& out, const node::NodeEvent& event, bool json) {
  if (json) {
    if (!std::holds_alternative<node::Disconnected>(event.payload)) out << node::to_json(event.frame) << '\n';
  } else {
    node::render(out, event);
  }
  out.flush();
}

// The message from --file, or from the flags.
std::optional<Message> build_message(const NodeParams& node, const NodeSendParams& params, std::ostream& err) {
  try {
    if (!params.file.empty()) return node::load_message_file(params.file, node.id);
    if (params.to.empty() || params.category.empty() || params.portions.empty()) {
      fmt::print(err, "icegate node send: give --file, or --to, --category and at least one --portion\n");
      return std::nullopt;
    }
    Message message;
    message.id = make_uuid();
    message.originator = node.id;
    message.created_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    message.category = params.category;
    message.purpose = params.purpose;
    message.title = params.title;
    for (const auto& to : params.to) message.addressees.push_back(node::parse_addressee(to));
    for (const auto& text : params.portions) {
      const auto equals = text.find('=');
      if (equals == std::string::npos || equals == 0) {
        fmt::print(err, "icegate node send: --portion '{}' is not LABEL=body\n", text);
        return std::nullopt;
      }
      message.portions.push_back({std::to_string(message.portions.size() + 1),
                                  node::parse_label_text(text.substr(0, equals)), text.substr(equals + 1)});
    }
    return message;
  } catch (const std::exception& e) {
    fmt::print(err, "icegate node send: {}\n", e.what());
    return std::nullopt;
  }
}

// Submits and waits for the Ack and the Receipt (or a refusal). Returns the exit code.
int submit_and_wait(node::NodeClient& client, const Message& message, std::chrono::milliseconds wait, bool json,
                    std::ostream& out, std::ostream& err) {
  client.submit(message);
  const auto until = std::chrono::steady_clock::now() + wait;
  bool acked = false;
  while (std::chrono::steady_clock::now() < until) {
    auto event = client.next_event(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
    if (!event) break;
    if (auto* ack = std::get_if<node::Acknowledgement>(&event->payload); ack && ack->message_id == message.id) {
      if (json) print_event(out, *event, true);
      if (!ack->ok) return exit_error;
      acked = true;
      continue;
    }
    if (auto* error = std::get_if<node::ErrorNotice>(&event->payload)) {
      print_event(json ? out : err, *event, json);
      if (error->fatal || error->message_id == message.id) return exit_error;
      continue;
    }
    if (auto* receipt = std::get_if<node::Receipt>(&event->payload); receipt && receipt->message_id == message.id) {
      print_event(out, *event, json);
      for (const auto& outcome : receipt->outcomes)
        if (outcome.decision.decision != Decision::deny) return exit_ok;
      return receipt->outcomes.empty() ? exit_error : exit_denied;
    }
    if (std::holds_alternative<node::Disconnected>(event->payload)) {
      print_event(err, *event, false);
      return exit_error;
    }
    print_event(out, *event, json);  // a delivery that happened to arrive meanwhile
  }
  fmt::print(err, "icegate node send: no {} for message {} within {} ms\n", acked ? "receipt" : "acknowledgement",
             message.id, wait.count());
  return exit_error;
}

// Waits for the Ack whose message_id is `id` (a hold id or an event name).
int wait_for_ack(node::NodeClient& client, const std::string& id, std::chrono::milliseconds wait, std::ostream& out,
                 std::ostream& err) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    auto event = client.next_event(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
    if (!event) break;
    if (auto* ack = std::get_if<node::Acknowledgement>(&event->payload); ack && ack->message_id == id) {
      print_event(out, *event, false);
      return ack->ok ? exit_ok : exit_error;
    }
    if (std::holds_alternative<node::ErrorNotice>(event->payload)) {
      print_event(err, *event, false);
      return exit_error;
    }
    if (std::holds_alternative<node::Disconnected>(event->payload)) {
      print_event(err, *event, false);
      return exit_error;
    }
  }
  fmt::print(err, "icegate node: no answer from the gateway within {} ms\n", wait.count());
  return exit_error;
}

}  // namespace

int run_node_review(const NodeParams& node, const NodeReviewParams& params, std::ostream& out, std::ostream& err) {
  const int choices = int(params.approve) + int(params.refuse) + int(!params.withhold.empty());
  if (choices != 1) {
    fmt::print(err, "icegate node review: give exactly one of --approve, --refuse or --withhold PORTION...\n");
    return exit_error;
  }
  auto client = connect(node, err);
  if (!client) return exit_error;
  const auto verdict = params.refuse ? node::Verdict::refuse
                       : params.approve ? node::Verdict::approve
                                        : node::Verdict::approve_redacted;
  client->review(params.hold_id, verdict, params.withhold, params.comment);
  const int code = wait_for_ack(*client, params.hold_id, std::chrono::milliseconds(params.wait_ms), out, err);
  client->close();
  return code;
}

int run_node_trigger(const NodeParams& node, const NodeTriggerParams& params, std::ostream& out, std::ostream& err) {
  auto client = connect(node, err);
  if (!client) return exit_error;
  client->trigger(params.event);
  const int code = wait_for_ack(*client, params.event, std::chrono::milliseconds(params.wait_ms), out, err);
  client->close();
  return code;
}

int run_node_send(const NodeParams& node, const NodeSendParams& params, std::ostream& out, std::ostream& err) {
  auto message = build_message(node, params, err);
  if (!message) return exit_error;
  auto client = connect(node, err);
  if (!client) return exit_error;
  if (!params.json)
    fmt::print(out, "{} sends {} \"{}\" ({} portion(s)) to {}\n", node.id, message->id, message->title,
               message->portions.size(), message->addressees.size() == 1 ? message->addressees[0].name
                                                                          : fmt::format("{} addressees", message->addressees.size()));
  const int code = submit_and_wait(*client, *message, std::chrono::milliseconds(params.wait_ms), params.json, out, err);
  client->close();
  return code;
}

int run_node_listen(const NodeParams& node, const NodeListenParams& params, std::ostream& out, std::ostream& err) {
  auto client = connect(node, err);
  if (!client) return exit_error;
  if (!params.json)
    fmt::print(out, "listening as {} (gateway {}, policy {})\n", node.id, client->welcome().gateway_id(),
               client->welcome().policy_version().substr(0, 19));
  out.flush();
  const auto until = params.timeout > 0
                         ? std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                                  std::chrono::duration<double>(params.timeout))
                         : std::chrono::steady_clock::time_point::max();
  int deliveries = 0;
  while (params.count == 0 || deliveries < params.count) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) break;
    const auto wait = std::min<std::chrono::steady_clock::duration>(until - now, 1s);
    auto event = client->next_event(std::chrono::duration_cast<std::chrono::milliseconds>(wait));
    if (!event) continue;
    print_event(out, *event, params.json);
    if (std::holds_alternative<node::Delivery>(event->payload)) ++deliveries;
    if (std::holds_alternative<node::Disconnected>(event->payload)) return exit_error;
  }
  if (!params.json && deliveries == 0) fmt::print(out, "nothing delivered to {}\n", node.id);
  client->close();
  return exit_ok;
}

int run_node_interactive(const NodeParams& node, std::istream& in, std::ostream& out, std::ostream& err) {
  auto client = connect(node, err);
  if (!client) return exit_error;
  std::mutex output;  // the event printer and the prompt share `out`
  std::atomic<bool> done{false};
  std::thread printer([&] {
    while (!done) {
      if (auto event = client->next_event(200ms)) {
        std::lock_guard lock(output);
        out << '\n';
        node::render(out, *event);
        out << "> " << std::flush;
      }
    }
  });
  auto say = [&](const std::string& text) {
    std::lock_guard lock(output);
    out << text << std::flush;
  };
  say(fmt::format("connected as {} (policy {}). Type 'help'.\n> ", node.id, client->welcome().policy_version().substr(0, 19)));

  Message draft;
  auto reset = [&] {
    draft = Message{};
    draft.originator = node.id;
  };
  reset();
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    std::string rest;
    std::getline(words >> std::ws, rest);
    try {
      if (command.empty()) {
      } else if (command == "help") {
        say("  send FILE                 send a message description (YAML/JSON)\n"
            "  to A[,B...]               addressees: node, role:X, list:X, org:X\n"
            "  category C | purpose P | title T\n"
            "  portion LABEL TEXT        add a portion, e.g. portion RESTRICTED Ward-level themes...\n"
            "                            (a label with categories: SECRET/UK EYES ONLY, no spaces around '/')\n"
            "  show                      the draft so far\n"
            "  submit                    send the draft and start a new one\n"
            "  approve HOLD | refuse HOLD [COMMENT] | redact HOLD PORTION[,PORTION]\n"
            "                            answer a review or consent request\n"
            "  trigger EVENT             say that a named event has happened\n"
            "  quit\n");
      } else if (command == "quit" || command == "exit") {
        break;
      } else if (command == "send") {
        Message message = node::load_message_file(rest, node.id);
        client->submit(message);
        say(fmt::format("submitted {}\n", message.id));
      } else if (command == "to") {
        std::istringstream names(rest);
        for (std::string name; std::getline(names, name, ',');)
          if (!name.empty()) draft.addressees.push_back(node::parse_addressee(name));
      } else if (command == "category") {
        draft.category = rest;
      } else if (command == "purpose") {
        draft.purpose = rest;
      } else if (command == "title") {
        draft.title = rest;
      } else if (command == "portion") {
        // The label runs up to the first space; categories join with '/' and
        // may hold spaces only as '_' here ("SECRET/UK_EYES_ONLY").
        const auto space = rest.find(' ');
        std::string label_text = rest.substr(0, space);
        std::replace(label_text.begin(), label_text.end(), '_', ' ');
        draft.portions.push_back({std::to_string(draft.portions.size() + 1), node::parse_label_text(label_text),
                                  space == std::string::npos ? "" : rest.substr(space + 1)});
      } else if (command == "approve" || command == "refuse" || command == "redact") {
        std::istringstream args(rest);
        std::string hold, tail;
        args >> hold;
        std::getline(args >> std::ws, tail);
        if (hold.empty()) throw std::invalid_argument(command + " needs a hold id");
        if (command == "approve") {
          client->review(hold, node::Verdict::approve);
        } else if (command == "refuse") {
          client->review(hold, node::Verdict::refuse, {}, tail);
        } else {
          std::vector<std::string> portions;
          std::istringstream names(tail);
          for (std::string name; std::getline(names, name, ',');)
            if (!name.empty()) portions.push_back(name);
          if (portions.empty()) throw std::invalid_argument("redact needs the portions to withhold");
          client->review(hold, node::Verdict::approve_redacted, portions);
        }
      } else if (command == "trigger") {
        if (rest.empty()) throw std::invalid_argument("trigger needs an event name");
        client->trigger(rest);
      } else if (command == "show") {
        std::ostringstream text;
        fmt::print(text, "  to [{}] category {} purpose {} title {}\n", draft.addressees.size(), draft.category,
                   draft.purpose, draft.title);
        for (const auto& p : draft.portions) fmt::print(text, "  portion {} {}: {}\n", p.id, to_string(p.label), p.body);
        say(text.str());
      } else if (command == "submit") {
        draft.id = make_uuid();
        draft.created_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
        client->submit(draft);
        say(fmt::format("submitted {}\n", draft.id));
        reset();
      } else {
        say(fmt::format("unknown command '{}'; type 'help'\n", command));
      }
    } catch (const std::exception& e) {
      say(fmt::format("error: {}\n", e.what()));
    }
    say("> ");
  }
  done = true;
  printer.join();
  client->close();
  return exit_ok;
}

void add_node_command(CLI::App& root, int& exit_code) {
  auto node = std::make_shared<NodeParams>();
  CLI::App* command = root.add_subcommand("node", "Act as one node: send, listen, or type interactively");
  command->add_option("--id", node->id, "This node's id (its certificate CN)")->required();
  command->add_option("--pki", node->pki, "PKI directory holding nodes/ID.crt and ca.crt")->required();
  command->add_option("--gateway", node->gateway, "Gateway address HOST:PORT")->capture_default_str();
  command->require_subcommand(1);

  auto send = std::make_shared<NodeSendParams>();
  CLI::App* send_command = command->add_subcommand("send", "Send one message and print the Receipt");
  send_command->add_option("--file", send->file, "Message description (YAML or JSON)")->check(CLI::ExistingFile);
  send_command->add_option("--to", send->to, "Addressee: NODE, role:X, list:X or org:X");
  send_command->add_option("--category", send->category, "Information category");
  send_command->add_option("--purpose", send->purpose, "Purpose");
  send_command->add_option("--title", send->title, "Title");
  send_command->add_option("--portion", send->portions, "LABEL=body, e.g. \"SECRET/UK EYES ONLY=...\"");
  send_command->add_flag("--json", send->json, "Print frames as JSON lines");
  send_command->add_option("--wait", send->wait_ms, "Milliseconds to wait for the Receipt")->capture_default_str();
  send_command->callback([node, send, &exit_code] { exit_code = run_node_send(*node, *send, std::cout, std::cerr); });

  auto listen = std::make_shared<NodeListenParams>();
  CLI::App* listen_command = command->add_subcommand("listen", "Print what arrives");
  listen_command->add_option("--count", listen->count, "Exit after N deliveries");
  listen_command->add_option("--timeout", listen->timeout, "Exit after this many seconds");
  listen_command->add_flag("--json", listen->json, "Print frames as JSON lines");
  listen_command->callback([node, listen, &exit_code] { exit_code = run_node_listen(*node, *listen, std::cout, std::cerr); });

  auto review = std::make_shared<NodeReviewParams>();
  CLI::App* review_command = command->add_subcommand("review", "Answer a review or consent request (a hold)");
  review_command->add_option("hold_id", review->hold_id, "The hold id from the request")->required();
  review_command->add_flag("--approve", review->approve, "Approve the release");
  review_command->add_flag("--refuse", review->refuse, "Refuse the release");
  review_command->add_option("--withhold", review->withhold, "Approve, withholding these portion ids");
  review_command->add_option("--comment", review->comment, "Why (shown to the originator)");
  review_command->callback([node, review, &exit_code] { exit_code = run_node_review(*node, *review, std::cout, std::cerr); });

  auto trigger = std::make_shared<NodeTriggerParams>();
  CLI::App* trigger_command = command->add_subcommand("trigger", "Say that a named event has happened (lifts embargoes)");
  trigger_command->add_option("event", trigger->event, "Event name from the policy")->required();
  trigger_command->callback([node, trigger, &exit_code] { exit_code = run_node_trigger(*node, *trigger, std::cout, std::cerr); });

  CLI::App* interactive = command->add_subcommand("interactive", "Type messages and watch deliveries");
  interactive->callback([node, &exit_code] { exit_code = run_node_interactive(*node, std::cin, std::cout, std::cerr); });
}

}  // namespace icegate::cli
