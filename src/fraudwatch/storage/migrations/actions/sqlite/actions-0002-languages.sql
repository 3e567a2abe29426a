-- The language of a cardholder's messages and answer pages (ja, en; null: the default).
ALTER TABLE subscriptions ADD COLUMN language TEXT;
ALTER TABLE alerts ADD COLUMN language TEXT;
