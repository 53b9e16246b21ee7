// How a node shows what it receives, to a person (plain text) or a program
// (one JSON object per line, the frame in protobuf's canonical JSON mapping,
// gateway/wire/proto_json.hpp).
#pragma once

#include <ostream>
#include <string>

#include "clients/node/node_client.hpp"

namespace icegate::node {

void render(std::ostream& out, const Delivery& delivery);
void render(std::ostream& out, const Receipt& receipt);
void render(std::ostream& out, const ErrorNotice& error);
void render(std::ostream& out, const Acknowledgement& ack);
void render(std::ostream& out, const ReviewRequest& request);
void render(std::ostream& out, const NodeEvent& event);

// One line of JSON for a frame.
std::string to_json(const v1::Frame& frame);

}  // namespace icegate::node
