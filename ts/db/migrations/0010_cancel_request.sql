-- `mko operation cancel` asks the process recording an operation to stop that one run: it sets
-- cancel_requested_at, then signals the recorder (SIGUSR2). A one-shot mko command stops as a
-- whole; a long-lived one (mko web, the UPS watcher) stops only the runs asked for and goes on.
ALTER TABLE operations ADD COLUMN cancel_requested_at TEXT;
