-- The event log with decisions, follower positions, versioned definitions, lists, audit
-- and API keys: the schema of release 0.1, which created it without migrations
-- ("IF NOT EXISTS": a database of that release is adopted as it is).
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    ts REAL NOT NULL,
    outcome TEXT,
    card TEXT, account TEXT, device TEXT, ip TEXT,
    digest BLOB NOT NULL,
    event BLOB NOT NULL,
    decision BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_card ON events(card, seq) WHERE card IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_account ON events(account, seq) WHERE account IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_device ON events(device, seq) WHERE device IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_ip ON events(ip, seq) WHERE ip IS NOT NULL;
CREATE TABLE IF NOT EXISTS dictionaries(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, created_at REAL NOT NULL,
    data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cursors(name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS definitions(
    kind TEXT NOT NULL, version TEXT NOT NULL, text TEXT NOT NULL,
    created_at REAL NOT NULL, created_by TEXT NOT NULL, PRIMARY KEY(kind, version));
CREATE TABLE IF NOT EXISTS activations(
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, version TEXT NOT NULL, at REAL NOT NULL, by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lists(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS list_values(
    name TEXT NOT NULL REFERENCES lists(name), value TEXT NOT NULL, PRIMARY KEY(name, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit(
    id INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, before TEXT, after TEXT);
CREATE TABLE IF NOT EXISTS api_keys(
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, hash BLOB NOT NULL UNIQUE,
    created_at REAL NOT NULL, revoked_at REAL);
