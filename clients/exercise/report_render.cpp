// The after-action report's pages from their templates (templates/*.mustache,
// embedded at build time): a view model (report_page.hpp, report_view.hpp) in,
// HTML out. The only place the report's templates are read and rendered.
#include <stdexcept>
#include <string>
#include <string_view>

#include <kainjow/mustache.hpp>

#include "clients/exercise/report_page.hpp"
#include "clients/exercise/templates.hpp"
#include "gateway/model/html.hpp"

namespace icegate::exercise::detail {
namespace {

namespace mustache = kainjow::mustache;
using Data = mustache::data;

std::string template_text(std::string_view name) {
  for (const templates::Asset& asset : templates::embedded_assets()) {
    if (asset.name == name) return std::string(asset.body);
  }
  throw std::logic_error("no embedded template clients/exercise/templates/" + std::string(name));
}

// Renders the template `name` with `data`; every template is available to it
// as a partial, by its name up to the first dot and after an underscore.
std::string render(std::string_view name, Data data) {
  for (const templates::Asset& asset : templates::embedded_assets()) {
    // "_head" for head.html.mustache: a name no view model field has, since
    // the library looks partials up among the data's own keys.
    const std::string_view body = asset.body;
    data.set("_" + std::string(asset.name.substr(0, asset.name.find('.'))),
             mustache::partial([body] { return std::string(body); }));
  }
  mustache::mustache page{template_text(name)};
  if (!page.is_valid()) {
    throw std::logic_error("clients/exercise/templates/" + std::string(name) + ": " + page.error_message());
  }
  // The project's one HTML escaper (& < > " ' as html::escape writes them),
  // not the library's own, so that every page escapes alike.
  page.set_custom_escape([](const std::string& text) { return html::escape(text); });
  std::string out = page.render(data);
  if (!page.is_valid()) {
    throw std::logic_error("clients/exercise/templates/" + std::string(name) + ": " + page.error_message());
  }
  return out;
}

Data to_data(const TimeView& time) {
  Data data;
  data.set("text", time.text);
  data.set("clock", time.clock);
  return data;
}

Data to_data(const DecisionView& decision) {
  Data data;
  data.set("css_class", decision.css_class);
  data.set("words", decision.words);
  return data;
}

}  // namespace

View facts_view(const RunPage::Facts& facts) {
  Data data;
  data.set("title", facts.title);
  data.set("scenario", facts.scenario);
  data.set("policy_name", facts.policy_name);
  data.set("has_policy_version", flag(!facts.policy_version.empty()));
  data.set("policy_version", facts.policy_version);
  data.set("has_policy_file", flag(!facts.policy_file.empty()));
  data.set("policy_file", facts.policy_file);
  data.set("t0", facts.t0);
  data.set("start", facts.start);
  data.set("end", facts.end);
  data.set("has_table", flag(!facts.table.empty()));
  data.set("table", facts.table);
  data.set("has_played", flag(!facts.played.empty()));
  data.set("played", facts.played);
  data.set("nodes", number(facts.nodes));
  data.set("met", number(facts.met));
  data.set("total", number(facts.total));
  data.set("delivered", std::to_string(facts.delivered));
  return data;
}

namespace {

Data objectives_data(const std::vector<RunPage::Objective>& objectives) {
  Data items = list();
  for (const RunPage::Objective& objective : objectives) {
    Data served = list();
    bool first = true;
    for (const RunPage::ServedExpectation& expectation : objective.expectations) {
      Data item;
      item.set("first", flag(first));
      item.set("id", expectation.id);
      item.set("met", flag(expectation.met));
      served.push_back(item);
      first = false;
    }
    Data item;
    item.set("id", objective.id);
    item.set("text", objective.text);
    item.set("has_expectations", flag(!objective.expectations.empty()));
    item.set("expectations", served);
    items.push_back(item);
  }
  return items;
}

Data expectations_data(const std::vector<RunPage::Expectation>& expectations) {
  Data items = list();
  for (const RunPage::Expectation& expectation : expectations) {
    Data item;
    item.set("met", flag(expectation.met));
    item.set("id", expectation.id);
    item.set("description", expectation.description);
    item.set("has_objective", flag(!expectation.objective.empty()));
    item.set("objective", expectation.objective);
    item.set("when", expectation.when ? to_data(*expectation.when) : flag(false));
    item.set("evidence", expectation.evidence);
    items.push_back(item);
  }
  return items;
}

Data injects_data(const std::vector<RunPage::Inject>& injects) {
  Data items = list();
  for (const RunPage::Inject& inject : injects) {
    Data item;
    item.set("id", inject.id);
    item.set("when", to_data(inject.when));
    item.set("from", inject.from);
    item.set("synopsis", inject.synopsis);
    item.set("expected_action", inject.expected_action);
    item.set("objective", inject.objective);
    items.push_back(item);
  }
  return items;
}

Data log_data(const std::vector<RunPage::LogEntry>& log) {
  Data items = list();
  for (const RunPage::LogEntry& entry : log) {
    Data item;
    item.set("when", to_data(entry.when));
    item.set("kind", entry.kind);
    item.set("decision", entry.decision ? to_data(*entry.decision) : flag(false));
    item.set("node", entry.node);
    item.set("from", entry.from);
    item.set("inject", entry.inject);
    item.set("title", entry.title);
    item.set("detail", entry.detail);
    items.push_back(item);
  }
  return items;
}

}  // namespace

View banner_view(const RunPage::Banner& banner, const std::string& prefix) {
  Data data;
  data.set("prefix", prefix);
  data.set("pass", flag(banner.pass));
  data.set("met", number(banner.met));
  data.set("total", number(banner.total));
  data.set("unmet", number(banner.total - banner.met));
  return data;
}

std::string render_run_page(const RunPage& page) {
  Data data;
  data.set("version", ICEGATE_VERSION);
  data.set("page_title", "After-action report: " + page.title);
  data.set("title", page.title);
  data.set("banner", banner_view(page.banner, ""));
  data.set("facts", facts_view(page.facts));
  data.set("has_objectives", flag(!page.objectives.empty()));
  data.set("objectives", objectives_data(page.objectives));
  data.set("has_expectations", flag(!page.expectations.empty()));
  data.set("expectations", expectations_data(page.expectations));
  data.set("has_contingencies", flag(!page.contingencies.empty()));
  data.set("contingencies", page.contingencies);
  data.set("has_injects", flag(!page.injects.empty()));
  data.set("injects", injects_data(page.injects));
  data.set("log_count", number(page.log.size()));
  data.set("log", log_data(page.log));
  data.set("people", page.people);
  data.set("who_knew", page.who_knew);
  data.set("sequence", page.sequence);
  data.set("decisions", page.decisions);
  return render("run.html.mustache", std::move(data));
}

std::string render_comparison_page(View view) {
  view.set("version", ICEGATE_VERSION);
  view.set("page_title", "Policy comparison: " + view.get("title")->string_value());
  return render("compare.html.mustache", std::move(view));
}

}  // namespace icegate::exercise::detail
