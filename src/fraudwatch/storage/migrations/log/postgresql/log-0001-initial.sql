-- The event log with decisions, follower positions, versioned definitions, lists, audit,
-- API keys and snapshots (on PostgreSQL the snapshots live in the same database).
CREATE TABLE events(
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    outcome TEXT,
    card TEXT, account TEXT, device TEXT, ip TEXT,
    digest BYTEA NOT NULL,
    event BYTEA NOT NULL,
    decision BYTEA NOT NULL
);
CREATE INDEX events_card ON events(card, seq) WHERE card IS NOT NULL;
CREATE INDEX events_account ON events(account, seq) WHERE account IS NOT NULL;
CREATE INDEX events_device ON events(device, seq) WHERE device IS NOT NULL;
CREATE INDEX events_ip ON events(ip, seq) WHERE ip IS NOT NULL;
CREATE TABLE dictionaries(id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    data BYTEA NOT NULL);
CREATE TABLE cursors(name TEXT PRIMARY KEY, seq BIGINT NOT NULL);
CREATE TABLE definitions(
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    kind TEXT NOT NULL, version TEXT NOT NULL, text TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, created_by TEXT NOT NULL, PRIMARY KEY(kind, version));
CREATE TABLE activations(
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind TEXT NOT NULL, version TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL, by TEXT NOT NULL);
CREATE TABLE lists(name TEXT PRIMARY KEY);
CREATE TABLE list_values(name TEXT NOT NULL REFERENCES lists(name), value TEXT NOT NULL, PRIMARY KEY(name, value));
CREATE TABLE audit(
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, before TEXT, after TEXT);
CREATE TABLE api_keys(
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, hash BYTEA NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION);
CREATE TABLE snapshots(seq BIGINT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, data BYTEA NOT NULL);
