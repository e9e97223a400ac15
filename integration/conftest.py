import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from crib import REPO, Cribd, mounts_under, write_cni_conf

STUBS = None


def pytest_configure(config):
    """Generates the CRI client stubs from the project's own proto/api.proto."""
    global STUBS
    STUBS = tempfile.mkdtemp(prefix="crib-stubs-")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.join(REPO, "proto"),
                    "--python_out", STUBS, "--grpc_python_out", STUBS,
                    os.path.join(REPO, "proto", "api.proto")], check=True)
    sys.path.insert(0, STUBS)


def pytest_unconfigure(config):
    if STUBS:
        shutil.rmtree(STUBS, ignore_errors=True)


def end_processes_under(base):
    """What a test's cribd started and left when the test failed: containers
    (runc and runsc state under the test's dir), their conmons and pod infra processes,
    ended by the PIDs those record."""
    import glob
    import signal
    for root in glob.glob(os.path.join(base, "*", "state", "runc")):
        out = subprocess.run(["runc", "--root", root, "list", "-q"], capture_output=True, text=True)
        for cid in out.stdout.split():
            subprocess.run(["runc", "--root", root, "delete", "-f", cid], capture_output=True)
    for root in glob.glob(os.path.join(base, "*", "state", "runsc")):
        out = subprocess.run(["runsc", "--root", root, "list", "-quiet"], capture_output=True,
                             text=True)
        for cid in out.stdout.split():
            subprocess.run(["runsc", "--root", root, "kill", cid, "KILL"], capture_output=True)
            subprocess.run(["runsc", "--root", root, "delete", "-force", cid], capture_output=True)
    pidfiles = glob.glob(os.path.join(base, "*", "state", "containers", "*", "conmon.pid"))
    pidfiles += glob.glob(os.path.join(base, "*", "state", "gvisor", "*", "conmon.pid"))
    pidfiles += glob.glob(os.path.join(base, "*", "state", "pods", "*", "infra"))
    # crib-runsc's waiters of containers that joined a gVisor sandbox.
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                argv = f.read().split(b"\0")
            if argv[0].endswith(b"crib-runsc") and any(base.encode() in a for a in argv):
                os.kill(int(path.split("/")[2]), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass
    for path in pidfiles:
        try:
            pid = int(open(path).read().split()[0])
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv0 = f.read().split(b"\0")[0]
            if argv0.endswith((b"conmon", b"crib-infra")):
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


@pytest.fixture
def workdir():
    """A private directory for one test; it must be left with no mounts in it."""
    base = tempfile.mkdtemp(prefix="crib-it-")
    yield base
    end_processes_under(base)
    left = mounts_under(base)
    for m in reversed(left):
        subprocess.run(["umount", "-l", m], check=False)
    shutil.rmtree(base, ignore_errors=True)
    assert not left, "test left mounts behind: %s" % left


@pytest.fixture
def make_cribd(workdir):
    """Makes cribd instances in the test's dir; every one is stopped by PID at
    the end, and a test fails if one of them died on its own."""
    made = []

    def make(name="a", config=None, env=None, args=(), cni=True):
        base = os.path.join(workdir, name)
        os.makedirs(base, exist_ok=True)
        d = Cribd(base, config=config, env=env, args=args)
        if cni:
            write_cni_conf(d.conf_dir)
        else:
            os.makedirs(d.conf_dir, exist_ok=True)
        made.append(d)
        return d

    yield make
    for d in made:
        d.kill()


@pytest.fixture
def cribd(make_cribd):
    d = make_cribd().start()
    yield d
    code = d.stop()
    assert code == 0, "cribd exited with %s:\n%s" % (code, d.logs())


@pytest.fixture
def api():
    import api_pb2
    import api_pb2_grpc
    return api_pb2, api_pb2_grpc


@pytest.fixture
def runtime(cribd, api):
    pb, pb_grpc = api
    with cribd.channel() as ch:
        yield pb, pb_grpc.RuntimeServiceStub(ch)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A TLS registry of the test module's own, on a free loopback port."""
    from registry import Registry
    reg = Registry(str(tmp_path_factory.mktemp("registry"))).start()
    yield reg
    reg.stop()


@pytest.fixture
def hostile():
    from registry import Hostile
    h = Hostile().start()
    yield h
    h.stop()


@pytest.fixture
def images(cribd, api):
    pb, pb_grpc = api
    with cribd.channel() as ch:
        yield pb, pb_grpc.ImageServiceStub(ch)
