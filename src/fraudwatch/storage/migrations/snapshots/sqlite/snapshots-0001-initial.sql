-- Snapshots of the engine state, in a file of their own beside the log (see sqlite.py).
CREATE TABLE IF NOT EXISTS snapshots(seq INTEGER PRIMARY KEY, created_at REAL NOT NULL, data BLOB NOT NULL);
