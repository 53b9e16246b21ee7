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

// The runner is told of what people ask for rather than looking for it: each
// command queued tells the command watch once; other changes, and a command
// from a node nobody plays (not queued), do not.
TEST(Table, EveryQueuedCommandTellsTheCommandWatch) {
  Table table("", {"council-chief-exec"});
  int told = 0;
  table.set_command_watch([&] { ++told; });
  table.set_status(paused_at(-48h));
  SeatDelivery delivery;
  delivery.message.id = "m1";
  table.add_delivery("council-chief-exec", delivery);
  EXPECT_EQ(told, 0);

  Message message;
  message.title = "Briefing";
  table.send("council-chief-exec", message);
  table.send("ctu-sio", message);
  EXPECT_EQ(told, 1) << "a node nobody plays queues nothing";
  table.review("council-chief-exec", {"", "h1", "approve", {}, ""});
  table.trigger("council-chief-exec", "go");
  table.facilitate(FireInjectCommand{"I1"});
  EXPECT_EQ(told, 4);
  EXPECT_EQ(table.take_commands().size(), 4u);

  table.set_command_watch({});
  table.trigger("council-chief-exec", "go");
  EXPECT_EQ(told, 4) << "reset: nobody is told";
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
