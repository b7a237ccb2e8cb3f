-- Who decided a review item: a person, named by `review resolve --by` or the operating-system user.
ALTER TABLE review ADD COLUMN decided_by TEXT;
