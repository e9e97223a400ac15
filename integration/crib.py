"""Running a real cribd for the tests: its own root, state dir, socket and CNI
dirs under one temporary directory; stopped by PID; leftovers reported."""

import json
import os
import signal
import socket
import subprocess
import time

import grpc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("CRIB_BUILD", os.path.join(REPO, "build"))
CRIBD = os.path.join(BUILD, "daemon", "cribd")
CNI_BIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"]

# An unbounded wait is a hung test; these are far above what a healthy run needs.
START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 30


def write_cni_conf(conf_dir, plugins=("loopback",), name="crib-test"):
    os.makedirs(conf_dir, exist_ok=True)
    conf = {"cniVersion": "1.0.0", "name": name, "plugins": [{"type": p} for p in plugins]}
    with open(os.path.join(conf_dir, "10-crib-test.conflist"), "w") as f:
        json.dump(conf, f)


class Cribd:
    """One cribd process. Use start(), then stop() (or kill())."""

    def __init__(self, base, config=None, env=None, args=()):
        self.base = base
        self.root = os.path.join(base, "root")
        self.state = os.path.join(base, "state")
        self.socket = os.path.join(base, "crib.sock")
        self.conf_dir = os.path.join(base, "net.d")
        self.config_path = os.path.join(base, "crib.json")
        self.log_path = os.path.join(base, "cribd.log")
        self.env = dict(os.environ, **(env or {}))
        self.args = list(args)
        self.proc = None
        self.certs_d = os.path.join(base, "certs.d")
        os.makedirs(self.certs_d, exist_ok=True)
        cfg = {"cni": {"confDir": self.conf_dir, "binDirs": CNI_BIN_DIRS},
               "registryConfigDirs": [self.certs_d]}
        cfg.update(config or {})
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)

    @property
    def endpoint(self):
        return "unix://" + self.socket

    def command(self):
        return [CRIBD, "--config", self.config_path, "--root", self.root,
                "--state", self.state, "--listen", self.endpoint] + self.args

    def spawn(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=self.log,
                                     env=self.env, stdin=subprocess.DEVNULL)
        return self.proc

    def start(self):
        self.spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cribd exited with %s:\n%s" % (self.proc.returncode, self.logs()))
            if self._answers():
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("cribd did not start within %ss:\n%s" % (START_TIMEOUT_S, self.logs()))

    def _answers(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def run_to_exit(self, timeout=START_TIMEOUT_S):
        """Runs cribd expecting it to exit by itself (a refused start)."""
        self.spawn()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("cribd kept running:\n" + self.logs())
        self.log.close()
        return self.proc.returncode

    def restart_after_crash(self, step):
        """Checks that cribd died at crash point step, then starts it again
        without the crash armed."""
        assert self.proc.wait(10) == 137, self.logs()
        assert "crash point '%s' reached" % step in self.logs()
        self.log.close()
        self.env.pop("CRIB_CRASH_AT", None)
        return self.start()

    def channel(self):
        return grpc.insecure_channel(self.endpoint)

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM and wait; returns the exit code."""
        if not self.proc:
            return None
        self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("cribd ignored SIGTERM for %ss:\n%s" % (timeout, self.logs()))
        self.log.close()
        return code

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.proc:
            self.log.close()

    def logs(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self):
        return self.logs().splitlines()


def mounts_under(path):
    with open("/proc/self/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(path)]


def tree_of(path):
    """Every entry below path, relative, for leftover checks."""
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            out.append(os.path.relpath(os.path.join(dirpath, n), path))
    return sorted(out)
