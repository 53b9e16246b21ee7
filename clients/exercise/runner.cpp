#include "clients/exercise/runner.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "clients/exercise/check.hpp"
#include "clients/node/node_client.hpp"
#include "gateway/model/clock.hpp"
#include "gateway/pki/pki.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/server/gateway.hpp"
#include "gateway/server/router.hpp"
#include "gateway/transport/tls.hpp"

namespace icegate::exercise {

bool RunResult::all_met() const {
  return std::all_of(expectations.begin(), expectations.end(), [](const auto& e) { return e.met; });
}

namespace {

using namespace std::chrono_literals;

// A message id for the `count`th message sent by inject or response `source`:
// a UUID (version 8, RFC 9562) made from a SHA-256 of what names it. Each run
// has a gateway and store of its own, so an id need only be unique within the
// run, and the same scenario then gives the same ids, and the same reports.
std::string run_message_id(const std::string& scenario, const std::string& source, int count) {
  const std::string name = fmt::format("icegate exercise\n{}\n{}\n{}", scenario, source, count);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(name.data(), name.size(), digest, &length, EVP_sha256(), nullptr) != 1 || length < 16)
    throw RunError("cannot compute a message id (SHA-256 unavailable)");
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // the RFC 9562 variant
  std::string id;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += fmt::format("{:02x}", digest[i]);
  }
  return id;
}

// `file` as the scenario's `policy:` would name it (relative to the scenario's
// directory, '/'-separated), so a report says which policy without saying
// where on the facilitator's machine it was.
std::string relative_to_scenario(const std::filesystem::path& file, const std::filesystem::path& scenario) {
  if (scenario.empty()) return file.filename().generic_string();
  const auto normal = [](const std::filesystem::path& p) { return std::filesystem::absolute(p).lexically_normal(); };
  const auto relative = normal(file).lexically_relative(normal(scenario).parent_path());
  return relative.empty() ? file.filename().generic_string() : relative.generic_string();
}

std::string label_text(const Label& label) {
  std::string text = label.classification;
  for (const auto& category : label.categories) text += "/" + category;
  return text;
}

