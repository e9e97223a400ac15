"""crictl, where it is on PATH, against cribd: the operator's view."""

import json
import shutil
import subprocess
import time

import pytest

CRICTL = shutil.which("crictl")
pytestmark = pytest.mark.skipif(CRICTL is None, reason="crictl is not on PATH: crictl checks skipped")


def crictl(d, *args):
    out = subprocess.run([CRICTL, "--runtime-endpoint", d.endpoint, "--image-endpoint", d.endpoint,
                          "--timeout", "10s"] + list(args), capture_output=True, text=True, timeout=60)
    return out


def test_crictl_version(cribd):
    out = crictl(cribd, "version")
    assert out.returncode == 0, out.stderr
    assert "RuntimeName:  crib" in out.stdout
    assert "RuntimeApiVersion:  v1" in out.stdout


def test_crictl_info(cribd):
    out = crictl(cribd, "info")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    conds = {c["type"]: c["status"] for c in info["status"]["conditions"]}
    assert conds == {"RuntimeReady": True, "NetworkReady": True}
    assert info["config"]["stateDir"] == cribd.state


def test_crictl_runs_a_container(cribd, registry, workdir):
    """run, ps, logs, exec (non-interactive), inspect, stop, rm, stopp, rmp."""
    from registry import busybox_image
    registry.push("crictl/busybox", "1", busybox_image())
    registry.write_hosts(cribd.certs_d)
    ref = "%s/crictl/busybox:1" % registry.host
    pod = {"metadata": {"name": "cp", "namespace": "default", "uid": "cpu", "attempt": 0},
           "log_directory": workdir + "/logs"}
    ctr = {"metadata": {"name": "hello"}, "image": {"image": ref}, "log_path": "hello.log",
           "command": ["sh", "-c", "echo hello from crib; sleep 1000"]}
    for name, doc in (("pod.json", pod), ("ctr.json", ctr)):
        with open("%s/%s" % (workdir, name), "w") as f:
            json.dump(doc, f)
    try:
        out = crictl(cribd, "run", "--with-pull", workdir + "/ctr.json", workdir + "/pod.json")
        assert out.returncode == 0, out.stderr
        cid = out.stdout.strip()
        assert cid in crictl(cribd, "ps", "-q").stdout
        deadline = time.monotonic() + 5
        while "hello from crib" not in crictl(cribd, "logs", cid).stdout:
            assert time.monotonic() < deadline
        assert crictl(cribd, "exec", "-s", cid, "echo", "exec works").stdout.strip() == "exec works"
        inspect = json.loads(crictl(cribd, "inspect", cid).stdout)
        assert inspect["status"]["state"] == "CONTAINER_RUNNING"
        stats = json.loads(crictl(cribd, "stats", "-o", "json").stdout)["stats"]
        assert [s["attributes"]["id"] for s in stats] == [cid]
        assert int(stats[0]["memory"]["workingSetBytes"]["value"]) > 0
        podstats = json.loads(crictl(cribd, "statsp", "-o", "json").stdout)["stats"]
        assert [c["attributes"]["id"] for c in podstats[0]["linux"]["containers"]] == [cid]
        events = subprocess.Popen([CRICTL, "--runtime-endpoint", cribd.endpoint, "events",
                                   "-o", "json"], stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        assert crictl(cribd, "stop", cid).returncode == 0
        assert crictl(cribd, "rm", cid).returncode == 0
        time.sleep(1)
        events.terminate()
        seen = events.communicate(timeout=10)[0]
        assert "CONTAINER_STOPPED_EVENT" in seen and "CONTAINER_DELETED_EVENT" in seen, seen
        assert seen.index("CONTAINER_STOPPED_EVENT") < seen.index("CONTAINER_DELETED_EVENT")
    finally:
        pods = crictl(cribd, "pods", "-q").stdout.split()
        assert crictl(cribd, "stopp", *pods).returncode == 0
        assert crictl(cribd, "rmp", *pods).returncode == 0
    assert crictl(cribd, "ps", "-aq").stdout.strip() == ""
