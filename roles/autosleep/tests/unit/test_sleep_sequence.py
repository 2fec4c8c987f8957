# The sleep sequence of the auto-sleep evaluator (roles/autosleep/files/mko_autosleep.py): pre-sleep
# hooks, the notice and grace period in which activity cancels, cordon and the optional drain, the
# journal. Hooks are real executables run as the node would run them; the journal and the cordon
# marker are real files. Kubernetes is the one thing that cannot exist here: a recorder stands in
# for kubectl, answering as the API server would. The sleep action itself is replaced by /bin/true,
# and `wall` by a list, so that nothing here can power off or message this machine.
#   /usr/bin/python3 -B -m unittest discover -s roles/autosleep/tests/unit -p 'test_*.py'
import importlib.util
import json
import os
import shutil
import stat
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location("mko_autosleep_seq", os.path.join(HERE, "..", "..", "files", "mko_autosleep.py"))
ev = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ev)


class Kube:
    """kubectl as the node's credentials see it: its own Node object, cordon, uncordon, drain."""

    def __init__(self, unschedulable=False, drain_error=None):
        self.calls = []
        self.unschedulable = unschedulable
        self.drain_error = drain_error

    def __call__(self, config, *args, timeout=60):
        self.calls.append(args[0])
        if args[:2] == ("get", "node"):
            return 0, json.dumps({"metadata": {"name": config["node"]}, "spec": {"unschedulable": self.unschedulable}}), None
        if args[0] == "cordon":
            self.unschedulable = True
        if args[0] == "uncordon":
            self.unschedulable = False
        if args[0] == "drain" and self.drain_error:
            return 1, "", self.drain_error
        return 0, "", None


class SleepSequenceTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mko-autosleep-")
        self.hooks = os.path.join(self.dir, "pre-sleep.d")
        os.makedirs(self.hooks)
        self.saved = {name: getattr(ev, name) for name in ("STATE_DIR", "kubectl", "notify", "action_argv", "node_checks")}
        ev.STATE_DIR = os.path.join(self.dir, "state")
        self.kube = Kube()
        ev.kubectl = self.kube
        self.notices = []
        ev.notify = self.notices.append
        ev.action_argv = lambda action: ["/bin/true"]
        self.config = dict(ev.DEFAULTS, node="w1", role="worker", action="poweroff", hooks_dir=self.hooks, hook_timeout=5,
                           drain=False, timeout=1800)

    def tearDown(self):
        for name, value in self.saved.items():
            setattr(ev, name, value)
        shutil.rmtree(self.dir, ignore_errors=True)

    def hook(self, name, body, executable=True):
        path = os.path.join(self.hooks, name)
        with open(path, "w") as handle:
            handle.write("#!/bin/sh\n" + body + "\n")
        os.chmod(path, stat.S_IRWXU if executable else stat.S_IRUSR | stat.S_IWUSR)

    def journal(self):
        return ev.journal_read()

    def test_hooks_run_in_name_order_with_the_node_in_their_environment_then_cordon_journal_and_action(self):
        ran = os.path.join(self.dir, "ran")
        self.hook("20-second", 'echo "second $MKO_SLEEP_NODE $MKO_SLEEP_ACTION $MKO_SLEEP_TRIGGER" >> %s' % ran)
        self.hook("10-first", 'echo "first" >> %s' % ran)
        self.hook(".hidden", 'echo hidden >> %s' % ran)
        self.hook("30-not-executable", 'echo nope >> %s' % ran, executable=False)
        entry = ev.sleep_sequence(self.config, {}, "timer", 0)
        with open(ran) as handle:
            self.assertEqual(handle.read().splitlines(), ["first", "second w1 poweroff timer"])
        self.assertEqual([h["hook"] for h in entry["hooks"]], ["10-first", "20-second"])
        self.assertEqual((entry["outcome"], entry["cordoned"], entry["reason"]), ("slept", True, "idle for 1800 s"))
        self.assertEqual(self.kube.calls, ["get", "cordon"])
        self.assertEqual([e["outcome"] for e in self.journal()], ["slept"])
        marker = ev.read_json(ev.state_path("cordoned.json"), None)
        self.assertEqual((marker["cordoned"], marker["entry"]), (True, entry["id"]))

    def test_a_failing_hook_cancels_before_anything_else_and_says_which(self):
        ran = os.path.join(self.dir, "ran")
        self.hook("10-backup", "echo 'backup target offline' >&2; exit 3")
        self.hook("20-later", "echo later >> %s" % ran)
        entry = ev.sleep_sequence(self.config, {}, "timer", 30)
        self.assertEqual((entry["outcome"], entry["reason"]), ("cancelled", "pre-sleep hook 10-backup exited 3"))
        self.assertFalse(os.path.exists(ran))
        self.assertEqual(self.kube.calls, [])
        self.assertEqual(self.notices, ["mko auto-sleep: w1 stays awake: pre-sleep hook 10-backup exited 3"])
        self.assertEqual([(e["outcome"], e["hooks"][0]["error"]) for e in self.journal()], [("cancelled", "backup target offline")])

    def test_a_hook_that_hangs_is_stopped_at_its_timeout_and_cancels(self):
        self.config["hook_timeout"] = 1
        self.hook("10-hangs", "sleep 30")
        entry = ev.sleep_sequence(self.config, {}, "timer", 0)
        self.assertEqual((entry["outcome"], entry["reason"]), ("cancelled", "pre-sleep hook 10-hangs no answer within 1 s"))

    def test_activity_during_the_grace_period_cancels_after_the_notice(self):
        seen = []

        def busy_after_first(config, state, sample=True):
            seen.append(True)
            return [ev.check("sessions", ev.BUSY, "1 interactive session: root on pts/0")]
        ev.node_checks = busy_after_first
        entry = ev.sleep_sequence(self.config, {}, "timer", 1)
        self.assertEqual(self.notices[0], "mko auto-sleep: w1 will poweroff in 1 s unless there is activity")
        self.assertEqual((entry["outcome"], entry["reason"]),
                         ("cancelled", "activity during the grace period: sessions: 1 interactive session: root on pts/0"))
        self.assertTrue(seen)
        self.assertEqual(self.kube.calls, [])

    def test_a_quiet_grace_period_goes_on_to_sleep(self):
        ev.node_checks = lambda config, state, sample=True: [ev.check("sessions", ev.IDLE, "no interactive session")]
        entry = ev.sleep_sequence(self.config, {}, "timer", 1)
        self.assertEqual(entry["outcome"], "slept")
        self.assertEqual(self.notices[-1], "mko auto-sleep: w1: poweroff now (idle for 1800 s)")

    def test_a_failed_drain_uncordons_what_it_cordoned_and_cancels(self):
        self.config["drain"] = True
        self.kube.drain_error = "error: cannot delete Pods not managed by a controller: default/bare"
        entry = ev.sleep_sequence(self.config, {}, "mko", 0)
        self.assertEqual(self.kube.calls, ["get", "cordon", "drain", "uncordon"])
        self.assertFalse(self.kube.unschedulable)
        self.assertEqual((entry["outcome"], entry["cordoned"]), ("cancelled", False))
        self.assertEqual(entry["reason"], "drain failed: error: cannot delete Pods not managed by a controller: default/bare")
        self.assertFalse(os.path.exists(ev.state_path("cordoned.json")))

    def test_a_drain_that_works_is_recorded(self):
        self.config["drain"] = True
        entry = ev.sleep_sequence(self.config, {}, "mko", 0)
        self.assertEqual(self.kube.calls, ["get", "cordon", "drain"])
        self.assertEqual((entry["outcome"], entry["drained"], entry["reason"]), ("slept", True, "asked by mko sleep now"))

    def test_an_admins_cordon_is_left_to_the_admin(self):
        self.kube.unschedulable = True
        entry = ev.sleep_sequence(self.config, {}, "timer", 0)
        self.assertEqual(self.kube.calls, ["get"])
        self.assertFalse(entry["cordoned"])
        self.assertFalse(ev.read_json(ev.state_path("cordoned.json"), None)["cordoned"])


if __name__ == "__main__":
    unittest.main()
