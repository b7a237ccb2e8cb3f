-- When the provider made a return, when its format names a report date: a re-sent old return
-- whose report date is after the one that replaced its marks proves it is newer.
ALTER TABLE documents ADD COLUMN report_date DATE;
