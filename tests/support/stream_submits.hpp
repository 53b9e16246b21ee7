// A node that streams Submits with a window of unacknowledged ones, for the
// crash tests: each message is made by `make(i)`, `submitted(id)` is called
// before it is sent and `acked(id)` for each Ack{ok: true}. An Error from the
// gateway fails the test. Returns how many are still unacknowledged when it
// stops (all sent and answered, or `limit` passed).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "clients/node/node_client.hpp"

namespace icegate::testing {

inline int stream_submits(node::NodeClient& client, int count, int window, const std::function<Message(int)>& make,
                          const std::function<void(const std::string&)>& submitted,
                          const std::function<void(const std::string&)>& acked,
                          std::chrono::steady_clock::duration limit, const std::string& who) {
  int sent = 0, outstanding = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while ((sent < count || outstanding > 0) && std::chrono::steady_clock::now() < deadline) {
    while (sent < count && outstanding < window) {
      Message message = make(sent);
      submitted(message.id);
      client.submit(message);
      ++sent;
      ++outstanding;
    }
    auto event = client.next_event(std::chrono::milliseconds(200));
    if (!event) continue;
    if (auto* ack = std::get_if<node::Acknowledgement>(&event->payload)) {
      if (ack->ok) acked(ack->message_id);
      --outstanding;
    } else if (auto* error = std::get_if<node::ErrorNotice>(&event->payload)) {
      ADD_FAILURE() << who << " got " << error->code << ": " << error->text;
    }
  }
  return outstanding;
}

}  // namespace icegate::testing
