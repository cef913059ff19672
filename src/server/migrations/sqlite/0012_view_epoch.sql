-- Raised when what a person's phones may hold changes (their role or branch): the history their phones
-- are told mixes it in (sync::history_for), so those phones start their copy over.
ALTER TABLE users ADD COLUMN view_epoch INTEGER NOT NULL DEFAULT 0;
