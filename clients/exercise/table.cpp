#include "clients/exercise/table.hpp"

#include <algorithm>
#include <utility>

#include "gateway/policy/engine.hpp"

namespace icegate::exercise {

Table::Table(std::string name, std::vector<std::string> played) : name_(std::move(name)), played_(std::move(played)) {
  for (const auto& node : played_) seats_[node].node = node;
}

bool Table::plays(const std::string& node) const { return seats_.contains(node); }  // seats_'s keys never change

void Table::changed(SeatView* seat) {
  ++version_;
  if (seat) seat->version = version_;
}

void Table::set_policy(std::shared_ptr<const policy::CompiledPolicy> policy) {
  std::lock_guard lock(mutex_);
  policy_ = std::move(policy);
  changed(nullptr);
}

void Table::set_gateways(std::vector<TableGateway> gateways) {
  std::lock_guard lock(mutex_);
  gateways_ = std::move(gateways);
  changed(nullptr);
}

void Table::set_status(TableStatus status) {
  std::lock_guard lock(mutex_);
  // The runner repeats itself once a second; only a change is news to a page.
  if (status == status_) return;
  status_ = std::move(status);
  changed(nullptr);
}

void Table::set_expectations(std::vector<LiveExpectation> board) {
  std::lock_guard lock(mutex_);
  board_ = std::move(board);
  changed(nullptr);
}

void Table::set_connected(const std::string& node, bool connected) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end() || it->second.connected == connected) return;
  it->second.connected = connected;
  changed(&it->second);
}

bool Table::add_delivery(const std::string& node, SeatDelivery delivery) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end()) return false;
  delivery.seq = ++delivery_seq_;
  it->second.inbox.push_back(std::move(delivery));
  changed(&it->second);
  return true;
}

bool Table::add_receipt(const std::string& node, SeatReceipt receipt) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end()) return false;
  it->second.receipts.push_back(std::move(receipt));
  changed(&it->second);
  return true;
}

bool Table::add_review(const std::string& node, SeatReview review) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end()) return false;
  it->second.reviews.push_back(std::move(review));
  changed(&it->second);
  return true;
}

void Table::update_sent(const std::string& node, const std::string& id, std::string state, std::string error) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end()) return;
  for (auto& sent : it->second.sent)
    if (sent.message_id == id && (sent.state == "queued" || state == "refused")) {
      sent.state = std::move(state);
      sent.error = std::move(error);
      changed(&it->second);
      return;
    }
}

void Table::mark_review_answered(const std::string& node, const std::string& hold_id, std::string answer) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end()) return;
  for (auto& review : it->second.reviews)
    if (review.hold_id == hold_id) review.answer = answer;
  changed(&it->second);
}

void Table::add_media(MediaRelease release) {
  std::lock_guard lock(mutex_);
  for (auto& [node, seat] : seats_)
    if (release.seats.empty() || std::find(release.seats.begin(), release.seats.end(), node) != release.seats.end()) {
      seat.media.push_back(release);
      changed(&seat);
    }
  media_.push_back(std::move(release));
  changed(nullptr);
}

void Table::set_human_actions(std::vector<HumanAction> actions) {
  std::lock_guard lock(mutex_);
  human_actions_ = std::move(actions);
  changed(nullptr);
}

void Table::note_fired(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (fired_.insert(id).second) changed(nullptr);
}

std::vector<Command> Table::take_commands() {
  std::lock_guard lock(mutex_);
  std::vector<Command> taken;
  taken.swap(commands_);
  return taken;
}

void Table::set_command_watch(std::function<void()> watch) {
  std::lock_guard lock(mutex_);
  command_watch_ = std::move(watch);
}

void Table::queue(Command command) {  // lock held
  commands_.push_back(std::move(command));
  if (command_watch_) command_watch_();
}

std::string Table::send(const std::string& node, Message message, std::string what) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end()) return {};
  if (message.id.empty()) message.id = make_uuid();
  message.originator = node;
  const std::string id = message.id;
  it->second.sent.push_back({status_.now, id, std::move(what), message.title, "queued", {}});
  it->second.last_action = status_.now;
  queue(SendCommand{node, std::move(message)});
  changed(&it->second);
  return id;
}

void Table::review(const std::string& node, ReviewCommand command) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end()) return;
  command.node = node;
  it->second.sent.push_back({status_.now, command.hold_id, "review", command.verdict, "queued", {}});
  it->second.last_action = status_.now;
  queue(std::move(command));
  changed(&it->second);
}

void Table::trigger(const std::string& node, const std::string& event) {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  if (it == seats_.end()) return;
  it->second.sent.push_back({status_.now, event, "trigger", event, "queued", {}});
  it->second.last_action = status_.now;
  queue(TriggerCommand{node, event});
  changed(&it->second);
}

void Table::facilitate(Command command) {
  std::lock_guard lock(mutex_);
  queue(std::move(command));
  changed(nullptr);
}

void Table::observe(Observation observation) {
  std::lock_guard lock(mutex_);
  observation.table = name_;
  observations_.push_back(std::move(observation));
  changed(nullptr);
}

void Table::rate(ObjectiveRating rating) {
  std::lock_guard lock(mutex_);
  rating.table = name_;
  auto same = [&](const ObjectiveRating& r) { return r.objective == rating.objective && r.evaluator == rating.evaluator; };
  if (auto it = std::find_if(ratings_.begin(), ratings_.end(), same); it != ratings_.end()) *it = std::move(rating);
  else ratings_.push_back(std::move(rating));
  changed(nullptr);
}

void Table::set_improvement_plan(std::vector<ImprovementItem> plan) {
  std::lock_guard lock(mutex_);
  plan_ = std::move(plan);
  changed(nullptr);
}

std::shared_ptr<const policy::CompiledPolicy> Table::policy() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

std::vector<TableGateway> Table::gateways() const {
  std::lock_guard lock(mutex_);
  return gateways_;
}

const TableGateway* Table::gateway_for(const std::string& node) const {
  for (const auto& g : gateways_)
    if (std::find(g.nodes.begin(), g.nodes.end(), node) != g.nodes.end()) return &g;
  return nullptr;
}

std::string Table::gateway_of(const std::string& node) const {
  std::lock_guard lock(mutex_);
  const TableGateway* g = gateway_for(node);
  return g ? g->id : std::string();
}

std::shared_ptr<const policy::CompiledPolicy> Table::policy_for(const std::string& node) const {
  std::lock_guard lock(mutex_);
  const TableGateway* g = gateway_for(node);
  return g ? g->policy : policy_;
}

TableStatus Table::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

std::vector<LiveExpectation> Table::expectations() const {
  std::lock_guard lock(mutex_);
  return board_;
}

SeatView Table::seat(const std::string& node) const {
  std::lock_guard lock(mutex_);
  auto it = seats_.find(node);
  return it == seats_.end() ? SeatView{} : it->second;
}

std::uint64_t Table::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::vector<Observation> Table::observations() const {
  std::lock_guard lock(mutex_);
  return observations_;
}

std::vector<ObjectiveRating> Table::ratings() const {
  std::lock_guard lock(mutex_);
  return ratings_;
}

std::vector<ImprovementItem> Table::improvement_plan() const {
  std::lock_guard lock(mutex_);
  return plan_;
}

std::vector<MediaRelease> Table::media() const {
  std::lock_guard lock(mutex_);
  return media_;
}

std::vector<HumanAction> Table::human_actions() const {
  std::lock_guard lock(mutex_);
  return human_actions_;
}

std::set<std::string> Table::fired() const {
  std::lock_guard lock(mutex_);
  return fired_;
}

}  // namespace icegate::exercise
