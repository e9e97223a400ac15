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


ECHO_SERVER = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
print("ready", flush=True)
def serve(c):
    data = b""
    while not data.endswith(b"\n"):
        d = c.recv(65536)
        if not d:
            break
        data += d
    c.sendall(b"echo:" + data)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


@pytest.fixture
def pod_listener(env):
    """An echo server on 127.0.0.1:8080 inside the pod's network namespace."""
    netns = os.path.join(env.cribd.state, "pods", env.pod, "net")
    p = subprocess.Popen(["nsenter", "--net=" + netns, "/usr/bin/python3", "-c", ECHO_SERVER,
                          "8080"], stdout=subprocess.PIPE)
    assert p.stdout.readline().strip() == b"ready"
    yield 8080
    p.kill()
    p.wait()


def pf_url(e, ports=(8080,)):
    return e.rt.PortForward(e.pb.PortForwardRequest(pod_sandbox_id=e.pod, port=list(ports))).url


def test_port_forward_to_pod_listener(env, pod_listener):
    data, err = port_forward(pf_url(env), pod_listener, b"hello")
    assert data == b"echo:hello" and err == ""
    # Nothing listens on 8081: the error stream says so.
    data, err = port_forward(pf_url(env), 8081, b"x")
    assert data == b"" and "8081" in err


def test_port_forward_many_connections_one_session(env, pod_listener):
    """kubectl port-forward: one session, a stream pair per connection, at once."""
    c = SpdyConn(pf_url(env), ("portforward.k8s.io",))
    pairs = {}
    for i in range(30):
        eid = c.open_stream({"streamtype": "error", "port": "8080", "requestid": str(i)})
        did = c.open_stream({"streamtype": "data", "port": "8080", "requestid": str(i)})
        pairs[did] = (eid, i)
    for did, (eid, i) in pairs.items():
        c.send_data(did, b"conn-%d" % i * 1000, fin=True)
    got, open_ids = {}, set(pairs) | {e for e, _ in pairs.values()}
    while open_ids:
        f = c.read_frame()
        if f.control:
            continue
        if f.stream_id in pairs:
            got[f.stream_id] = got.get(f.stream_id, b"") + f.data
        if f.fin:
            open_ids.discard(f.stream_id)
    c.close()
    for did, (eid, i) in pairs.items():
        assert got[did] == b"echo:" + b"conn-%d" % i * 1000


def test_port_forward_websocket(env, pod_listener):
    # WebSocket channels cannot be half-closed: the line ends the request.
    data, err = ws_client.port_forward(pf_url(env) + "?ports=8080", b"hi\n")
    assert data == b"echo:hi\n" and err == ""


def test_exec_websocket(env, ctr):
    url = exec_url(env, ctr, ["sh", "-c", "cat; echo err >&2; exit 4"], stdin=True)
    out = ws_client.run_exec(url, stdin=b"via ws\n")
    assert out[1] == b"via ws\n" and out[2] == b"err\n"
    st = json.loads(out[3])
    assert st["reason"] == "NonZeroExitCode"
    assert st["details"]["causes"][0]["message"] == "4"
    out = ws_client.run_exec(exec_url(env, ctr, ["echo", "b64"]), protocol="v4.base64.channel.k8s.io")
    assert out[1] == b"b64\n" and json.loads(out[3])["status"] == "Success"


def test_attach_to_container_stdin(env):
    cfg = container_config(env, "att", command=["cat"])
    cfg.stdin = True
    cfg.stdin_once = True
    cid = run(env, cfg)
    url = env.rt.Attach(env.pb.AttachRequest(container_id=cid, stdin=True, stdout=True,
                                             stderr=True)).url
    assert "/attach/" in url
    r = run_exec(url, stdin=b"ping attach\n")
    assert r.stdout == b"ping attach\n"
    assert r.status["status"] == "Success"


def ps_lines(e, cid):
    r = e.rt.ExecSync(e.pb.ExecSyncRequest(container_id=cid, cmd=["ps", "-o", "args"], timeout=10))
    return r.stdout.decode()