// A working directory that is removed afterwards unless the caller gave one.
class WorkDir {
 public:
  explicit WorkDir(const std::filesystem::path& given) {
    if (!given.empty()) {
      path_ = given;
      std::filesystem::create_directories(path_);
      return;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "icegate-exercise-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw RunError("cannot create a temporary directory");
    path_ = pattern;
    owned_ = true;
  }
  ~WorkDir() {
    std::error_code ignored;
    if (owned_) std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool owned_ = false;
};

class Runner {
 public:
  Runner(const Scenario& scenario, const RunOptions& options) : scenario_(scenario), options_(options) {}

  RunResult run() {
    load_policy();
    validate();
    WorkDir work(options_.work_dir);
    const auto started = std::chrono::steady_clock::now();
    start_gateway(work.path());
    connect_nodes(work.path());
    schedule();
    now_ = scenario_.start;
    publish(true);
    if (options_.real_time) run_real_time();
    else run_simulated();
    finish();
    finished_ = true;
    publish(true);
    if (options_.keep_open && options_.control)
      while (!options_.control->stopped()) std::this_thread::sleep_for(100ms);
    stop();
    result_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(result_);
  }

 private:
  // ---- set-up ---------------------------------------------------------------

  void load_policy() {
    const auto file = options_.policy.empty() ? scenario_.policy : options_.policy;
    if (file.empty()) throw RunError("no policy: give --policy, or `policy:` in the scenario");
    auto loaded = policy::load_policy(file);
    if (!loaded.policy) {
      std::string errors;
      for (const auto& d : loaded.diagnostics.sorted()) errors += "\n" + policy::to_string(d);
      throw InvalidPolicyError(fmt::format("policy {} is invalid:{}", file.string(), errors));
    }
    policy_ = loaded.policy;
    policy_file_ = file;
    participants_ = participants(scenario_, *policy_);
  }

  // Every name the scenario uses, checked against the policy before anything
  // starts; the same check as `icegate exercise check`.
  void validate() {
    const Diagnostics problems = check_against_policy(scenario_, *policy_);
    if (problems.has_errors()) throw RunError(render(problems));
  }

  void start_gateway(const std::filesystem::path& dir) {
    pki::init_ca(dir / "pki", "icegate exercise CA", true);
    for (const auto& node : participants_) pki::issue_node(dir / "pki", node);
    clock_ = std::make_shared<SimulatedClock>(from_unix_ms(scenario_.t0_unix_ms + scenario_.start.count()));
    server::GatewayConfig config;
    config.listen = {boost::asio::ip::make_address("127.0.0.1"), 0};
    config.pki_dir = dir / "pki";
    config.policy_file = policy_file_;
    config.data_dir = dir / "data";
    config.clock = clock_;
    config.durable_fsync = false;  // an exercise needs no power-cut durability; it needs speed
    config.idle_timeout = std::chrono::hours(24);
    config.max_connections = participants_.size() + 64;
    gateway_ = std::make_unique<server::Gateway>(io_, config, policy_);
    gateway_->start();
    // Before the io thread starts, this thread is the gateway's only one.
    if (options_.hooks.gateway_started) options_.hooks.gateway_started(*gateway_);
    io_thread_ = std::thread([this] { io_.run(); });
    result_.policy_version = policy_->version();
  }

  void connect_nodes(const std::filesystem::path& dir) {
    for (const auto& node : participants_) rank_.emplace(node, rank_.size());
    for (const auto& node : participants_) {
      node::NodeOptions options;
      options.node_id = node;
      options.credentials = transport::node_credentials(dir / "pki", node);
      options.port = gateway_->local_endpoint().port();
      options.heartbeat_interval = std::chrono::hours(1);
      options.sink = [this](const std::string& id, node::NodeEvent event) {
        {
          std::lock_guard lock(inbox_mutex_);
          inbox_.push_back({id, std::move(event)});
        }
        inbox_changed_.notify_one();
      };
      try {
        clients_.emplace(node, std::make_unique<node::NodeClient>(std::move(options)));
      } catch (const std::exception& e) {
        throw RunError(fmt::format("node {} could not connect: {}", node, e.what()));
      }
      if (options_.progress && participants_.size() > 200 && clients_.size() % 500 == 0)
        fmt::print(*options_.progress, "connected {}/{} nodes\n", clients_.size(), participants_.size());
    }
  }

  void stop() {
    if (options_.hooks.gateway_stopping) {
      std::promise<void> done;
      boost::asio::post(io_, [&] {
        options_.hooks.gateway_stopping(*gateway_);
        done.set_value();
      });
      done.get_future().wait();
    }
    for (auto& [id, client] : clients_) client->close();
    clients_.clear();
    // Keeps io_ running while we wait below: once the gateway has stopped it
    // may have no work left, and io_.run() would return with our questions
    // (sessions_left) still posted and never answered.
    auto keep_running = boost::asio::make_work_guard(io_);
    // The gateway drains (every commit finished, its frames out, then every
    // session closed): wait for that, as `icegate serve` does, rather than for a
    // fixed time that a loaded machine may not keep to. Bounded, as a last resort.
    auto drained = std::make_shared<std::promise<void>>();
    auto done = drained->get_future();
    boost::asio::post(io_, [this, drained] {
      gateway_->stop();
      gateway_->router().after_commits([drained] { drained->set_value(); });
    });
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    if (done.wait_until(give_up) == std::future_status::ready)
      while (sessions_left() > 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(10ms);
    keep_running.reset();
    io_.stop();
    io_thread_.join();
    gateway_.reset();
  }

  template <typename F>
  auto on_gateway(F f) {
    std::promise<decltype(f())> result;
    boost::asio::post(io_, [&] { result.set_value(f()); });
    return result.get_future().get();
  }

  std::size_t sessions_left() {
    return on_gateway([this] { return gateway_->session_count(); });
  }

  // After the simulated clock moves: embargoes due by now lift at once.
  void tick_gateway() {
    on_gateway([this] {
      gateway_->tick_now();
      return 0;
    });
  }

  // ---- the agenda -------------------------------------------------------------

  struct Item {
    Offset at;
    std::string what;
    std::function<void()> action;
    bool check = false;  // a deadline: judged after the moment's actions have settled
  };

  void at(Offset when, std::string what, std::function<void()> action, bool check = false) {
    agenda_.emplace(std::make_pair(when, sequence_++), Item{when, std::move(what), std::move(action), check});
  }

  void schedule() {
    result_.scenario = scenario_.name;
    result_.scenario_title = scenario_.title;
    result_.policy_name = policy_->source().name;
    result_.policy_file = relative_to_scenario(policy_file_, scenario_.file);
    result_.t0_unix_ms = scenario_.t0_unix_ms;
    result_.start = scenario_.start;
    result_.end = scenario_.end;
    result_.nodes = participants_;
    for (const auto& inject : scenario_.injects) {
      inject_times_[inject.id] = inject.at;
      at(inject.at, "inject " + inject.id, [this, &inject] { fire(inject, TimelineEntry::Kind::inject); });
      // Embargo times: stop the clock there, so releases are seen when they happen.
      if (inject.message && inject.message->not_before)
        at(*inject.message->not_before, "embargo of " + inject.id, [] {});
    }
    for (const auto& e : scenario_.expectations) {
      std::optional<Offset> deadline = e.kind == ExpectationKind::does_not_receive_before ? e.before : e.by;
      if (e.kind == ExpectationKind::approved_within && e.within && inject_times_.contains(e.inject))
        deadline = inject_times_[e.inject] + *e.within;
      if (deadline) at(*deadline, "deadline of " + e.id, [this, &e] { check_deadline(e); }, true);
    }
  }

  // Runs everything due up to `upto`: each moment's items together, then waits
  // for the system to settle before the clock moves on.
  void execute_due(Offset upto) {
    while (!agenda_.empty() && agenda_.begin()->first.first <= upto) {
      const Offset moment = agenda_.begin()->first.first;
      now_ = std::max(now_, moment);
      clock_->set(from_unix_ms(scenario_.t0_unix_ms + now_.count()));
      tick_gateway();
      // First what happens at this moment, then (once it has settled) the
      // deadlines that fall due at it; a contingency they fire settles too.
      for (const bool checks : {false, true}) {
        bool ran = false;
        for (auto it = agenda_.begin(); it != agenda_.end() && it->first.first == moment;) {
          if (it->second.check != checks) {
            ++it;
            continue;
          }
          auto item = std::move(it->second);
          it = agenda_.erase(it);
          item.action();
          ran = true;
          publish(true, item.what);
        }
        if (ran || !checks) settle();
      }
    }
  }

  void run_simulated() {
    now_ = scenario_.start;
    settle();
    execute_due(scenario_.end);
    now_ = scenario_.end;
    clock_->set(from_unix_ms(scenario_.t0_unix_ms + now_.count()));
    tick_gateway();
    settle();
  }

  // Tells the watcher where the run stands (on the gateway's thread).
  void publish(bool notable, const std::string& item = {}) {
    if (!options_.hooks.progress) return;
    RunStatus status;
    status.scenario = scenario_.name;
    status.state = finished_ ? "finished" : options_.control && options_.control->paused() ? "paused" : "running";
    status.clock_unix_ms = scenario_.t0_unix_ms + now_.count();
    if (!agenda_.empty() && !finished_) status.next_unix_ms = scenario_.t0_unix_ms + agenda_.begin()->first.first.count();
    status.item = item;
    status.item_id = item.substr(item.rfind(' ') + 1);
    status.speed = options_.real_time ? options_.speed : 0;
    last_published_ = std::chrono::steady_clock::now();
    published_paused_ = status.state == "paused";
    boost::asio::post(io_, [this, status = std::move(status), notable] { options_.hooks.progress(status, notable); });
  }

  void run_real_time() {
    Control idle;
    Control& control = options_.control ? *options_.control : idle;
    now_ = scenario_.start;
    auto real_start = std::chrono::steady_clock::now();
    Offset base = now_;
    while (!control.stopped() && now_ < scenario_.end) {
      if (control.paused() != published_paused_) publish(true);
      else if (std::chrono::steady_clock::now() - last_published_ >= 1s) publish(false);
      if (control.paused()) {
        if (control.take_step() && !agenda_.empty()) {
          execute_due(agenda_.begin()->first.first);
          base = now_;
          real_start = std::chrono::steady_clock::now();
        } else {
          std::this_thread::sleep_for(50ms);
          base = now_;
          real_start = std::chrono::steady_clock::now();
        }
        continue;
      }
      const auto elapsed = std::chrono::steady_clock::now() - real_start;
      const Offset target = std::min(
          scenario_.end,
          base + std::chrono::duration_cast<Offset>(std::chrono::duration<double, std::milli>(
                     std::chrono::duration<double, std::milli>(elapsed).count() * options_.speed)));
      execute_due(target);
      now_ = std::max(now_, target);
      clock_->set(from_unix_ms(scenario_.t0_unix_ms + now_.count()));
      tick_gateway();
      drain(0ms);
      handle_arrived();
      std::this_thread::sleep_for(20ms);
    }
    settle();
  }

  // Waits until everything set in motion has arrived: no frame owed to a
  // connected node, no submit or control frame unanswered, nothing new for a moment.
  void settle() {
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < give_up) {
      if (drain(20ms)) continue;
      if (!pending_submits_.empty() || pending_controls_ > 0) continue;
      if (on_gateway([this] { return gateway_->owed_to_connected(); }) == 0 && !drain(5ms)) {
        handle_arrived();
        if (arrived_.empty()) return;
      }
    }
    handle_arrived();
    spdlog::warn("exercise: the system did not settle within 60 s at {}", format_scenario_time(now_));
  }

  // Takes what has arrived; true if anything did. Answers (acknowledgements,
  // refusals) are counted at once, since they say whether the system has
  // settled; everything else waits in arrived_ for handle_arrived().
  bool drain(std::chrono::milliseconds wait) {
    std::deque<Incoming> batch;
    {
      std::unique_lock lock(inbox_mutex_);
      if (inbox_.empty() && wait.count() > 0) inbox_changed_.wait_for(lock, wait, [this] { return !inbox_.empty(); });
      batch.swap(inbox_);
    }
    for (auto& incoming : batch) {
      if (auto* ack = std::get_if<node::Acknowledgement>(&incoming.event.payload)) {
        on(incoming.node, *ack);
        continue;
      }
      if (auto* error = std::get_if<node::ErrorNotice>(&incoming.event.payload)) count_refusal(*error);
      arrived_.push_back(std::move(incoming));
    }
    return !batch.empty();
  }

  // Handles what has arrived, node by node in participant order. Frames for
  // different nodes come over different connections in no fixed order; handled
  // as they came, they would order the timeline (and the responses they
  // schedule) differently from run to run. Each node's own frames keep the
  // order the gateway sent them in.
  void handle_arrived() {
    std::vector<Incoming> batch;
    batch.swap(arrived_);
    std::stable_sort(batch.begin(), batch.end(),
                     [this](const Incoming& a, const Incoming& b) { return rank_.at(a.node) < rank_.at(b.node); });
    for (auto& incoming : batch) handle(incoming.node, incoming.event);
  }

  // Waits until the gateway has answered every frame sent so far, so that the
  // next one is decided after them: items due at the same moment are decided
  // in agenda order (injects in file order), not in whichever order their
  // nodes' connections happen to deliver them.
  void await_answers() {
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while ((!pending_submits_.empty() || pending_controls_ > 0) && std::chrono::steady_clock::now() < give_up)
      drain(20ms);
  }

  // ---- acting -----------------------------------------------------------------

  void progress(const std::string& text) {
    if (options_.progress) fmt::print(*options_.progress, "[{:>8}] {}\n", format_scenario_time(now_), text);
  }

  void fire(const Inject& inject, TimelineEntry::Kind kind) {
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = kind;
    entry.node = inject.from;
    entry.from = inject.from;
    entry.inject = inject.id;
    entry.detail = inject.synopsis;
    ++injects_fired_;
    if (inject.message) {
      const Message message = send_for(entry, *inject.message, inject.from, inject.id);
      progress(fmt::format("{} {}: {} sends \"{}\"", kind == TimelineEntry::Kind::contingency ? "contingency" : "inject",
                           inject.id, inject.from, message.title));
    } else {
      entry.kind = kind == TimelineEntry::Kind::contingency ? kind : TimelineEntry::Kind::event;
      entry.detail = inject.trigger + (inject.synopsis.empty() ? "" : ": " + inject.synopsis);
      trigger(inject.from, inject.trigger);
      progress(fmt::format("inject {}: {} triggers {}", inject.id, inject.from, inject.trigger));
    }
    result_.timeline.push_back(std::move(entry));
  }

  // Sends `spec` from `node` for the inject or response `source`, and notes it in `entry`.
  Message send_for(TimelineEntry& entry, const MessageSpec& spec, const std::string& node, const std::string& source) {
    Message message = make_message(spec, node, scenario_.t0_unix_ms);
    // Named by what sent it, not at random, so the same inputs give the same report bytes.
    message.id = run_message_id(scenario_.name, source, sent_count_[source]++);
    sent_at_.try_emplace(source, now_);
    inject_messages_[source] = message.id;
    sources_[message.id] = source;
    entry.message_id = message.id;
    entry.title = message.title;
    entry.category = message.category;
    submit(node, message);
    return message;
  }

  void submit(const std::string& node, const Message& message) {
    await_answers();
    pending_submits_.insert(message.id);
    clients_.at(node)->submit(message);
  }

  void trigger(const std::string& node, const std::string& event) {
    await_answers();
    ++pending_controls_;
    clients_.at(node)->trigger(event);
    // Simulated agencies react to the event in the world as it is declared.
    for (const auto& response : scenario_.responses)
      if (response.on == ResponseTrigger::event && response.on_value == event) respond(response, {});
  }

  void respond(const Response& response, const std::string& hold_id) {
    if (response.once && !responded_.insert(response.id).second) return;
    at(now_ + response.after, "response " + response.id, [this, &response, hold_id] {
      TimelineEntry entry;
      entry.at = now_;
      entry.kind = TimelineEntry::Kind::response;
      entry.node = response.node;
      entry.from = response.node;
      entry.inject = response.id;
      entry.detail = response.synopsis;
      if (response.send) {
        const Message message = send_for(entry, *response.send, response.node, response.id);
        progress(fmt::format("response {}: {} sends \"{}\"", response.id, response.node, message.title));
      } else if (!response.review.empty()) {
        await_answers();
        ++pending_controls_;
        const auto verdict = response.review == "approve"  ? node::Verdict::approve
                             : response.review == "refuse" ? node::Verdict::refuse
                                                           : node::Verdict::approve_redacted;
        clients_.at(response.node)->review(hold_id, verdict, response.redact_portions, response.synopsis);
        entry.kind = TimelineEntry::Kind::review;
        entry.detail = fmt::format("{} hold of {}{}", response.review, hold_names_[hold_id],
                                   response.synopsis.empty() ? "" : ": " + response.synopsis);
        progress(fmt::format("response {}: {} answers review: {}", response.id, response.node, response.review));
      } else if (!response.trigger.empty()) {
        entry.kind = TimelineEntry::Kind::event;
        entry.detail = response.trigger;
        trigger(response.node, response.trigger);
        progress(fmt::format("response {}: {} triggers {}", response.id, response.node, response.trigger));
      }
      result_.timeline.push_back(std::move(entry));
    });
  }

  // ---- what arrives -----------------------------------------------------------

  std::string source_of(const std::string& message_id) const {
    auto it = sources_.find(message_id);
    return it == sources_.end() ? std::string() : it->second;
  }

  void handle(const std::string& node_id, node::NodeEvent& event) {
    std::visit([&](auto& payload) { on(node_id, payload); }, event.payload);
  }

  void on(const std::string& node_id, node::Delivery& delivery) {
    ++result_.frames_delivered;
    const Message& m = delivery.message;
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::delivered;
    entry.node = node_id;
    entry.from = m.originator;
    entry.message_id = m.id;
    entry.inject = source_of(m.id);
    entry.title = m.title;
    entry.category = m.category;
    entry.decision = delivery.decision;
    entry.released = m.portions;
    entry.withheld = delivery.withheld;
    entry.rules = delivery.rule_ids;
    entry.reason = delivery.reason;
    if (knowledge_index_.emplace(node_id + "\n" + m.id, result_.knowledge.size()).second) {
      Knowledge k;
      k.node = node_id;
      k.inject = entry.inject;
      k.message_id = m.id;
      k.first_at = now_;
      k.decision = delivery.decision;
      for (const auto& p : m.portions) k.released_labels.push_back(label_text(p.label));
      for (const auto& w : delivery.withheld) k.withheld_labels.push_back(label_text(w.label));
      result_.knowledge.push_back(std::move(k));
    }
    received_[node_id].push_back(result_.timeline.size());
    result_.timeline.push_back(entry);
    for (const auto& response : scenario_.responses) {
      if (response.node != node_id) continue;
      if ((response.on == ResponseTrigger::receives_category && response.on_value == m.category) ||
          (response.on == ResponseTrigger::receives_inject && response.on_value == entry.inject))
        respond(response, {});
    }
  }

  void on(const std::string& node_id, node::Receipt& receipt) {
    receipt_times_.try_emplace(receipt.message_id, now_);
    for (const auto& outcome : receipt.outcomes) {
      const auto& d = outcome.decision;
      TimelineEntry entry;
      entry.at = now_;
      entry.kind = TimelineEntry::Kind::decision;
      entry.node = d.node_id;
      entry.from = node_id;
      entry.message_id = receipt.message_id;
      entry.inject = source_of(receipt.message_id);
      entry.decision = d.decision;
      entry.withheld = d.withheld;
      entry.rules = d.rule_ids;
      entry.reason = d.reason;
      entry.held_for = d.held_for;
      entry.detail = receipt.follow_up ? "follow-up" : "";
      if (receipt.follow_up && d.decision != Decision::deny && d.decision != Decision::hold &&
          d.reason.find("approved") != std::string::npos)
        approval_times_.try_emplace(receipt.message_id, now_);
      result_.timeline.push_back(std::move(entry));
    }
  }

  void on(const std::string& node_id, node::ReviewRequest& request) {
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::review_request;
    entry.node = node_id;
    entry.from = request.message.originator;
    entry.message_id = request.message.id;
    entry.inject = source_of(request.message.id);
    entry.title = request.message.title;
    entry.released = request.message.portions;
    entry.withheld = request.not_shown;
    entry.rules = request.rule_ids;
    entry.reason = request.reason;
    // The gateway's hold ids are random: name the hold by what it holds, so reports are reproducible.
    const std::string held = entry.inject.empty() ? entry.title : entry.inject;
    hold_names_.emplace(request.hold_id, held);
    entry.detail = fmt::format("hold of {} for {}", held, fmt::join(request.recipients, ", "));
    result_.timeline.push_back(std::move(entry));
    for (const auto& response : scenario_.responses)
      if (response.node == node_id && response.on == ResponseTrigger::review_request &&
          (response.on_value == "any" || response.on_value.empty() || response.on_value == source_of(request.message.id)))
        respond(response, request.hold_id);
  }

  void on(const std::string&, node::Acknowledgement& ack) {
    if (pending_submits_.erase(ack.message_id)) return;
    if (pending_controls_ > 0) --pending_controls_;
  }

  void on(const std::string& node_id, node::ErrorNotice& error) {
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::error;
    entry.node = node_id;
    entry.from = node_id;
    entry.message_id = error.message_id;
    entry.inject = source_of(error.message_id);
    entry.detail = error.code + ": " + error.text;
    result_.timeline.push_back(std::move(entry));
    progress(fmt::format("the gateway refused {}: {}: {}", node_id, error.code, error.text));
  }

  // A refused Submit is followed by Ack{ok: false}; a refused control frame is not.
  void count_refusal(const node::ErrorNotice& error) {
    if (!pending_submits_.contains(error.message_id) && pending_controls_ > 0) --pending_controls_;
  }

  void on(const std::string& node_id, node::Disconnected& gone) {
    if (stopping_) return;
    TimelineEntry entry;
    entry.at = now_;
    entry.kind = TimelineEntry::Kind::error;
    entry.node = node_id;
    entry.detail = "disconnected: " + gone.reason;
    result_.timeline.push_back(std::move(entry));
  }

  // ---- expectations -------------------------------------------------------------

  ExpectationResult evaluate(const Expectation& e, bool final) {
    ExpectationResult r{e.id, e.description, false, std::nullopt, {}, std::string(to_string(e.kind))};
    const std::string message_id = inject_messages_.contains(e.inject) ? inject_messages_[e.inject] : std::string();
    switch (e.kind) {
      case ExpectationKind::receives: {
        for (const auto index : received_[e.node]) {
          const auto& entry = result_.timeline[index];
          if (entry.message_id != message_id || message_id.empty()) continue;
          if (e.by && entry.at > *e.by) continue;
          const bool full = entry.withheld.empty();
          if ((e.version == Version::full && !full) || (e.version == Version::redacted && full)) continue;
          r.met = true;
          r.when = entry.at;
          r.evidence = fmt::format("{} received {} ({}) at {}", e.node, e.inject, full ? "full" : "redacted",
                                   format_scenario_time(entry.at));
          return r;
        }
        r.evidence = message_id.empty() ? not_sent(e.inject, final)
                                        : fmt::format("{} had not received {}{}{}", e.node, e.inject,
                                                      e.version == Version::any ? "" : e.version == Version::full ? " in full" : " redacted",
                                                      e.by ? " by " + format_scenario_time(*e.by) : "");
        // Say what the gateway decided instead, if it did.
        for (const auto& entry : result_.timeline)
          if (entry.kind == TimelineEntry::Kind::decision && entry.node == e.node && entry.message_id == message_id &&
              !message_id.empty())
            r.evidence += fmt::format("; the gateway decided {} ({})", to_string(entry.decision), entry.reason);
        return r;
      }
      case ExpectationKind::does_not_receive: {
        for (const auto index : received_[e.node]) {
          const auto& entry = result_.timeline[index];
          if (!message_id.empty() && entry.message_id == message_id) {
            r.when = entry.at;
            r.evidence = fmt::format("{} received {} at {}", e.node, e.inject, format_scenario_time(entry.at));
            return r;
          }
        }
        r.met = final;
        r.evidence = fmt::format("{} never received {}", e.node, e.inject);
        return r;
      }
      case ExpectationKind::does_not_receive_before: {
        // Judged at `before`: what arrives from then on is allowed, so a delivery
        // at exactly that time (an embargo lifted on time) keeps it met.
        const Offset before = e.before.value_or(result_.end);
        std::optional<Offset> first_from_then;
        for (const auto index : received_[e.node]) {
          const auto& entry = result_.timeline[index];
          if (message_id.empty() || entry.message_id != message_id) continue;
          if (entry.at < before) {
            r.when = entry.at;
            r.evidence = fmt::format("{} received {} at {}, before {}", e.node, e.inject,
                                     format_scenario_time(entry.at), format_scenario_time(before));
            return r;
          }
          if (!first_from_then) first_from_then = entry.at;
        }
        r.met = final || now_ >= before;
        r.when = before;
        r.evidence = message_id.empty()
                         ? fmt::format("{} did not receive {} before {}: it was never sent", e.node, e.inject,
                                       format_scenario_time(before))
                         : fmt::format("{} did not receive {} before {}{}", e.node, e.inject,
                                       format_scenario_time(before),
                                       first_from_then ? " (it arrived at " + format_scenario_time(*first_from_then) + ")"
                                                       : "");
        return r;
      }
      case ExpectationKind::never_receives_at_or_above: {
        const int ceiling = policy_->classification_rank(e.classification);
        for (const auto index : received_[e.node]) {
          const auto& entry = result_.timeline[index];
          for (const auto& portion : entry.released)
            if (policy_->classification_rank(portion.label.classification) >= ceiling) {
              r.when = entry.at;
              r.evidence = fmt::format("{} received a {} portion of {} at {}", e.node, label_text(portion.label),
                                       entry.inject.empty() ? entry.message_id.substr(0, 8) : entry.inject,
                                       format_scenario_time(entry.at));
              return r;
            }
        }
        r.met = final;
        r.evidence = fmt::format("{} received nothing at or above {}", e.node, e.classification);
        return r;
      }
      case ExpectationKind::originator_receipt: {
        auto it = receipt_times_.find(message_id);
        if (it != receipt_times_.end() && (!e.by || it->second <= *e.by)) {
          r.met = true;
          r.when = it->second;
          r.evidence = fmt::format("the originator of {} had its receipt at {}", e.inject, format_scenario_time(it->second));
        } else {
          r.evidence = fmt::format("no receipt for {}{}", e.inject, e.by ? " by " + format_scenario_time(*e.by) : "");
        }
        return r;
      }
      case ExpectationKind::approved_within: {
        auto it = approval_times_.find(message_id);
        const Offset deadline = inject_times_[e.inject] + e.within.value_or(Offset{0});
        if (it != approval_times_.end() && it->second <= deadline) {
          r.met = true;
          r.when = it->second;
          r.evidence = fmt::format("{} was approved at {}", e.inject, format_scenario_time(it->second));
        } else {
          r.evidence = fmt::format("{} was not approved by {}", e.inject, format_scenario_time(deadline));
        }
        return r;
      }
    }
    return r;
  }

  // Why there is nothing to judge: at the end, the inject was never sent; at a
  // deadline, it had not been sent yet (finish() adds when it was, if later).
  std::string not_sent(const std::string& inject, bool final) const {
    return final ? fmt::format("inject {} was never sent", inject)
                 : fmt::format("inject {} had not been sent by {}", inject, format_scenario_time(now_));
  }

  void check_deadline(const Expectation& e) {
    auto r = evaluate(e, false);
    if (r.met) return;
    checked_at_deadline_.insert(e.id);
    if (inject_messages_.contains(e.inject)) deadline_sent_.insert(e.id);
    deadline_results_[e.id] = r;
    deadline_results_[e.id].when = now_;
    for (const auto& c : scenario_.contingencies) {
      if (c.when_unmet != e.id) continue;
      progress(fmt::format("expectation {} unmet: contingency {} fires", e.id, c.id));
      result_.contingencies_fired.push_back(c.id);
      inject_times_[c.inject.id] = now_;
      fire(c.inject, TimelineEntry::Kind::contingency);
    }
  }

  void finish() {
    stopping_ = true;
    for (const auto& e : scenario_.expectations) {
      // An expectation with a deadline is judged at the deadline; later events do not rescue it.
      if (auto it = deadline_results_.find(e.id); it != deadline_results_.end()) {
        auto r = it->second;
        // Judged before its inject was sent: say when it was, if it was.
        if (!e.inject.empty() && !deadline_sent_.contains(e.id) && inject_messages_.contains(e.inject)) {
          if (auto sent = sent_at_.find(e.inject); sent != sent_at_.end())
            r.evidence += fmt::format("; it was sent at {}, after the deadline", format_scenario_time(sent->second));
        }
        result_.expectations.push_back(std::move(r));
        continue;
      }
      auto r = evaluate(e, true);
      if (!r.when) r.when = now_;
      result_.expectations.push_back(std::move(r));
    }
    std::stable_sort(result_.timeline.begin(), result_.timeline.end(),
                     [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; });
    note_markings();
    std::size_t met = 0;
    for (const auto& e : result_.expectations) met += e.met;
    progress(fmt::format("done: {} inject(s), {} delivery(ies), {}/{} expectation(s) met", injects_fired_,
                         result_.frames_delivered, met, result_.expectations.size()));
  }

  // How the policy's scheme shows each label the run saw, so that reports
  // (made from the result alone) show markings as the dashboard does.
  void note_markings() {
    std::map<std::string, Label> labels;
    for (const auto& entry : result_.timeline) {
      for (const auto& p : entry.released) labels.emplace(to_string(p.label), p.label);
      for (const auto& w : entry.withheld) labels.emplace(to_string(w.label), w.label);
    }
    for (const auto& [text, label] : labels) {
      MarkingStyle style;
      style.label = text;
      style.display = policy_->display_marking(label);
      for (const auto& c : policy_->source().scheme.classifications)
        if (c.name == label.classification) {
          style.colour = c.colour;
          style.text_colour = c.text_colour;
        }
      result_.markings.push_back(std::move(style));
    }
  }

  struct Incoming {
    std::string node;
    node::NodeEvent event;
  };

  const Scenario& scenario_;
  const RunOptions& options_;
  std::shared_ptr<const policy::CompiledPolicy> policy_;
  std::filesystem::path policy_file_;
  std::vector<std::string> participants_;
  std::shared_ptr<SimulatedClock> clock_;
  boost::asio::io_context io_;
  std::unique_ptr<server::Gateway> gateway_;
  std::thread io_thread_;
  std::map<std::string, std::unique_ptr<node::NodeClient>> clients_;

  std::mutex inbox_mutex_;  // guards inbox_
  std::condition_variable inbox_changed_;
  std::deque<Incoming> inbox_;
  std::vector<Incoming> arrived_;             // taken from the inbox, not yet handled
  std::map<std::string, std::size_t> rank_;   // node -> its place among the participants
  std::map<std::string, int> sent_count_;     // inject/response id -> messages it has sent
  std::map<std::string, std::string> hold_names_;  // hold id -> what was held (inject id or title)

  std::map<std::pair<Offset, long>, Item> agenda_;
  long sequence_ = 0;
  Offset now_{0};
  bool stopping_ = false;
  bool finished_ = false;  // every item has run (or the run was stopped)
  bool published_paused_ = false;
  std::chrono::steady_clock::time_point last_published_{};
  int injects_fired_ = 0;

  RunResult result_;
  std::map<std::string, std::string> sources_;          // message id -> inject/response id
  std::map<std::string, std::string> inject_messages_;  // inject/response id -> message id
  std::map<std::string, Offset> inject_times_;
  std::map<std::string, Offset> receipt_times_;         // message id -> first Receipt
  std::map<std::string, Offset> approval_times_;        // message id -> first approval
  std::map<std::string, std::vector<std::size_t>> received_;  // node -> timeline indexes of deliveries
  std::map<std::string, std::size_t> knowledge_index_;
  std::set<std::string> responded_;
  std::set<std::string> pending_submits_;
  int pending_controls_ = 0;
  std::set<std::string> checked_at_deadline_;
  std::set<std::string> deadline_sent_;        // expectations whose inject had been sent by their deadline
  std::map<std::string, Offset> sent_at_;      // inject/response id -> when it first sent a message
  std::map<std::string, ExpectationResult> deadline_results_;
};

}  // namespace

RunResult run_exercise(const Scenario& scenario, const RunOptions& options) { return Runner(scenario, options).run(); }

}  // namespace icegate::exercise
