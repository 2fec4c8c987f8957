-- A running operation's processes, told apart from later processes that got the same PID (PIDs
-- are reused, after a reboot above all): each is stored with its start, "<boot id>:<start time in
-- clock ticks since boot>" from /proc. NULL where unknown (runs recorded by an older mko, or by
-- the callback plugin): then the PID alone decides, as before.

-- the recorder (pid): the mko or ansible-playbook process that will record the result
ALTER TABLE operations ADD COLUMN pid_start TEXT;
-- the process group the runner started ansible-playbook in (its leader's PID) and the leader's
-- start: what a later mko stops when the recorder died without stopping it
ALTER TABLE operations ADD COLUMN child_pgid INTEGER;
ALTER TABLE operations ADD COLUMN child_start TEXT;
