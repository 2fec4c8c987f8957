# The pure decisions of the auto-sleep evaluator (roles/autosleep/files/mko_autosleep.py).
#   /usr/bin/python3 -B -m unittest discover -s roles/autosleep/tests/unit -p 'test_*.py'
import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location("mko_autosleep", os.path.join(HERE, "..", "..", "files", "mko_autosleep.py"))
ev = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ev)


def pod(name, namespace="default", node="w1", owner=None, labels=None, phase="Running"):
    meta = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "x"}]
    return {"metadata": meta, "spec": {"nodeName": node}, "status": {"phase": phase}}


class PodsTest(unittest.TestCase):
    def states(self, items, excluded=("kube-system",)):
        return {c["check"]: c["state"] for c in ev.pods_checks(items, "w1", list(excluded))}

    def test_daemonset_pods_and_excluded_namespaces_are_idle(self):
        items = [pod("calico-node-a", "kube-system", owner="DaemonSet"), pod("ingress-x", "ingress", owner="DaemonSet"),
                 pod("coredns-1", "kube-system", owner="ReplicaSet")]
        self.assertEqual(self.states(items), {"pods": "idle", "prevent-label": "idle"})

    def test_a_workload_pod_keeps_it_awake(self):
        self.assertEqual(self.states([pod("web-1", owner="ReplicaSet")])["pods"], "busy")
        # ...unless its namespace is excluded
        self.assertEqual(self.states([pod("web-1", owner="ReplicaSet")], excluded=("default",))["pods"], "idle")

    def test_finished_pods_and_other_nodes_pods_do_not_count(self):
        items = [pod("job-1", phase="Succeeded"), pod("job-2", phase="Failed"), pod("web-2", node="w2")]
        self.assertEqual(self.states(items), {"pods": "idle", "prevent-label": "idle"})

    def test_the_prevent_label_counts_even_on_daemonsets_and_excluded_namespaces(self):
        items = [pod("agent", "kube-system", owner="DaemonSet", labels={"mko.io/prevent-sleep": "true"})]
        checks = ev.pods_checks(items, "w1", ["kube-system"])
        self.assertEqual([c["state"] for c in checks], ["idle", "busy"])
        self.assertIn("mko.io/prevent-sleep=true on kube-system/agent", checks[1]["detail"])
        self.assertEqual(self.states([pod("a", labels={"mko.io/prevent-sleep": "false"}, owner="DaemonSet")])["prevent-label"], "idle")


class MeasuresTest(unittest.TestCase):
    def test_cpu_is_per_cpu_load(self):
        self.assertEqual(ev.cpu_check("1.50 0.9 0.4 2/300 999", 4, 0.5)["state"], "idle")
        self.assertEqual(ev.cpu_check("2.10 0.9 0.4 2/300 999", 4, 0.5)["state"], "busy")

    def test_network_rate_leaves_out_lo(self):
        dev = ("Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n"
               "    lo: 900000 10 0 0 0 0 0 0 900000 10 0 0 0 0 0 0\n"
               "  eth0: 1000 10 0 0 0 0 0 0 500 10 0 0 0 0 0 0\n")
        self.assertEqual(ev.net_bytes(dev), 1500)
        self.assertEqual(ev.net_check(None, {"at": 10, "bytes": 1500}, 100)["state"], "idle")
        self.assertEqual(ev.net_check({"at": 0, "bytes": 0}, {"at": 10, "bytes": 1500}, 100)["state"], "busy")
        self.assertEqual(ev.net_check({"at": 0, "bytes": 0}, {"at": 10, "bytes": 900}, 100)["state"], "idle")
        # counters reset (interface re-created): no rate, not a negative one
        self.assertEqual(ev.net_check({"at": 0, "bytes": 5000}, {"at": 10, "bytes": 10}, 100)["state"], "idle")

    def test_sessions_need_a_terminal(self):
        self.assertEqual(ev.sessions_check("", "3 0 root\n")["state"], "idle")  # Ansible: no tty
        busy = ev.sessions_check("alice    pts/0        2026-12-07 12:00 (10.0.0.9)\n", "")
        self.assertEqual(busy["state"], "busy")
        self.assertIn("alice on pts/0", busy["detail"])
        self.assertEqual(ev.sessions_check("", "c1 1000 bob seat0 tty2\n")["state"], "busy")

    def test_inhibitors_block_the_chosen_action_only(self):
        held = [("sleep", "backup", "copying", "block"), ("shutdown", "upgrades", "installing", "delay")]
        self.assertEqual(ev.inhibitors_check(held, "suspend")["state"], "busy")
        self.assertEqual(ev.inhibitors_check(held, "poweroff")["state"], "idle")  # delay mode does not block
        self.assertEqual(ev.inhibitors_check([("shutdown:sleep", "x", "y", "block")], "poweroff")["state"], "busy")

    def test_custom_commands_exit_0_means_busy(self):
        self.assertEqual(ev.command_check(["pgrep", "rsync"], 0)["state"], "busy")
        self.assertEqual(ev.command_check(["pgrep", "rsync"], 1)["state"], "idle")
        self.assertEqual(ev.command_check(["nope"], None, "nope: not found")["state"], "unknown")


