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


def runc_status(d, cid):
    out = subprocess.run(["runc", "--root", os.path.join(d.state, "runc"), "state", cid],
                         capture_output=True, text=True)
    import json
    return json.loads(out.stdout)["status"] if out.returncode == 0 else None


def checkpoint_pod(e, ids, output, pod=None, **kw):
    e.rt.CheckpointPod(e.pb.CheckpointPodRequest(pod_sandbox_id=pod or e.pod, output_path=output,
                                                 container_ids=ids, **kw), timeout=60)


def test_checkpoint_pod_requests_are_checked(env):
    e = env
    a = sleeper(e, "a")
    out = os.path.join(e.workdir, "pod-ckpt")
    os.makedirs(out)
    done = run(e, e.pb.ContainerConfig(
        metadata=e.pb.ContainerMetadata(name="done"), image=e.pb.ImageSpec(image=e.ref),
        command=["true"], log_path="done.log"))
    wait_exited(e, done)
    cases = [
        (dict(ids=[]), grpc.StatusCode.INVALID_ARGUMENT, "container_ids is empty"),
        (dict(ids=[a, a]), grpc.StatusCode.INVALID_ARGUMENT, "twice"),
        (dict(ids=[a], output="relative"), grpc.StatusCode.INVALID_ARGUMENT, "absolute path"),
        (dict(ids=[a], options={"leaveRunning": "true"}), grpc.StatusCode.INVALID_ARGUMENT,
         "leaveRunning"),
        (dict(ids=[a], pod="f" * 64), grpc.StatusCode.NOT_FOUND, "f" * 64),
        (dict(ids=["e" * 64]), grpc.StatusCode.NOT_FOUND, "e" * 64),
        (dict(ids=[a, done]), grpc.StatusCode.FAILED_PRECONDITION, "not running"),
        (dict(ids=[a], output=os.path.join(e.workdir, "missing")), grpc.StatusCode.INVALID_ARGUMENT,
         "output_path"),
    ]
    for kw, code, words in cases:
        with pytest.raises(grpc.RpcError) as err:
            checkpoint_pod(e, kw.pop("ids"), kw.pop("output", out), **kw)
        assert err.value.code() == code, (kw, err.value.details())
        assert words in err.value.details()
    with open(os.path.join(out, "mine"), "w"):
        pass
    with pytest.raises(grpc.RpcError) as err:
        checkpoint_pod(e, [a], out)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not empty" in err.value.details()
    assert os.listdir(out) == ["mine"]
    assert runc_status(e.cribd, a) == "running"


def test_checkpoint_pod_pauses_all_and_always_resumes(env):
    e = env
    ids = [sleeper(e, "a"), sleeper(e, "b")]
    out = os.path.join(e.workdir, "pod-ckpt")
    os.makedirs(out)
    verdict = criu_verdict()
    if verdict is None:
        checkpoint_pod(e, ids, out)
        assert sorted(os.listdir(out)) == ["a.tar", "b.tar", "pod.json"]
    else:
        print("CRIU cannot checkpoint on this machine (%s): checking the refusal" % verdict)
        with pytest.raises(grpc.RpcError) as err:
            checkpoint_pod(e, ids, out)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert verdict in err.value.details()
        assert os.listdir(out) == []
    # Never a frozen pod: both run on, and answer.
    for cid in ids:
        assert runc_status(e.cribd, cid) == "running"
        assert not os.path.exists(os.path.join(e.cribd.state, "containers", cid,
                                               "paused-for-checkpoint"))
        r = e.rt.ExecSync(e.pb.ExecSyncRequest(container_id=cid, cmd=["echo", "up"], timeout=5))
        assert r.stdout == b"up\n"


def test_crash_with_the_pod_paused_resumes_it_at_start(make_cribd, api, registry, busybox, workdir):
    from test_containers_crash import Setup
    pb, pb_grpc = api
    step = "checkpoint-pod-paused"
    d = make_cribd(env={"CRIB_CRASH_AT": step}).start()
    registry.write_hosts(d.certs_d)
    s = Setup(d, pb, pb_grpc, busybox[0])
    s.prepare()
    out = os.path.join(workdir, "pod-ckpt")
    os.makedirs(out)
    with d.channel() as ch:
        rt = s.stubs(ch)[0]
        ids = [s.create(rt, "a"), s.create(rt, "b")]
        for cid in ids:
            rt.StartContainer(pb.StartContainerRequest(container_id=cid))
        with pytest.raises(grpc.RpcError):
            rt.CheckpointPod(pb.CheckpointPodRequest(pod_sandbox_id=s.pod, output_path=out,
                                                     container_ids=ids), timeout=60)
    # cribd died with both frozen.
    assert [runc_status(d, cid) for cid in ids] == ["paused", "paused"]
    d.restart_after_crash(step)
    assert [runc_status(d, cid) for cid in ids] == ["running", "running"]
    assert "resuming it after a pod checkpoint cut short" in d.logs()
    with d.channel() as ch:
        rt = s.stubs(ch)[0]
        r = rt.ExecSync(pb.ExecSyncRequest(container_id=ids[0], cmd=["echo", "up"], timeout=5))
        assert r.stdout == b"up\n"
        s.cleanup(rt)
    assert d.stop() == 0
