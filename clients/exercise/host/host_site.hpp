// The exercise host's web site (docs/HOSTING.md): one http::Site serving the
// player, facilitator and evaluator consoles of one or two tables, each under
// the secret that grants it (/s/{secret}/, /f/{secret}/, /e/{secret}/).
//
// A page acts only through its Table: a seat's send, review or trigger is
// queued there and carried out by the runner through the seat's own node
// client, so the gateway decides; the facilitator's controls and the end of
// the exercise go to the host through HostActions. Nothing here reads the
// gateway, and a seat's view holds only what the table holds for that seat.
//
// Threading: like every Site, called on the server's io thread; the Tables
// are thread-safe, and reports_written() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "clients/exercise/host/keys.hpp"
#include "clients/exercise/scenario.hpp"
#include "clients/exercise/table.hpp"
#include "gateway/http/site.hpp"

namespace icegate::http {
class Dashboard;
}

namespace icegate::exercise::host {

struct HostTable {
  Table* table = nullptr;
  std::string policy_file;                 // as the facilitator should read it ("need-to-share.yaml")
  http::Dashboard* dashboard = nullptr;    // mounted at /f/{secret}/t/{k}/ when set
};

// What the facilitator's buttons do beyond the tables. Called on the io
// thread: they must not block (the runs' gateways share that thread).
struct HostActions {
  // `table`: its index, or none for every table; `action`: pause, resume, step, speed.
  std::function<void(std::optional<std::size_t> table, std::string_view action, double speed)> control;
  // Begin the end: stop the runs and write the reports (the host calls
  // HostSite::reports_written when they are on disk). Returns the reports'
  // file names, relative to HostOptions::reports_dir.
  std::function<std::vector<std::string>()> finish;
};

struct HostOptions {
  std::vector<std::string> evaluators;  // their names; each gets a console
  std::string base_url = "http://127.0.0.1:8080/";  // links are made from it
  std::string ca_pem;                   // the exercise CA, offered to players' devices ("" when plain HTTP)
  std::string ca_fingerprint;           // its SHA-256, "AB:CD:..."
  std::filesystem::path reports_dir;
  std::function<std::string(std::string_view)> qr_svg;  // a link as an SVG QR code; none: ""
  double requests_per_second = 20;      // per secret, sustained...
  double burst = 20;                    // ...and at once
  std::size_t max_body_bytes = 64 * 1024;
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
};

class HostSite final : public http::Site {
 public:
  HostSite(const Scenario& scenario, std::vector<HostTable> tables, HostActions actions, HostOptions options);
  ~HostSite() override;
  HostSite(const HostSite&) = delete;
  HostSite& operator=(const HostSite&) = delete;

  http::Response handle(const http::Request& request) override;
  std::variant<http::Feed*, http::Response> open_feed(const http::Request& request) override;

  // Links (base_url + the secret's prefix); "" for a node nobody plays.
  std::string facilitator_link() const;
  std::string seat_link(std::size_t table, const std::string& node) const;
  std::string evaluator_link(std::size_t evaluator) const;
  const std::vector<std::string>& evaluators() const { return options_.evaluators; }
  std::size_t table_count() const { return tables_.size(); }
  const HostTable& table(std::size_t index) const { return tables_.at(index); }

  // Where the server is reached ("https://10.0.0.5:8443/"); before the server runs.
  void set_base_url(std::string base_url);
  // Table k's gateway started (or stopped: null): mount its dashboard. On the io thread.
  void set_dashboard(std::size_t table, http::Dashboard* dashboard);

  // The reports are on disk (or could not be written: `error`). Any thread.
  void reports_written(std::string error = {});
  // Whether the facilitator asked to finish (or the host did: finish_requested()).
  bool finishing() const;
  // The terminal's q or Ctrl-C: as api/finish. Any thread; returns the report names.
  std::vector<std::string> request_finish();

 private:
  struct Route;
  struct Page;
  class DashboardFeed;

  http::Response route(const http::Request& request);
  http::Response seat_api(const Route& route, const Holder& holder);
  http::Response facilitator_api(const Route& route);
  http::Response evaluator_api(const Route& route, const Holder& holder);
  http::Response console_file(const Route& route, std::string_view page);
  http::Response mounted_dashboard(const Route& route, std::string_view rest);

  http::Response seat_view(const Route& route, const Holder& holder);
  http::Response seat_send(const Route& route, const Holder& holder);
  http::Response seat_review(const Route& route, const Holder& holder);
  http::Response seat_trigger(const Route& route, const Holder& holder);
  http::Response facilitator_state(const Route& route);
  http::Response facilitator_control(const Route& route);
  http::Response facilitator_inject(const Route& route);
  http::Response facilitator_media(const Route& route);
  http::Response facilitator_plan(const Route& route);
  http::Response facilitator_finish();
  http::Response facilitator_report(std::string_view name);
  http::Response evaluator_state(const Route& route, const Holder& holder);
  http::Response evaluator_record(const Route& route, const Holder& holder, bool rating);

  // Remembers a page of a seat (by the `page` query parameter) as open now.
  void seen(const Holder& holder, const http::Request& request);
  int pages_open(std::size_t table, const std::string& node) const;
  std::uint64_t site_version() const { return site_version_; }
  bool closed(std::size_t table) const;  // the exercise (or this table's run) has finished
  std::string actions_json(std::size_t table) const;
  std::string seat_prefix(std::size_t table, const std::string& node) const;

  const Scenario& scenario_;
  std::vector<HostTable> tables_;
  HostActions actions_;
  HostOptions options_;
  Keys keys_;
  RateLimiter limiter_;
  std::string facilitator_secret_;
  std::vector<std::unique_ptr<DashboardFeed>> feeds_;          // by table
  std::vector<std::unique_ptr<DashboardFeed>> retired_feeds_;  // of gateways that stopped

  // Only on the io thread:
  struct Seen {
    std::map<std::string, std::chrono::steady_clock::time_point> pages;  // page id -> last request
    std::optional<Offset> last_seen;
    int last_count = 0;
  };
  std::map<std::pair<std::size_t, std::string>, Seen> seen_;
  std::uint64_t site_version_ = 0;  // bumped when something only the site knows changes

  // Shared with the host's other threads:
  mutable std::mutex finish_mutex_;
  bool finishing_ = false;
  bool reports_ready_ = false;
  std::string reports_error_;
  std::vector<std::string> reports_;
};

}  // namespace icegate::exercise::host