STATUS_YAML = """microk8s:
  running: True
high-availability:
  enabled: True
  nodes:
    - address: 10.0.0.1:19001
      role: voter
    - address: 10.0.0.2:19001
      role: voter
    - address: 10.0.0.3:19001
      role: voter
    - address: 10.0.0.4:19001
      role: standby
addons:
  - name: dns
    status: enabled
"""


class VotersTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(ev.ha_voters(STATUS_YAML), [("10.0.0.1", "voter"), ("10.0.0.2", "voter"), ("10.0.0.3", "voter"),
                                                     ("10.0.0.4", "standby")])

    def test_a_voter_sleeps_only_when_two_others_stay_up(self):
        members = ev.ha_voters(STATUS_YAML)
        self.assertEqual(ev.voters_check(members, {"10.0.0.1"}, {"10.0.0.2", "10.0.0.3"}, 2)["state"], "idle")
        refused = ev.voters_check(members, {"10.0.0.1"}, {"10.0.0.2"}, 2)
        self.assertEqual(refused["state"], "busy")
        self.assertIn("would leave 1 voter(s) up (10.0.0.2), fewer than 2", refused["detail"])
        self.assertEqual(ev.voters_check(members, {"10.0.0.4"}, set(), 2)["state"], "idle")  # a standby


class VerdictTest(unittest.TestCase):
    config = {"sleepable": True, "timeout": 30, "action": "poweroff"}

    def test_counts_down_from_idle_since(self):
        idle = [ev.check("pods", ev.IDLE, "")]
        self.assertEqual(ev.verdict(self.config, idle, 1000, 1010)["sleeps_in"], 20)
        self.assertEqual(ev.verdict(self.config, idle, 1000, 1040)["sleeps_in"], 0)
        self.assertEqual(ev.verdict(self.config, idle, None, 1040)["sleeps_in"], 30)

    def test_any_busy_or_unknown_check_keeps_it_awake_and_says_why(self):
        checks = [ev.check("pods", ev.IDLE, ""), ev.check("sessions", ev.BUSY, "1 interactive session(s): root on pts/0")]
        result = ev.verdict(self.config, checks, 1000, 2000)
        self.assertEqual((result["state"], result["sleeps_in"]), ("awake", None))
        self.assertIn("sessions: 1 interactive session(s)", result["detail"])
        self.assertEqual(ev.verdict(self.config, [ev.check("pods", ev.UNKNOWN, "x")], 0, 99)["state"], "awake")

    def test_not_sleepable(self):
        self.assertEqual(ev.verdict(dict(self.config, sleepable=False), [], 0, 99)["state"], "not sleepable")


class ActionTest(unittest.TestCase):
    def test_suspend_and_poweroff_by_a_transient_timer(self):
        self.assertEqual(ev.action_argv("suspend")[-2:], ["systemctl", "suspend"])
        self.assertEqual(ev.action_argv("poweroff")[-2:], ["systemctl", "poweroff"])
        self.assertEqual(ev.action_argv("suspend")[:2], ["systemd-run", "--on-active=2"])
        with self.assertRaises(KeyError):
            ev.action_argv("hibernate")


class ResumedTest(unittest.TestCase):
    def test_a_new_boot_or_a_suspend_gap(self):
        marker = {"boot_id": "a", "wall": 1000.0, "mono": 50.0}
        self.assertFalse(ev.resumed(marker, "a", 1010.0, 60.0))  # still going to sleep
        self.assertTrue(ev.resumed(marker, "b", 1010.0, 5.0))  # powered off and booted
        self.assertTrue(ev.resumed(marker, "a", 1500.0, 61.0))  # suspended for ~8 minutes


class FilesTest(unittest.TestCase):
    def test_write_json_is_atomic_and_private(self):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "d", "state.json")
            ev.write_json(path, {"a": 1})
            self.assertEqual(ev.read_json(path, None), {"a": 1})
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            self.assertEqual(os.listdir(os.path.dirname(path)), ["state.json"])
            self.assertEqual(ev.read_json(os.path.join(tmp, "missing"), "dflt"), "dflt")

    def test_config_values_take_their_defaults_types(self):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "c.json")
            with open(path, "w") as handle:
                handle.write('{"timeout": "20", "cpu_load": "1000", "sleepable": "True", "drain": false, "node": "w1"}')
            config = ev.load_config(path)
            self.assertEqual((config["timeout"], config["cpu_load"], config["sleepable"], config["drain"], config["node"]),
                             (20, 1000.0, True, False, "w1"))
            self.assertEqual(config["grace"], 60)

    def test_run_never_uses_a_shell(self):
        code, out, error = ev.run(["echo", "$(id)", ";", "true"])
        self.assertEqual((code, out, error), (0, "$(id) ; true\n", None))
        self.assertEqual(ev.run(["/nonexistent/x"])[2], "/nonexistent/x: not found")


if __name__ == "__main__":
    unittest.main()
