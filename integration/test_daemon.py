"""cribd as a process: one instance per root, the store across restarts and
crashes, refusing a corrupt database, its socket, flags and logs."""

import json
import os
import socket
import sqlite3
import subprocess

import grpc
import pytest

from crib import CRIBD


def version(d, api):
    pb, pb_grpc = api
    with d.channel() as ch:
        return pb_grpc.RuntimeServiceStub(ch).Version(pb.VersionRequest(), timeout=10)


def test_second_instance_on_same_root_is_refused(cribd, make_cribd):
    other = make_cribd("b")
    other.root = cribd.root
    assert other.run_to_exit() != 0
    assert "another cribd (pid %d) is running on root %s" % (cribd.proc.pid, cribd.root) in other.logs()


def test_second_instance_on_same_socket_is_refused(cribd, make_cribd, api):
    other = make_cribd("b")
    other.socket = cribd.socket
    assert other.run_to_exit() != 0
    assert "another server is listening on %s" % cribd.socket in other.logs()
    assert version(cribd, api).runtime_name == "crib"


def test_stale_socket_is_replaced(make_cribd, api):
    d = make_cribd()
    os.makedirs(os.path.dirname(d.socket), exist_ok=True)
    s = socket.socket(socket.AF_UNIX)
    s.bind(d.socket)
    s.close()  # bound, never listened: what a killed server leaves
    d.start()
    assert version(d, api).runtime_name == "crib"
    assert d.stop() == 0


def test_a_file_in_the_sockets_place_is_not_deleted(make_cribd):
    d = make_cribd()
    with open(d.socket, "w") as f:
        f.write("precious")
    assert d.run_to_exit() != 0
    assert "is not a socket" in d.logs()
    with open(d.socket) as f:
        assert f.read() == "precious"


def test_store_survives_kill_9(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd().start()
    with d.channel() as ch:
        pb_grpc.RuntimeServiceStub(ch).UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest(
            runtime_config=pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr="10.9.0.0/16"))))
    d.kill()
    d.start()  # the stale socket and lock of the killed one do not stop it
    with d.channel() as ch:
        info = pb_grpc.RuntimeServiceStub(ch).Status(pb.StatusRequest(verbose=True)).info
    assert info["podCIDR"] == "10.9.0.0/16"
    assert d.stop() == 0


def test_garbage_database_is_refused_and_kept(make_cribd):
    d = make_cribd()
    os.makedirs(d.root)
    db = os.path.join(d.root, "crib.db")
    junk = b"not a database at all " * 500
    with open(db, "wb") as f:
        f.write(junk)
    assert d.run_to_exit() == 1
    assert "database %s is not usable" % db in d.logs()
    with open(db, "rb") as f:
        assert f.read() == junk, "a refused database must not be touched"


def test_corrupt_page_fails_integrity_check(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd().start()
    assert d.stop() == 0
    db = os.path.join(d.root, "crib.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("CREATE TABLE filler(x TEXT)")
    con.execute("CREATE INDEX filler_x ON filler(x)")
    con.executemany("INSERT INTO filler VALUES (?)", [("row %d" % i * 20,) for i in range(400)])
    con.commit()
    con.close()
    with open(db, "r+b") as f:  # scribble over the middle of the index pages
        size = os.path.getsize(db)
        f.seek(size - 4096 * 3 + 100)
        f.write(b"\x00\xff" * 1500)
    assert d.run_to_exit() == 1
    logs = d.logs()
    assert db in logs
    assert "integrity check" in logs or "not usable" in logs


def test_crash_during_migration_then_restart(make_cribd, api):
    d = make_cribd(env={"CRIB_CRASH_AT": "store-migrate-1"})
    assert d.run_to_exit() == 137
    assert "crash point 'store-migrate-1' reached" in d.logs()
    db = os.path.join(d.root, "crib.db")
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 0
    assert not con.execute("SELECT name FROM sqlite_master WHERE name='settings'").fetchall()
    con.close()
    d.env.pop("CRIB_CRASH_AT")
    d.start()
    assert version(d, api).runtime_name == "crib"
    assert d.stop() == 0
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] >= 1
    con.close()


def test_crash_at_pod_cidr_commit_keeps_old_value(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd(env={"CRIB_CRASH_AT": "podcidr-commit"}).start()
    with d.channel() as ch:
        with pytest.raises(grpc.RpcError):
            pb_grpc.RuntimeServiceStub(ch).UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest(
                runtime_config=pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr="10.8.0.0/16"))))
    d.restart_after_crash("podcidr-commit")
    with d.channel() as ch:
        info = pb_grpc.RuntimeServiceStub(ch).Status(pb.StatusRequest(verbose=True)).info
    assert "podCIDR" not in info
    assert d.stop() == 0


def test_bad_config_is_refused_naming_file_and_key(make_cribd):
    d = make_cribd(config={"workerz": 3})
    assert d.run_to_exit() == 2
    assert d.config_path in d.logs()
    assert '"workerz"' in d.logs()


def test_config_dropins_apply_in_name_order(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd()
    os.makedirs(d.config_path + ".d")
    with open(os.path.join(d.config_path + ".d", "20-late.json"), "w") as f:
        json.dump({"cgroupDriver": "systemd"}, f)
    with open(os.path.join(d.config_path + ".d", "10-early.json"), "w") as f:
        json.dump({"cgroupDriver": "cgroupfs", "workers": 2}, f)
    d.start()
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        assert rt.RuntimeConfig(pb.RuntimeConfigRequest()).linux.cgroup_driver == pb.SYSTEMD
        cfg = json.loads(rt.Status(pb.StatusRequest(verbose=True)).info["config"])
    assert cfg["workers"] == 2
    assert d.stop() == 0


def test_missing_explicit_config_is_an_error(make_cribd):
    d = make_cribd()
    os.unlink(d.config_path)
    assert d.run_to_exit() == 2
    assert d.config_path in d.logs()


def test_runs_with_no_config_file_at_all(make_cribd, api):
    d = make_cribd()
    # Only flags: the built-in defaults for everything else.
    d.command = lambda: [CRIBD, "--root", d.root, "--state", d.state, "--listen", d.socket]
    d.start()
    assert version(d, api).runtime_name == "crib"
    assert d.stop() == 0


def test_json_log_format(make_cribd, api):
    d = make_cribd(args=["--log-format", "json", "--log-level", "debug"]).start()
    version(d, api)
    assert d.stop() == 0
    records = [json.loads(l) for l in d.log_lines() if l.startswith("{")]
    assert records, d.logs()
    calls = [r for r in records if r.get("rpc") == "Version"]
    assert calls and calls[0]["code"] == "0" and calls[0]["level"] == "debug"
    assert all({"time", "level", "msg"} <= r.keys() for r in records)


def test_help_version_and_bad_flags():
    out = subprocess.run([CRIBD, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--log-format" in out.stdout
    out = subprocess.run([CRIBD, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("cribd 0.")
    out = subprocess.run([CRIBD, "--bogus"], capture_output=True, text=True)
    assert out.returncode == 2
    out = subprocess.run([CRIBD, "--log-level", "loud", "--root", "/tmp/crib-x-never"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--log-level" in out.stderr
    assert not os.path.exists("/tmp/crib-x-never")
