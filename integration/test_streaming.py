"""Exec, Attach and PortForward through cribd's streaming server, driven by
the tests' own SPDY/3.1 and WebSocket clients (and crictl where present)."""
import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import zlib

import grpc
import pytest

import spdy_client
import ws_client
from spdy_client import SpdyConn, UpgradeRefused, port_forward, run_exec
from test_containers import busybox, container_config, env, run, status  # noqa: F401 (fixtures)

MIB = 1 << 20


def exec_url(e, cid, cmd, stdin=False, stdout=True, stderr=True, tty=False):
    return e.rt.Exec(e.pb.ExecRequest(container_id=cid, cmd=cmd, stdin=stdin, stdout=stdout,
                                      stderr=stderr, tty=tty)).url


@pytest.fixture
def ctr(env):
    """A running container that sleeps."""
    return run(env, container_config(env, "sleeper", command=["sleep", "3600"]))


def test_exec_output_and_exit_code(env, ctr):
    url = exec_url(env, ctr, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert url.startswith("http://127.0.0.1:") and "/exec/" in url
    r = run_exec(url)
    assert r.stdout == b"out\n"
    assert r.stderr == b"err\n"
    st = r.status
    assert st["status"] == "Failure" and st["reason"] == "NonZeroExitCode"
    assert r.exit_code == 3
    r = run_exec(exec_url(env, ctr, ["true"]))
    assert r.status["status"] == "Success" and r.exit_code == 0


def test_exec_stdin_piped_and_half_closed(env, ctr):
    data = b"".join(b"line %d\n" % i for i in range(20000))
    r = run_exec(exec_url(env, ctr, ["cat"], stdin=True), stdin=data)
    assert r.stdout == data
    assert r.exit_code == 0


def test_exec_tty_resize_seen(env, ctr):
    url = exec_url(env, ctr, ["sh", "-c", "sleep 0.5; stty size"], stdout=True, stderr=False,
                   tty=True)
    r = run_exec(url, stderr=False, tty=True, resize=(123, 45))
    assert b"45 123" in r.stdout, r.stdout
    assert r.exit_code == 0


def test_exec_tty_stdin_echo(env, ctr):
    url = exec_url(env, ctr, ["sh", "-c", "read x; echo got-$x"], stdin=True, stderr=False,
                   tty=True)
    r = run_exec(url, stdin=b"abc\r", stderr=False, tty=True, resize=(80, 24), close_stdin=False)
    assert b"got-abc" in r.stdout, r.stdout


@pytest.mark.parametrize("window_updates", [False, True])
def test_exec_100mib_stdout_without_loss(env, ctr, window_updates):
    url = exec_url(env, ctr, ["head", "-c", str(100 * MIB), "/dev/zero"], stderr=False)
    r = run_exec(url, stderr=False, keep_stdout=False, window_updates=window_updates)
    assert r.stdout_len == 100 * MIB
    assert r.exit_code == 0


def test_20_concurrent_execs(env, ctr):
    results = [None] * 20

    def one(i):
        url = exec_url(env, ctr, ["sh", "-c", "echo n%d; sleep 0.3" % i])
        results[i] = run_exec(url)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, r in enumerate(results):
        assert r is not None and r.stdout == b"n%d\n" % i and r.exit_code == 0


def test_token_single_use_and_unknown(env, ctr):
    url = exec_url(env, ctr, ["true"])
    assert run_exec(url).exit_code == 0
    with pytest.raises(UpgradeRefused) as e:
        run_exec(url)
    assert e.value.status == 404
    with pytest.raises(UpgradeRefused) as e:
        run_exec(url.rsplit("/", 1)[0] + "/" + "0" * 64)
    assert e.value.status == 404
    # A token is good for its own kind only.
    with pytest.raises(UpgradeRefused) as e:
        run_exec(exec_url(env, ctr, ["true"]).replace("/exec/", "/attach/"))
    assert e.value.status == 404


def test_rpc_validation_codes(env, ctr):
    pb, rt = env.pb, env.rt

    def code(call, req):
        with pytest.raises(grpc.RpcError) as e:
            call(req)
        return e.value.code()

    C = grpc.StatusCode
    assert code(rt.Exec, pb.ExecRequest(container_id="nope", cmd=["true"], stdout=True)) == \
        C.NOT_FOUND
    assert code(rt.Exec, pb.ExecRequest(container_id=ctr, cmd=["true"])) == C.INVALID_ARGUMENT
    assert code(rt.Exec, pb.ExecRequest(container_id=ctr, cmd=[], stdout=True)) == \
        C.INVALID_ARGUMENT
    assert code(rt.Exec, pb.ExecRequest(container_id=ctr, cmd=["true"], tty=True, stdout=True,
                                        stderr=True)) == C.INVALID_ARGUMENT
    assert code(rt.Attach, pb.AttachRequest(container_id="nope", stdout=True)) == C.NOT_FOUND
    assert code(rt.PortForward, pb.PortForwardRequest(pod_sandbox_id="nope", port=[80])) == \
        C.NOT_FOUND
    stopped = run(env, container_config(env, "quick", command=["true"]))
    deadline = time.monotonic() + 10
    while status(env, stopped).state != pb.CONTAINER_EXITED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert code(rt.Exec, pb.ExecRequest(container_id=stopped, cmd=["true"], stdout=True)) == \
        C.FAILED_PRECONDITION
    assert code(rt.Attach, pb.AttachRequest(container_id=stopped, stdout=True)) == \
        C.FAILED_PRECONDITION
