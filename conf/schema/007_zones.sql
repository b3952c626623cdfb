-- conf/schema/007_zones.sql — zones and the mass-outage guard (DESIGN.md §5, §9). servers.zone: an ISO 3166-1
-- alpha-2 code in lower case or a pool continent zone (common/zone.c; ntpmonctl refuses others); NULL = none,
-- never held. held_since/held_reason: the scorer holds the server in the pool. pool_left_at: when it last left the
-- pool (the guard counts recent departures and today's removals from it); hold_recovered_at: when a hold last ended
-- because the score recovered. One ALTER (atomic in MariaDB and MySQL 8; MySQL has no ADD COLUMN IF NOT EXISTS).
ALTER TABLE servers
  ADD COLUMN zone VARCHAR(16) CHARACTER SET ascii NULL AFTER deletion_on,
  ADD COLUMN held_since DATETIME(6) NULL AFTER zone,
  ADD COLUMN held_reason VARCHAR(255) NULL AFTER held_since,
  ADD COLUMN pool_left_at DATETIME(6) NULL AFTER held_reason,
  ADD COLUMN hold_recovered_at DATETIME(6) NULL AFTER pool_left_at,
  ADD KEY servers_zone (zone, in_pool);

-- Per zone: the alert the scorer has retained on E/status/zones/<zone> while it stands (so a restarted scorer, or
-- another shard, clears it when the holds end), and `ntpmonctl zone release` (the scorer ends the zone's holds
-- and holds none there for one answer window after released_at).
CREATE TABLE IF NOT EXISTS guard_zones (
  zone VARCHAR(16) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  alert JSON NULL,                                -- NULL: no alert standing
  alert_since DATETIME(6) NULL,
  released_at DATETIME(6) NULL,
  updated_at DATETIME(6) NOT NULL,
  CHECK (alert IS NULL OR JSON_VALID(alert))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
