-- What `mko ups setup` was last told, so that running it again (the fix mko doctor prints for a
-- NUT check) sets the UPS up the same way instead of falling back to the defaults.

-- upsmon's SHUTDOWNCMD; NULL: the nut role's default (shut the host down)
ALTER TABLE upses ADD COLUMN setup_shutdown_cmd TEXT;
-- JSON array of the nodes and clusters whose upsmon follows the UPS as secondaries; NULL: the UPS
-- host's cluster
ALTER TABLE upses ADD COLUMN setup_secondaries TEXT CHECK (setup_secondaries IS NULL OR json_valid(setup_secondaries));
