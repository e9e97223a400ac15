"""CheckpointContainer under runc: CRIU's checkpoint in one archive, or,
where `criu check` fails (it does on this kernel), FAILED_PRECONDITION with
criu's own reason and nothing left at the location. Bad requests get the
right codes. runsc's case is in test_runsc.py."""

import os
import shutil
import stat
import subprocess
import tarfile

import grpc
import pytest

from test_containers import busybox, env, run, sleeper, status, wait_exited  # noqa: F401

CRIU = shutil.which("criu")


def criu_verdict():
    """None when CRIU can checkpoint here, else why not (criu's words)."""
    if not CRIU:
        return "criu is not installed"
    out = subprocess.run([CRIU, "check"], capture_output=True, text=True)
    text = out.stdout + out.stderr
    if "Looks good" in text:
        return None
    errors = [line for line in text.splitlines() if line.startswith("Error (")]
    return errors[-1] if errors else text.strip().splitlines()[-1]


def checkpoint(e, cid, location, timeout=60):
    e.rt.CheckpointContainer(e.pb.CheckpointContainerRequest(container_id=cid, location=location,
                                                             timeout=timeout))


def test_checkpoint_of_a_running_container(env):
    e = env
    cid = sleeper(e)
    location = os.path.join(e.workdir, "ckpt", "c.tar")
    os.makedirs(os.path.dirname(location))
    verdict = criu_verdict()
    if verdict is not None:
        print("CRIU cannot checkpoint on this machine (%s): checking the refusal" % verdict)
        with pytest.raises(grpc.RpcError) as err:
            checkpoint(e, cid, location)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "criu check" in err.value.details() and verdict in err.value.details()
        assert os.listdir(os.path.dirname(location)) == []
    else:
        checkpoint(e, cid, location)
        st = os.stat(location)
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
        with tarfile.open(location) as t:
            names = set(t.getnames())
        assert {"crib.json", "config.dump", "spec.dump", "rootfs-diff.tar",
                "checkpoint/inventory.img"} <= names
    # Either way the container runs on, and no work dir is left in its bundle.
    assert status(e, cid).state == e.pb.CONTAINER_RUNNING
    assert [f for f in os.listdir(os.path.join(e.cribd.state, "containers", cid))
            if f.startswith("checkpoint.")] == []


def test_bad_checkpoint_requests(env):
    e = env
    cid = sleeper(e)
    cases = [
        (cid, "", grpc.StatusCode.INVALID_ARGUMENT, "absolute path"),
        (cid, "relative/c.tar", grpc.StatusCode.INVALID_ARGUMENT, "absolute path"),
        ("", "/tmp/x.tar", grpc.StatusCode.INVALID_ARGUMENT, "container_id"),
        ("f" * 64, "/tmp/x.tar", grpc.StatusCode.NOT_FOUND, "f" * 64),
    ]
    for c, location, code, words in cases:
        with pytest.raises(grpc.RpcError) as err:
            checkpoint(e, c, location)
        assert err.value.code() == code, (c, location, err.value.details())
        assert words in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        checkpoint(e, cid, os.path.join(e.workdir, "x.tar"), timeout=-1)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    done = run(e, e.pb.ContainerConfig(
        metadata=e.pb.ContainerMetadata(name="done"), image=e.pb.ImageSpec(image=e.ref),
        command=["true"], log_path="done.log"))
    wait_exited(e, done)
    with pytest.raises(grpc.RpcError) as err:
        checkpoint(e, done, os.path.join(e.workdir, "done.tar"))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "not running" in err.value.details()
    assert not os.path.exists(os.path.join(e.workdir, "done.tar"))
