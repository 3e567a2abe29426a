-- The actions domain's database (fraudwatch-actions.db): outbox, alerts, subscriptions,
-- suppressions, recent events, and the incidents of the cases domain. The schema of
-- release 0.1, which created it without migrations ("IF NOT EXISTS": adopted as it is).
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,                 -- also the idempotency key sent to receivers
    channel TEXT NOT NULL,               -- webhook | email
    destination TEXT NOT NULL,           -- endpoint name or e-mail address
    type TEXT NOT NULL,
    payload TEXT NOT NULL,               -- JSON
    created REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    locked_until REAL NOT NULL DEFAULT 0,    -- lease of the dispatcher sending it
    last_error TEXT,
    delivered_at REAL,
    incident TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_incident ON outbox(incident, status);

CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    card TEXT,
    account TEXT,
    outcome TEXT NOT NULL,
    rules TEXT NOT NULL,                 -- JSON list of rule names that stopped the event
    summary TEXT NOT NULL,               -- JSON: amount, currency, merchant, time
    created REAL NOT NULL,
    expires REAL NOT NULL,
    answered_at REAL,
    answer TEXT
);

CREATE TABLE IF NOT EXISTS subscriptions (
    subject TEXT PRIMARY KEY,            -- card token or account id
    email TEXT,
    usage_alerts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS suppressions (
    card TEXT NOT NULL,
    rule TEXT NOT NULL,
    until REAL NOT NULL,
    event_id TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (card, rule)
);

CREATE TABLE IF NOT EXISTS recent_events (
    id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    card TEXT,
    account TEXT,
    data TEXT NOT NULL                   -- JSON of the event
);
CREATE INDEX IF NOT EXISTS recent_by_card ON recent_events(card, ts);
CREATE INDEX IF NOT EXISTS recent_by_account ON recent_events(account, ts);

CREATE TABLE IF NOT EXISTS synced (      -- one row, written by Database.sync
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    card TEXT,
    account TEXT,
    trigger_event TEXT NOT NULL,
    events TEXT NOT NULL,        -- JSON list of event ids involved
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS incidents_trigger ON incidents(trigger_event);
CREATE TABLE IF NOT EXISTS incident_history (
    incident TEXT NOT NULL,
    at REAL NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT
);
