-- conf/schema/001_initial.sql — schema version 1 (DESIGN.md §5): every table ingest, scorer, selector and
-- ntpmonctl need. Applied by `ntpmonctl db migrate`; each statement is idempotent so a migration interrupted
-- half-way can simply be run again. Times are UTC (every connection sets time_zone '+00:00').

CREATE TABLE IF NOT EXISTS accounts (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  flags JSON NOT NULL DEFAULT '{}',              -- {"monitors_per_server_limit": N}
  created_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  modified_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY accounts_name (name),
  CHECK (JSON_VALID(flags))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS monitors (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type ENUM('monitor','score') NOT NULL DEFAULT 'monitor',
  name VARCHAR(63) NOT NULL,                      -- MQTT username / token sub / topic level
  account_id INT UNSIGNED NULL,
  status ENUM('pending','testing','active','paused','deleted') NOT NULL DEFAULT 'pending',
  ip4 VARCHAR(15) NULL,                           -- registered addresses: the selector's network rules use them
  ip6 VARCHAR(39) NULL,
  config JSON NOT NULL DEFAULT '{}',
  last_seen DATETIME(6) NULL,
  last_submit DATETIME(6) NULL,
  created_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  modified_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  deleted_on DATETIME NULL,
  UNIQUE KEY monitors_name (name),
  KEY monitors_account (account_id),
  CONSTRAINT monitors_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id),
  CHECK (JSON_VALID(config))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS servers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ip VARCHAR(39) NOT NULL,                        -- canonical text form
  ip_version ENUM('v4','v6') NOT NULL,
  account_id INT UNSIGNED NULL,
  score_raw DOUBLE NOT NULL DEFAULT 0,            -- the overall ("recent median") score
  score_ts DATETIME(6) NULL,
  in_pool TINYINT(1) NOT NULL DEFAULT 0,
  created_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  modified_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  deletion_on DATE NULL,                          -- set: the server is (to be) deleted from that day on
  UNIQUE KEY servers_ip (ip),
  KEY servers_account (account_id),
  CONSTRAINT servers_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS server_scores (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  monitor_id INT UNSIGNED NOT NULL,
  server_id INT UNSIGNED NOT NULL,
  status ENUM('candidate','testing','active','paused') NOT NULL DEFAULT 'candidate',
  score_raw DOUBLE NOT NULL DEFAULT 0,            -- the pair's "1-score"
  score_ts DATETIME(6) NULL,
  stratum TINYINT UNSIGNED NULL,
  constraint_violation_type VARCHAR(32) NULL,     -- same_network, same_account, diversity, account_limit
  constraint_violation_since DATETIME NULL,
  last_constraint_check DATETIME NULL,
  pause_reason VARCHAR(64) NULL,
  created_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  modified_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY server_scores_pair (monitor_id, server_id),
  KEY server_scores_server (server_id, status),
  CONSTRAINT server_scores_monitor_fk FOREIGN KEY (monitor_id) REFERENCES monitors (id),
  CONSTRAINT server_scores_server_fk FOREIGN KEY (server_id) REFERENCES servers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS log_scores (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  monitor_id INT UNSIGNED NULL,                   -- NULL: the overall score
  monitor_key INT UNSIGNED AS (IFNULL(monitor_id, 0)) PERSISTENT,
  server_id INT UNSIGNED NOT NULL,
  ts DATETIME(6) NOT NULL,
  score DOUBLE NOT NULL,
  step DOUBLE NOT NULL,
  `offset` DOUBLE NULL,                           -- seconds
  rtt INT NULL,                                   -- microseconds
  result_id CHAR(26) CHARACTER SET ascii NULL,    -- the result's ULID
  attributes JSON NULL,                           -- {"leap":…, "error":…, "stratum":…, "status":…}
  UNIQUE KEY log_scores_result (result_id, monitor_key),
  KEY log_scores_server_ts (server_id, ts),
  KEY log_scores_monitor_server_ts (monitor_id, server_id, ts),
  KEY log_scores_ts (ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS servers_monitor_review (
  server_id INT UNSIGNED NOT NULL PRIMARY KEY,
  last_review DATETIME NULL,
  next_review DATETIME NULL,
  last_change DATETIME NULL,
  config JSON NULL,
  KEY servers_monitor_review_next (next_review),
  CONSTRAINT servers_monitor_review_server_fk FOREIGN KEY (server_id) REFERENCES servers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS system_settings (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `key` VARCHAR(255) NOT NULL,
  value JSON NOT NULL,
  created_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  modified_on DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY system_settings_key (`key`),
  CHECK (JSON_VALID(value))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS results (
  id CHAR(26) CHARACTER SET ascii NOT NULL PRIMARY KEY,  -- the result's ULID
  monitor_id INT UNSIGNED NOT NULL,
  server_id INT UNSIGNED NOT NULL,
  ts DATETIME(6) NOT NULL,
  ip VARCHAR(39) NOT NULL,
  status ENUM('candidate','testing','active','paused') NULL,
  `offset` DOUBLE NULL,
  rtt DOUBLE NULL,
  stratum TINYINT UNSIGNED NOT NULL,
  leap TINYINT UNSIGNED NOT NULL,
  refid VARCHAR(15) NOT NULL DEFAULT '',
  error VARCHAR(127) NOT NULL DEFAULT '',
  samples JSON NULL,
  agent VARCHAR(63) NOT NULL DEFAULT '',
  v TINYINT UNSIGNED NOT NULL DEFAULT 1,
  received_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY results_server_ts (server_id, ts),
  KEY results_monitor_ts (monitor_id, ts),
  KEY results_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS results_rejected (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ts DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  topic VARCHAR(255) NOT NULL,
  payload BLOB NOT NULL,                          -- up to 64 KiB; longer payloads are truncated
  payload_size INT UNSIGNED NOT NULL,             -- the original size
  reason VARCHAR(255) NOT NULL,
  result_id CHAR(26) CHARACTER SET ascii NULL,    -- when the payload carried a readable ULID
  monitor VARCHAR(63) NULL,
  KEY results_rejected_ts (ts),
  KEY results_rejected_result (result_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
