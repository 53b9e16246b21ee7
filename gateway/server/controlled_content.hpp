// Content under its originator's control: messages sent with
// originator_control (onward release needs the originator's consent) or
// no_onward_sharing (onward release is refused), recognised again when
// another node re-sends them, by `derived_from` or by a portion's body digest.
//
// Owns: those messages, by id, and the index of their portions' digests.
// The submit checks ask it whether a Submit re-sends forbidden content; the
// decisions whether a release needs consent. Each message is stored in the
// form `remember` returns (read back with `load`).
//
// Guard: none of its own. It is state of the router and confined to the
// router's executor, as the router is.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/store/store.hpp"

namespace icegate::server {

struct ControlledContent {
  std::string message_id;
  std::string originator;
  Handling handling;
  std::set<std::string, std::less<>> recipients;
  std::vector<std::string> digests;
};

class ControlledContentBook {
 public:
  // The controlled message whose content `message` re-sends, or null.
  const ControlledContent* source_of(const Message& message) const;
  // Remembers `message` as controlled by `handling`, first sent to
  // `recipients`. Returns its stored form (icegate.store.v1.StoredControlled).
  store::StoredBlob remember(const Message& message, const Handling& handling,
                             const std::vector<std::string>& recipients);
  // One read back from the store. False if it cannot be read.
  bool load(const store::StoredBlob& blob);
  void clear();
  std::size_t size() const { return by_id_.size(); }

 private:
  std::map<std::string, ControlledContent, std::less<>> by_id_;
  std::map<std::string, std::string, std::less<>> by_content_;  // body digest -> message id
};

}  // namespace icegate::server
