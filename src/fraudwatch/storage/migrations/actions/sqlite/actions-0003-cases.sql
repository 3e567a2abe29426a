-- The cases domain (fraudwatch.cases.store): episodes as cases, their events, entities
-- and rules, the case log, disputes and their stages (cases.store.SCHEMA reads this file).
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,      -- what the cardholder quotes
    status TEXT NOT NULL,
    card TEXT,
    account TEXT,
    started REAL NOT NULL,               -- event time of the episode's first event
    last_seen REAL NOT NULL,             -- event time of its latest
    worst_outcome TEXT NOT NULL DEFAULT 'allow',
    max_score REAL,
    escalation INTEGER NOT NULL DEFAULT 0,
    amount_at_risk INTEGER NOT NULL DEFAULT 0,
    currency TEXT,
    awaiting_since REAL,                 -- event time of the oldest challenge still unanswered
    trigger TEXT,
    priority INTEGER NOT NULL DEFAULT 1, -- 0 low .. 3 critical
    queued_at REAL,                      -- wall time (SLAs)
    due_at REAL,
    assignee TEXT,
    claimed_at REAL,
    verdict TEXT,
    fraud_type TEXT,
    verdict_by TEXT,
    verdict_at REAL,
    contained_at REAL,
    scenario TEXT,
    police_reference TEXT,
    police_authority TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    closed_at REAL,
    version INTEGER NOT NULL DEFAULT 1,
    -- the review queue as one index range, so a page of it is read in order, never sorted
    in_queue INTEGER GENERATED ALWAYS AS (status IN ('open', 'in_review')) VIRTUAL
);
CREATE INDEX IF NOT EXISTS cases_card ON cases(card, last_seen) WHERE card IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_account ON cases(account, last_seen) WHERE account IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_queue_priority ON cases(in_queue, priority DESC, due_at, id);
CREATE INDEX IF NOT EXISTS cases_queue_due ON cases(in_queue, due_at, id);
CREATE INDEX IF NOT EXISTS cases_queue_age ON cases(in_queue, queued_at, id);
CREATE INDEX IF NOT EXISTS cases_queue_amount ON cases(in_queue, amount_at_risk DESC, id);
CREATE INDEX IF NOT EXISTS cases_queue_score ON cases(in_queue, max_score DESC, id);
CREATE INDEX IF NOT EXISTS cases_queue_recent ON cases(in_queue, last_seen DESC, id);
CREATE INDEX IF NOT EXISTS cases_by_status ON cases(status, last_seen DESC, id);
CREATE INDEX IF NOT EXISTS cases_by_assignee ON cases(assignee, in_queue, priority DESC, due_at, id);
CREATE INDEX IF NOT EXISTS cases_awaiting ON cases(awaiting_since) WHERE awaiting_since IS NOT NULL;

CREATE TABLE IF NOT EXISTS case_events (
    event_id TEXT PRIMARY KEY,           -- an event belongs to one episode
    case_id TEXT NOT NULL,
    ts REAL NOT NULL,                    -- event time
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    outcome TEXT,
    score REAL,
    amount INTEGER,
    currency TEXT,
    seq INTEGER                          -- log position, when known
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events(case_id, ts);

CREATE TABLE IF NOT EXISTS case_entities (
    type TEXT NOT NULL,                  -- card | account | device | ip | session
    value TEXT NOT NULL,
    case_id TEXT NOT NULL,
    attacker INTEGER NOT NULL DEFAULT 0, -- 1: seen on a flagged event or a disputed payment
    first_seen REAL NOT NULL,
    PRIMARY KEY (type, value, case_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_entities_case ON case_entities(case_id);

CREATE TABLE IF NOT EXISTS case_rules (
    rule TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (rule, case_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_rules_case ON case_rules(case_id);

CREATE TABLE IF NOT EXISTS case_log (    -- what people and fraudwatch did to a case
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    at REAL NOT NULL,                    -- wall time
    actor TEXT NOT NULL,
    type TEXT NOT NULL,                  -- status, assign, note, verdict, attachment, ...
    data TEXT NOT NULL                   -- JSON
);
CREATE INDEX IF NOT EXISTS case_log_case ON case_log(case_id, id);

CREATE TABLE IF NOT EXISTS disputes (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    payment TEXT NOT NULL,
    opened_by TEXT NOT NULL UNIQUE,      -- the chargeback event
    scheme TEXT NOT NULL,
    flow TEXT NOT NULL,
    reason_code TEXT,
    acquirer TEXT,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    stage TEXT,                          -- NULL once decided
    party TEXT,                          -- whose turn it is
    stage_started REAL,                  -- event time (the stage's date)
    deadline REAL,
    outcome TEXT,                        -- won | lost
    breached INTEGER NOT NULL DEFAULT 0, -- a deadline of ours passed without a move
    opened REAL NOT NULL,                -- event time of the chargeback
    decided REAL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS disputes_case ON disputes(case_id);
CREATE INDEX IF NOT EXISTS disputes_payment ON disputes(payment);
CREATE INDEX IF NOT EXISTS disputes_open ON disputes(deadline) WHERE outcome IS NULL;
CREATE INDEX IF NOT EXISTS disputes_by_stage ON disputes(outcome, scheme, stage);

CREATE TABLE IF NOT EXISTS dispute_stages (
    dispute_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    stage TEXT NOT NULL,
    party TEXT NOT NULL,
    started REAL NOT NULL,
    deadline REAL NOT NULL,
    ended REAL,
    move TEXT,                           -- the move that ended it, or 'expired'
    actor TEXT,
    PRIMARY KEY (dispute_id, n)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dispute_deadlines (  -- overrides per acquirer or PSP
    acquirer TEXT PRIMARY KEY,
    deadlines TEXT NOT NULL,             -- JSON {scheme: {stage: seconds}}
    updated REAL NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS money (       -- refunds, reversals and chargebacks per payment
    id TEXT PRIMARY KEY,
    case_id TEXT,
    payment TEXT NOT NULL,
    kind TEXT NOT NULL,                  -- refund | reversal | chargeback
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,                -- requested | done
    at REAL NOT NULL,                    -- event time
    source TEXT,                         -- the event, or who asked
    note TEXT
);
CREATE INDEX IF NOT EXISTS money_payment ON money(payment);
CREATE INDEX IF NOT EXISTS money_case ON money(case_id);

CREATE TABLE IF NOT EXISTS attachments (
    case_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (case_id, sha256)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attachments_blob ON attachments(sha256);
