// The Table between the runner and the exercise host's pages, on its own.
#include "clients/exercise/table.hpp"

#include <gtest/gtest.h>

namespace icegate::exercise {
namespace {

using namespace std::chrono_literals;

TableStatus paused_at(Offset now) {
  TableStatus status;
  status.state = "paused";
  status.now = now;
  status.speed = 60;
  return status;
}

// A page polls "what changed since version V". The runner says where the run
// stands once a second even when it stands still (paused); that must not make
// every poll answer with the whole view again.
TEST(Table, SayingTheSameStatusAgainChangesNothing) {
  Table table("", {"council-chief-exec"});
  table.set_status(paused_at(-48h));
  const auto version = table.version();
  table.set_status(paused_at(-48h));
  EXPECT_EQ(table.version(), version);
  table.set_status(paused_at(-47h));
  EXPECT_GT(table.version(), version);
}

// What the gateway delivered to a node nobody plays never reaches a seat.
TEST(Table, OnlyPlayedSeatsHoldDeliveries) {
  Table table("", {"council-chief-exec"});
  SeatDelivery delivery;
  delivery.message.id = "m1";
  delivery.message.title = "Consequence briefing";
  EXPECT_FALSE(table.add_delivery("ctu-sio", delivery));
  EXPECT_TRUE(table.seat("ctu-sio").inbox.empty());
  EXPECT_TRUE(table.add_delivery("council-chief-exec", delivery));
  ASSERT_EQ(table.seat("council-chief-exec").inbox.size(), 1u);
  EXPECT_EQ(table.seat("council-chief-exec").inbox[0].message.title, "Consequence briefing");
}

// A person sends as their own node, whatever the page put in the message.
TEST(Table, ASeatSendsAsItsOwnNode) {
  Table table("", {"council-chief-exec"});
  Message message;
  message.originator = "ctu-sio";
  message.title = "Briefing";
  const auto id = table.send("council-chief-exec", message);
  EXPECT_FALSE(id.empty());
  EXPECT_TRUE(table.send("ctu-sio", message).empty()) << "a node nobody plays sends nothing";
  const auto commands = table.take_commands();
  ASSERT_EQ(commands.size(), 1u);
  const auto& send = std::get<SendCommand>(commands[0]);
  EXPECT_EQ(send.node, "council-chief-exec");
  EXPECT_EQ(send.message.originator, "council-chief-exec");
  EXPECT_EQ(send.message.id, id);
}

}  // namespace
}  // namespace icegate::exercise
