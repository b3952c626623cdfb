-- conf/schema/006_traceroutes.sql — traces (DESIGN.md §2, §5): one row per trace message an agent published on
-- ntpmon/<env>/traces/<server_id>/<monitor>, keyed by its ULID (ingest writes with INSERT IGNORE, so a re-sent
-- trace is stored once). `hops` is the message's hops array as JSON text:
-- [{"ttl":1,"addr":"198.51.100.1"|null,"rtt":[seconds,…]},…]. Refused traces go to results_rejected like results.
-- No foreign keys (as `results`): rows are checked by ingest and must never block removing a monitor or server.
CREATE TABLE IF NOT EXISTS traceroutes (
  id CHAR(26) CHARACTER SET ascii NOT NULL PRIMARY KEY,  -- the trace's ULID
  monitor_id INT UNSIGNED NOT NULL,
  server_id INT UNSIGNED NOT NULL,
  ts DATETIME(6) NOT NULL,                              -- when the first probe went out
  ip VARCHAR(39) NOT NULL,
  port SMALLINT UNSIGNED NOT NULL DEFAULT 123,
  `trigger` ENUM('status-change','request','pool-change') NOT NULL,
  reached TINYINT(1) NOT NULL,
  hops JSON NOT NULL,
  agent VARCHAR(63) NOT NULL DEFAULT '',
  received_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY traceroutes_server_ts (server_id, ts),
  KEY traceroutes_monitor_ts (monitor_id, ts),
  CHECK (JSON_VALID(hops))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
