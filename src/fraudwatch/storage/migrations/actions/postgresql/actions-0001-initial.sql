-- The actions domain's tables (outbox, alerts, subscriptions, suppressions, recent events)
-- and the incidents of the cases domain: the same as on SQLite, in the log's database.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt DOUBLE PRECISION NOT NULL,
    locked_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at DOUBLE PRECISION,
    incident TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt);
CREATE INDEX outbox_incident ON outbox(incident, status);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    card TEXT,
    account TEXT,
    outcome TEXT NOT NULL,
    rules TEXT NOT NULL,
    summary TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    answered_at DOUBLE PRECISION,
    answer TEXT
);

CREATE TABLE subscriptions (
    subject TEXT PRIMARY KEY,
    email TEXT,
    usage_alerts INTEGER NOT NULL DEFAULT 0,
    updated DOUBLE PRECISION NOT NULL
);

CREATE TABLE suppressions (
    card TEXT NOT NULL,
    rule TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL,
    event_id TEXT,
    created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (card, rule)
);

CREATE TABLE recent_events (
    id TEXT PRIMARY KEY,
    ts DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,
    card TEXT,
    account TEXT,
    data TEXT NOT NULL
);
CREATE INDEX recent_by_card ON recent_events(card, ts);
CREATE INDEX recent_by_account ON recent_events(account, ts);

CREATE TABLE synced (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at DOUBLE PRECISION NOT NULL
);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    card TEXT,
    account TEXT,
    trigger_event TEXT NOT NULL,
    events TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX incidents_trigger ON incidents(trigger_event);
CREATE TABLE incident_history (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- SQLite's implicit order of insertion
    incident TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT
);
