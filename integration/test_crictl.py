"""crictl, where it is on PATH, against cribd: the operator's view."""

import json
import shutil
import subprocess

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
