// Wrote tests/data/audit/trail-b05aa7f.sql with icegate b05aa7f's audit library
// (before Boost.JSON). Not built by CMake: it is kept to say how the fixture was
// made. Built by hand at that commit as
//   g++ -std=c++20 -I. old-trail-writer.cpp build/dev/gateway/libicegate_audit.a \
//       build/dev/gateway/libicegate_model.a -lsqlite3 -lfmt -lcrypto
//   ./a.out DIR && sqlite3 DIR/icegate.db .dump
#include <sqlite3.h>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>
#include "gateway/audit/audit.hpp"
using icegate::audit::AuditRecord;
int main(int argc, char** argv) {
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  sqlite3* db = nullptr;
  sqlite3_open((dir / "icegate.db").c_str(), &db);
  icegate::audit::create_schema(db);
  icegate::audit::AuditChain chain(db);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  const std::int64_t t0 = 1'795'240'800'000;  // 2026-11-21T06:00:00Z
  std::vector<AuditRecord> records;
  auto add = [&](AuditRecord r) { records.push_back(std::move(r)); };
  AuditRecord c; c.time_unix_ms = t0; c.kind = "connection"; c.node = "ctu-analyst";
  c.detail = R"({"peer":"127.0.0.1:40112","certificate":"CN=ctu-analyst"})"; add(c);
  AuditRecord s; s.time_unix_ms = t0 + 1500; s.kind = "submit"; s.node = "ctu-analyst"; s.message_id = "3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90";
  s.policy_version = "sha256:5e8a0c...need-to-share";
  s.detail = R"({"category":"ct-problem-profile","purpose":"prevent","title":"Caf\u00e9 \"Sparkhill\" meeting","label":"OFFICIAL-SENSITIVE","portions":2,"recipients":["ctio-east","council-chief-exec"],"unresolved":[],"derived_from":"","portion_labels":[{"portion":"1","label":"OFFICIAL-SENSITIVE"},{"portion":"2","label":"SECRET [UK EYES ONLY]"}]})";
  add(s);
  AuditRecord d = s; d.time_unix_ms = t0 + 1502; d.kind = "decision"; d.recipient = "ctio-east"; d.decision = "RELEASE";
  d.rules = {"ct-partners-official-sensitive", "secret-to-ctio"};
  d.detail = R"({"category":"ct-problem-profile","purpose":"prevent","released":[{"portion":"1","label":"OFFICIAL-SENSITIVE"},{"portion":"2","label":"SECRET [UK EYES ONLY]"}],"released_label":"SECRET [UK EYES ONLY]","withheld":[],"reason":"","hold_id":"","held_for":"","occasional":false,"state":"delivered"})";
  add(d);
  AuditRecord r = d; r.time_unix_ms = t0 + 1503; r.recipient = "council-chief-exec"; r.decision = "RELEASE_REDACTED";
  r.rules = {"council-official-sensitive"};
  r.detail = "{\n  \"released\": [{\"portion\": \"1\", \"label\": \"OFFICIAL-SENSITIVE\"}],\n  \"withheld\": [{\"portion\": \"2\", \"reason\": \"vetting: SC needed, \\u00e9t\\u00e9 \\ud83d\\udd12\"}],\n  \"state\": \"delivered\"\n}";
  add(r);
  AuditRecord h; h.time_unix_ms = t0 + 60'000; h.kind = "hold"; h.node = "ctu-analyst"; h.recipient = "ctio-east";
  h.message_id = s.message_id; h.decision = "HOLD"; h.rules = {"embargo"};
  h.detail = R"({"hold_id":"h-1","by":"duty officer","result":"approved","note":"tab\tnew\nline \\ slash / caf\u00e9"})";
  add(h);
  AuditRecord x; x.time_unix_ms = t0 + 61'000; x.kind = "disconnection"; x.node = "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac";
  x.detail = std::string("peer said: \"bye\"\r\nand left \x01 \\ end");  // not JSON: kept as a string
  add(x);
  AuditRecord e; e.time_unix_ms = -1; e.kind = "undeliverable"; e.node = "ctu-analyst"; e.recipient = "gone";
  e.message_id = "m-old"; e.detail = "[1,2]"; add(e);
  AuditRecord z; z.time_unix_ms = t0 + 120'000; z.kind = "policy_loaded"; z.policy_version = "v2";
  z.detail = R"({"numbers":[0,-1,9223372036854775807,-2.5e3,1.0E+2],"nested":{"a":{"b":[true,false,null]}}})"; add(z);
  for (auto& record : records) chain.append(record);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  std::printf("%s\n", chain.head().c_str());
  sqlite3_close(db);
}
