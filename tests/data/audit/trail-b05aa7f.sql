-- An audit trail written before the move to Boost.JSON: by the audit library of
-- icegate b05aa7f (tests/data/audit/old-trail-writer.cpp, linked against that
-- commit's libicegate_audit.a), dumped with `sqlite3 icegate.db .dump`.
-- tests/gateway/audit/old_trail_test.cpp loads it and checks that it still
-- verifies, record by record, with the same head hash. Do not regenerate it
-- with a newer icegate: its point is that the bytes were written by the old one.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE audit(
      seq INTEGER PRIMARY KEY,
      time_unix_ms INTEGER NOT NULL,
      kind TEXT NOT NULL,
      node TEXT,
      recipient TEXT,
      message_id TEXT,
      decision TEXT,
      record TEXT NOT NULL,         -- canonical JSON, the hashed content
      previous_hash TEXT NOT NULL,
      hash TEXT NOT NULL,
      message_ref INTEGER);
INSERT INTO audit VALUES(1,1795240800000,'connection','ctu-analyst',NULL,NULL,NULL,'{"time_unix_ms":1795240800000,"kind":"connection","node":"ctu-analyst","recipient":"","message_id":"","decision":"","rules":[],"policy_version":"","detail":{"peer":"127.0.0.1:40112","certificate":"CN=ctu-analyst"}}','0000000000000000000000000000000000000000000000000000000000000000','2cc4ea27936cb6dbb5d63e5816db09388fa5cf2a2d5e4de7f17389f41ea91f3e',NULL);
INSERT INTO audit VALUES(2,1795240801500,'submit','ctu-analyst',NULL,'3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90',NULL,'{"time_unix_ms":1795240801500,"kind":"submit","node":"ctu-analyst","recipient":"","message_id":"3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90","decision":"","rules":[],"policy_version":"sha256:5e8a0c...need-to-share","detail":{"category":"ct-problem-profile","purpose":"prevent","title":"Caf\u00e9 \"Sparkhill\" meeting","label":"OFFICIAL-SENSITIVE","portions":2,"recipients":["ctio-east","council-chief-exec"],"unresolved":[],"derived_from":"","portion_labels":[{"portion":"1","label":"OFFICIAL-SENSITIVE"},{"portion":"2","label":"SECRET [UK EYES ONLY]"}]}}','2cc4ea27936cb6dbb5d63e5816db09388fa5cf2a2d5e4de7f17389f41ea91f3e','31a278b15567c66a99fe96c04aa7596998a542040a39b213822abb79fe921cea',1);
INSERT INTO audit VALUES(3,1795240801502,'decision','ctu-analyst','ctio-east','3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90','RELEASE','{"time_unix_ms":1795240801502,"kind":"decision","node":"ctu-analyst","recipient":"ctio-east","message_id":"3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90","decision":"RELEASE","rules":["ct-partners-official-sensitive","secret-to-ctio"],"policy_version":"sha256:5e8a0c...need-to-share","detail":{"category":"ct-problem-profile","purpose":"prevent","released":[{"portion":"1","label":"OFFICIAL-SENSITIVE"},{"portion":"2","label":"SECRET [UK EYES ONLY]"}],"released_label":"SECRET [UK EYES ONLY]","withheld":[],"reason":"","hold_id":"","held_for":"","occasional":false,"state":"delivered"}}','31a278b15567c66a99fe96c04aa7596998a542040a39b213822abb79fe921cea','230096474b24f3e2656fa0f4d0422b29b71c2fdf21c6c3ca75ea77dd773283a3',1);
INSERT INTO audit VALUES(4,1795240801503,'decision','ctu-analyst','council-chief-exec','3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90','RELEASE_REDACTED',replace('{"time_unix_ms":1795240801503,"kind":"decision","node":"ctu-analyst","recipient":"council-chief-exec","message_id":"3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90","decision":"RELEASE_REDACTED","rules":["council-official-sensitive"],"policy_version":"sha256:5e8a0c...need-to-share","detail":{\n  "released": [{"portion": "1", "label": "OFFICIAL-SENSITIVE"}],\n  "withheld": [{"portion": "2", "reason": "vetting: SC needed, \u00e9t\u00e9 \ud83d\udd12"}],\n  "state": "delivered"\n}}','\n',char(10)),'230096474b24f3e2656fa0f4d0422b29b71c2fdf21c6c3ca75ea77dd773283a3','8bac4217d64f5138ac72eb3319d8506a1b3fc0efb7a55e0c164b041a1e34c1a6',1);
INSERT INTO audit VALUES(5,1795240860000,'hold','ctu-analyst','ctio-east','3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90','HOLD','{"time_unix_ms":1795240860000,"kind":"hold","node":"ctu-analyst","recipient":"ctio-east","message_id":"3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90","decision":"HOLD","rules":["embargo"],"policy_version":"","detail":{"hold_id":"h-1","by":"duty officer","result":"approved","note":"tab\tnew\nline \\ slash / caf\u00e9"}}','8bac4217d64f5138ac72eb3319d8506a1b3fc0efb7a55e0c164b041a1e34c1a6','f9f2f76853c3b7fbef3bd2f7083bf281a5f84d93a9986d5396a4fd60479e38dc',1);
INSERT INTO audit VALUES(6,1795240861000,'disconnection','café-日本',NULL,NULL,NULL,'{"time_unix_ms":1795240861000,"kind":"disconnection","node":"café-日本","recipient":"","message_id":"","decision":"","rules":[],"policy_version":"","detail":"peer said: \"bye\"\r\nand left \u0001 \\ end"}','f9f2f76853c3b7fbef3bd2f7083bf281a5f84d93a9986d5396a4fd60479e38dc','7b9ea14e20abc8b1d1e5a21680ac2462c33a31b34354e0a8b775fdef833ffe1a',NULL);
INSERT INTO audit VALUES(7,-1,'undeliverable','ctu-analyst','gone','m-old',NULL,'{"time_unix_ms":-1,"kind":"undeliverable","node":"ctu-analyst","recipient":"gone","message_id":"m-old","decision":"","rules":[],"policy_version":"","detail":"[1,2]"}','7b9ea14e20abc8b1d1e5a21680ac2462c33a31b34354e0a8b775fdef833ffe1a','9437d7d7c225d99c27965f45f1d257d0e08fccecfa3d05834b239fb5ff185f39',2);
INSERT INTO audit VALUES(8,1795240920000,'policy_loaded',NULL,NULL,NULL,NULL,'{"time_unix_ms":1795240920000,"kind":"policy_loaded","node":"","recipient":"","message_id":"","decision":"","rules":[],"policy_version":"v2","detail":{"numbers":[0,-1,9223372036854775807,-2.5e3,1.0E+2],"nested":{"a":{"b":[true,false,null]}}}}','9437d7d7c225d99c27965f45f1d257d0e08fccecfa3d05834b239fb5ff185f39','e05abe69d76424fafa922f42fb57171feb39eba99f12e91d0610357975989684',NULL);
CREATE TABLE audit_messages(ref INTEGER PRIMARY KEY, message_id TEXT NOT NULL);
INSERT INTO audit_messages VALUES(1,'3f1c9a52-7d0e-4b8e-9a11-5c2d7e6f8a90');
INSERT INTO audit_messages VALUES(2,'m-old');
CREATE INDEX audit_message_ref ON audit(message_ref);
CREATE INDEX audit_node ON audit(node);
CREATE INDEX audit_recipient ON audit(recipient);
CREATE INDEX audit_time ON audit(time_unix_ms);
COMMIT;
