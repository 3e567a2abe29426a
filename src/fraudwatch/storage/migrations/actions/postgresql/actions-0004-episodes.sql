-- Alerts per episode (responses): one alert per episode with its events, the cardholder
-- message rate limit, and each action once per episode.
ALTER TABLE alerts ADD COLUMN episode TEXT;          -- the episode (case) the alert is about: one alert each
ALTER TABLE alerts ADD COLUMN events TEXT;           -- JSON: the episode's stopped events with their entities
ALTER TABLE alerts ADD COLUMN last_ts DOUBLE PRECISION;         -- event time of the latest of them
ALTER TABLE alerts ADD COLUMN told BIGINT NOT NULL DEFAULT 1;  -- how many of them the cardholder was told about
ALTER TABLE alerts ADD COLUMN summary_latest TEXT;   -- JSON summary of the latest
ALTER TABLE alerts ADD COLUMN applied TEXT;          -- the cardholder.answer event whose effects were applied

CREATE TABLE cardholder_messages (  -- for the rate limit per cardholder, in event time
    subject TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    alert TEXT NOT NULL,
    type TEXT NOT NULL
);
CREATE INDEX cardholder_messages_by_subject ON cardholder_messages(subject, ts);

CREATE TABLE episode_actions (     -- each action once per episode (and per order, field, session)
    episode TEXT NOT NULL,
    action TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    target TEXT NOT NULL,          -- '' for the action itself, else an order, field or session
    event TEXT NOT NULL,           -- the event or answer that caused it
    ts DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (episode, action, endpoint, target)
);