def wait_until(pred, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def open_exec(url, streams=("error", "stdout", "stderr")):
    c = SpdyConn(url)
    for s in streams:
        c.open_stream({"streamtype": s})
    for _ in streams:
        assert c.read_frame().type == spdy_client.SYN_REPLY
    return c


def test_client_gone_kills_exec(env, ctr):
    c = open_exec(exec_url(env, ctr, ["sleep", "1234"]))
    assert wait_until(lambda: "sleep 1234" in ps_lines(env, ctr))
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()  # a reset, as from a client that died
    assert wait_until(lambda: "sleep 1234" not in ps_lines(env, ctr)), ps_lines(env, ctr)


def test_stop_container_during_exec_is_prompt(env, ctr):
    c = open_exec(exec_url(env, ctr, ["sleep", "999"]))
    assert wait_until(lambda: "sleep 999" in ps_lines(env, ctr))
    t0 = time.monotonic()
    env.rt.StopContainer(env.pb.StopContainerRequest(container_id=ctr, timeout=1))
    assert time.monotonic() - t0 < 8
    # The session ends too: its process went with the container.
    c.sock.settimeout(20)
    with pytest.raises(EOFError):
        while True:
            c.read_frame()
    c.close()


def test_token_expires(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd(name="ttl", config={"streaming": {"tokenTTLSeconds": 1}}).start()
    try:
        with d.channel() as ch:
            rt = pb_grpc.RuntimeServiceStub(ch)
            cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(name="p", namespace="d",
                                                                     uid="u"))
            pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
            url = rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=pod, port=[80])).url
            time.sleep(1.5)
            with pytest.raises(UpgradeRefused) as e:
                SpdyConn(url, ("portforward.k8s.io",))
            assert e.value.status == 404
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
    finally:
        assert d.stop() == 0


# ---- hostile clients: the connection ends, the daemon serves on ----

def closed_by_server(sock, timeout=10):
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def still_serves(e, cid):
    r = run_exec(exec_url(e, cid, ["echo", "alive"]))
    assert r.stdout == b"alive\n"


def spdy_bomb(c):
    """A header block that inflates to 8 MiB."""
    raw = struct.pack(">I", 1) + struct.pack(">I", 1) + b"x" + struct.pack(">I", 8 * MIB) + \
        b"a" * (8 * MIB)
    z = zlib.compressobj(zdict=spdy_client.DICT)
    block = z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)
    return c.control(spdy_client.SYN_STREAM, 0, struct.pack(">IIH", 1, 0, 0) + block)


@pytest.mark.parametrize("attack", ["garbage", "bomb", "oversized", "bad_version", "truncated"])
def test_hostile_spdy_frames(env, ctr, attack):
    c = SpdyConn(exec_url(env, ctr, ["sleep", "100"]))
    payload = {
        "garbage": b"\xff" * 64,
        "bomb": spdy_bomb(c),
        "oversized": struct.pack(">II", 1, 0xffffff) + b"x" * 1000,
        "bad_version": struct.pack(">HHI", 0x8000 | 2, 1, 10) + b"\0" * 10,
        "truncated": c.control(spdy_client.SYN_STREAM, 0, struct.pack(">II", 1, 0)),
    }[attack]
    c.send_raw(payload)
    if attack == "truncated":
        c.sock.shutdown(socket.SHUT_WR)
    assert closed_by_server(c.sock)
    c.close()
    still_serves(env, ctr)


def test_spdy_unknown_frame_type_is_ignored(env, ctr):
    c = SpdyConn(exec_url(env, ctr, ["echo", "ok"], stderr=False))
    c.send_raw(c.control(0x55, 0, b"whatever"))
    e = c.open_stream({"streamtype": "error"})
    o = c.open_stream({"streamtype": "stdout"})
    out, done = b"", set()
    while len(done) < 2:
        f = c.read_frame()
        if not f.control and f.stream_id == o:
            out += f.data
        if not f.control and f.fin:
            done.add(f.stream_id)
    assert out == b"ok\n" and e in done
    c.close()


@pytest.mark.parametrize("frame", [
    b"\x82\x05hello",                              # unmasked
    b"\x82\xff" + b"\x7f" + b"\xff" * 7 + b"mask",   # a 2^63-byte message
    b"\x83\x80mask",                               # reserved opcode
    b"\xc2\x80mask",                               # RSV1 without an extension
])
def test_hostile_websocket_frames(env, ctr, frame):
    c = ws_client.WsConn(exec_url(env, ctr, ["sleep", "100"]))
    c.sock.sendall(frame)
    assert closed_by_server(c.sock)
    c.close()
    still_serves(env, ctr)


