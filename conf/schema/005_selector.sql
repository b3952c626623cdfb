-- conf/schema/005_selector.sql — the selector's own bookkeeping: the last `assign` message (DESIGN.md §2) it
-- published to each monitor. `seq` must grow, also across selector restarts and wall-clock steps; the selector
-- continues above the seq stored here. Operators can also see what each monitor was last told, and when.
-- No foreign key: the row must never stand in the way of removing a monitor.
CREATE TABLE IF NOT EXISTS selector_assign (
  monitor_id INT UNSIGNED NOT NULL PRIMARY KEY,
  seq BIGINT UNSIGNED NOT NULL,                   -- the last published seq (ms)
  servers INT UNSIGNED NOT NULL,                  -- entries in that work list
  published_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