def test_bad_http_heads(env, ctr):
    url = exec_url(env, ctr, ["true"])
    sock, _ = spdy_client.connect(url)
    sock.sendall(b"\x16\x03\x01garbage\r\n\r\n")
    status, _, _ = spdy_client.read_head(sock)
    sock.close()
    assert status == 400
    sock, _ = spdy_client.connect(url)
    try:
        sock.sendall(b"GET /exec/x HTTP/1.1\r\n" + b"X-A: b\r\n" * 5000 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed before the head was all sent
    status, _, _ = spdy_client.read_head(sock)
    sock.close()
    assert status == 431
    still_serves(env, ctr)


# ---- crictl ----

def crictl(e, *args, **kw):
    if not shutil.which("crictl"):
        pytest.skip("crictl is not on PATH")
    return subprocess.run(["crictl", "--runtime-endpoint", e.cribd.endpoint] + list(args),
                          capture_output=True, timeout=60, **kw)


@pytest.mark.parametrize("transport", ["spdy", "websocket"])
def test_crictl_exec(env, ctr, transport):
    r = crictl(env, "exec", "--transport", transport, ctr, "echo", "hi")
    assert r.returncode == 0 and r.stdout == b"hi\n", r
    r = crictl(env, "exec", "--transport", transport, "-i", ctr, "cat", input=b"piped\n")
    assert r.returncode == 0 and r.stdout == b"piped\n", r
    r = crictl(env, "exec", "--transport", transport, ctr, "sh", "-c", "exit 7")
    assert r.returncode != 0 and b"exit code 7" in r.stderr, r


def test_crictl_port_forward(env, pod_listener):
    if not shutil.which("crictl"):
        pytest.skip("crictl is not on PATH")
    p = subprocess.Popen(["crictl", "--runtime-endpoint", env.cribd.endpoint, "port-forward",
                          env.pod, "0:%d" % pod_listener], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        line = p.stdout.readline().decode()
        while line and "Forwarding from" not in line:
            line = p.stdout.readline().decode()
        assert "Forwarding from" in line, line
        port = int(line.split("->")[0].rsplit(":", 1)[1])
        for i in range(3):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"via crictl %d" % i)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                got += d
            s.close()
            assert got == b"echo:via crictl %d" % i
    finally:
        p.kill()
        p.wait()


def test_tls_streaming_server(make_cribd, api, workdir):
    """With tlsCert and tlsKey the URLs are https, sessions run over TLS, and
    a plain-HTTP client gets no upgrade."""
    pb, pb_grpc = api
    cert, key = os.path.join(workdir, "stream.crt"), os.path.join(workdir, "stream.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert], check=True,
                   capture_output=True)
    d = make_cribd(name="tls", config={"streaming": {"tlsCert": cert, "tlsKey": key}}).start()
    server = None
    try:
        with d.channel() as ch:
            rt = pb_grpc.RuntimeServiceStub(ch)
            cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(name="p", namespace="d",
                                                                     uid="tls"))
            pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
            netns = os.path.join(d.state, "pods", pod, "net")
            server = subprocess.Popen(["nsenter", "--net=" + netns, "/usr/bin/python3", "-c",
                                       ECHO_SERVER, "8080"], stdout=subprocess.PIPE)
            assert server.stdout.readline().strip() == b"ready"
            url = rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=pod, port=[8080])).url
            assert url.startswith("https://127.0.0.1:")
            data, err = port_forward(url, 8080, b"over tls\n")
            assert data == b"echo:over tls\n" and err == ""
            # The same server spoken to in plain HTTP: no upgrade, no session.
            url = rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=pod, port=[8080])).url
            with pytest.raises((UpgradeRefused, ConnectionError, OSError)):
                SpdyConn(url.replace("https://", "http://"), ("portforward.k8s.io",))
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
    finally:
        if server:
            server.kill()
            server.wait()
        assert d.stop() == 0
