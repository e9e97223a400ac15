"""Containers under conmon and runc: lifecycle, exit codes, logs, exec,
users, mounts, security, resources, and what RemovePodSandbox and RemoveImage
do with them. Images are Debian's busybox-static, served by a real registry."""

import json
import os
import subprocess
import time

import grpc
import pytest

from crib import mounts_under
from registry import busybox_image


@pytest.fixture(scope="module")
def busybox(registry):
    img = busybox_image()
    registry.push("test/busybox", "1", img)
    return "%s/test/busybox:1" % registry.host, img


@pytest.fixture
def env(cribd, registry, busybox, api, workdir):
    """A running cribd with the busybox image pulled and one ready pod."""
    pb, pb_grpc = api
    registry.write_hosts(cribd.certs_d)
    ch = cribd.channel()
    rt, img = pb_grpc.RuntimeServiceStub(ch), pb_grpc.ImageServiceStub(ch)
    ref, image = busybox
    img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)))
    logs = os.path.join(workdir, "logs")
    pod_cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="pod", namespace="default", uid="u1", attempt=0),
        hostname="pod-host", log_directory=logs)
    pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pod_cfg)).pod_sandbox_id

    class Env:
        pass
    e = Env()
    e.pb, e.rt, e.img, e.ref, e.image, e.pod, e.pod_cfg, e.cribd = pb, rt, img, ref, image, pod, pod_cfg, cribd
    e.logs, e.workdir = logs, workdir
    yield e
    for c in rt.ListContainers(pb.ListContainersRequest()).containers:
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c.id))
    for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items:
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p.id))
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p.id))
    ch.close()


def container_config(e, name="c", command=None, args=None, **kw):
    pb = e.pb
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name, attempt=kw.pop("attempt", 0)),
                             image=pb.ImageSpec(image=kw.pop("image", e.ref)),
                             log_path=kw.pop("log_path", name + ".log"),
                             labels=kw.pop("labels", {"app": name}))
    if command is not None:
        cfg.command.extend(command)
    if args is not None:
        cfg.args.extend(args)
    for k, v in kw.pop("envs", {}).items():
        cfg.envs.add(key=k, value=v.encode())
    if "working_dir" in kw:
        cfg.working_dir = kw.pop("working_dir")
    for m in kw.pop("mounts", []):
        cfg.mounts.add(**m)
    sc = cfg.linux.security_context
    for key in ("privileged", "readonly_rootfs", "no_new_privs", "run_as_username"):
        if key in kw:
            setattr(sc, key, kw.pop(key))
    if "run_as_user" in kw:
        sc.run_as_user.value = kw.pop("run_as_user")
    if "run_as_group" in kw:
        sc.run_as_group.value = kw.pop("run_as_group")
    if "supplemental_groups" in kw:
        sc.supplemental_groups.extend(kw.pop("supplemental_groups"))
    if "groups_policy" in kw:
        sc.supplemental_groups_policy = kw.pop("groups_policy")
    if "cap_add" in kw:
        sc.capabilities.add_capabilities.extend(kw.pop("cap_add"))
    if "cap_drop" in kw:
        sc.capabilities.drop_capabilities.extend(kw.pop("cap_drop"))
    if "seccomp" in kw:
        sc.seccomp.CopyFrom(kw.pop("seccomp"))
    if "pid" in kw:
        sc.namespace_options.pid = kw.pop("pid")
    if "memory" in kw:
        cfg.linux.resources.memory_limit_in_bytes = kw.pop("memory")
    assert not kw, kw
    return cfg


def create(e, cfg):
    return e.rt.CreateContainer(e.pb.CreateContainerRequest(
        pod_sandbox_id=e.pod, config=cfg, sandbox_config=e.pod_cfg)).container_id


def status(e, cid):
    return e.rt.ContainerStatus(e.pb.ContainerStatusRequest(container_id=cid)).status


def run(e, cfg):
    cid = create(e, cfg)
    e.rt.StartContainer(e.pb.StartContainerRequest(container_id=cid))
    return cid


def wait_exited(e, cid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = status(e, cid)
        if st.state == e.pb.CONTAINER_EXITED:
            return st
        time.sleep(0.05)
    raise AssertionError("container %s did not exit" % cid)


def exec_sync(e, cid, *cmd, timeout=10):
    r = e.rt.ExecSync(e.pb.ExecSyncRequest(container_id=cid, cmd=list(cmd), timeout=timeout))
    return r.exit_code, r.stdout.decode(), r.stderr.decode()


def sleeper(e, name="sleeper", **kw):
    return run(e, container_config(e, name, command=["sleep", "1000"], **kw))


def test_lifecycle_status_list_logs_and_cleanup(env):
    e, pb = env, env.pb
    cfg = container_config(e, "web", command=["sh", "-c"],
                           args=["echo hello; echo oops >&2; exec sleep 1000"])
    cid = create(e, cfg)
    assert len(cid) == 64
    st = status(e, cid)
    assert st.state == pb.CONTAINER_CREATED and st.metadata.name == "web"
    assert st.image.image == e.ref and "@sha256:" in st.image_ref
    assert st.image_id == e.image.id and st.created_at > 0 and st.started_at == 0
    e.rt.StartContainer(pb.StartContainerRequest(container_id=cid))
    st = status(e, cid)
    assert st.state == pb.CONTAINER_RUNNING and st.started_at >= st.created_at
    assert st.log_path == os.path.join(e.logs, "web.log")
    # The log is in the CRI format: time, stream, tag, line.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = open(st.log_path).read().splitlines()
        if len(lines) >= 2:
            break
        time.sleep(0.05)
    streams = sorted((ln.split(" ", 3)[1], ln.split(" ", 3)[3]) for ln in lines)
    assert streams == [("stderr", "oops"), ("stdout", "hello")]
    # List and its filters.
    ids = lambda f=None: [c.id for c in e.rt.ListContainers(pb.ListContainersRequest(filter=f)).containers]
    assert ids() == [cid]
    assert ids(pb.ContainerFilter(id=cid[:10])) == [cid]
    assert ids(pb.ContainerFilter(pod_sandbox_id=e.pod)) == [cid]
    assert ids(pb.ContainerFilter(state=pb.ContainerStateValue(state=pb.CONTAINER_RUNNING))) == [cid]
    assert ids(pb.ContainerFilter(state=pb.ContainerStateValue(state=pb.CONTAINER_EXITED))) == []
    assert ids(pb.ContainerFilter(label_selector={"app": "web"})) == [cid]
    assert ids(pb.ContainerFilter(label_selector={"app": "db"})) == []
    streamed = [c.id for m in e.rt.StreamContainers(pb.StreamContainersRequest()) for c in m.containers]
    assert streamed == [cid]
    # The pod's hostname, and the merged rootfs: the top layer hides a base file.
    assert exec_sync(e, cid, "hostname") == (0, "pod-host\n", "")
    assert exec_sync(e, cid, "cat", "/etc/motd")[1] == "from the top layer\n"
    assert exec_sync(e, cid, "ls", "/etc/hidden")[0] != 0
    # Stop: sleep as PID 1 ignores SIGTERM, so SIGKILL ends it after the timeout.
    t = time.monotonic()
    e.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1))
    assert 0.9 < time.monotonic() - t < 10
    st = status(e, cid)
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 137 and st.finished_at >= st.started_at
    e.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1))
    bundle = os.path.join(e.cribd.state, "containers", cid)
    assert os.path.isdir(bundle)
    e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
    assert ids() == [] and not os.path.exists(bundle)
    assert not os.path.exists(os.path.join(e.cribd.root, "containers", cid))
    assert not mounts_under(os.path.join(e.cribd.state, "containers"))
    # Unknown IDs: stop and remove are idempotent, status is NOT_FOUND.
    e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
    e.rt.StopContainer(pb.StopContainerRequest(container_id="f" * 64))
    with pytest.raises(grpc.RpcError) as ei:
        status(e, cid)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND


def test_exit_codes_reasons_and_restart_states(env):
    e, pb = env, env.pb
    ok = run(e, container_config(e, "ok", command=["true"]))
    bad = run(e, container_config(e, "bad", command=["sh", "-c", "exit 3"]))
    st = wait_exited(e, ok)
    assert (st.exit_code, st.reason) == (0, "Completed")
    st = wait_exited(e, bad)
    assert (st.exit_code, st.reason) == (3, "Error")
    with pytest.raises(grpc.RpcError) as ei:
        e.rt.StartContainer(pb.StartContainerRequest(container_id=bad))
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # A missing binary: runc finds out at create, and nothing is left behind.
    with pytest.raises(grpc.RpcError) as ei:
        create(e, container_config(e, "nope", command=["/no/such/binary"]))
    assert "/no/such/binary" in ei.value.details() and "no such file" in ei.value.details()
    assert len(os.listdir(os.path.join(e.cribd.state, "containers"))) == 2
    # The same name and attempt is taken; the next attempt is not.
    with pytest.raises(grpc.RpcError) as ei:
        create(e, container_config(e, "ok", command=["true"]))
    assert ei.value.code() == grpc.StatusCode.ALREADY_EXISTS and ok in ei.value.details()
    create(e, container_config(e, "ok", command=["true"], attempt=1))


def test_exec_sync_output_exit_codes_and_timeout(env):
    e, pb = env, env.pb
    cid = sleeper(e)
    assert exec_sync(e, cid, "sh", "-c", "echo out; echo err >&2; exit 7") == (7, "out\n", "err\n")
    big = exec_sync(e, cid, "sh", "-c", "dd if=/dev/zero bs=1024 count=3072 2>/dev/null | wc -c")
    assert big[1].strip() == str(3 << 20)
    t = time.monotonic()
    with pytest.raises(grpc.RpcError) as ei:
        exec_sync(e, cid, "sleep", "30", timeout=1)
    assert ei.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - t < 10
    # The timed-out process does not linger in the container, not even as a zombie.
    ps = exec_sync(e, cid, "ps", "-o", "stat,args")[1].splitlines()
    assert not [p for p in ps if "sleep 30" in p or p.startswith("Z")], ps
    with pytest.raises(grpc.RpcError) as ei:
        exec_sync(e, cid)
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    e.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0))
    with pytest.raises(grpc.RpcError) as ei:
        exec_sync(e, cid, "true")
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_args_env_working_dir_and_image_defaults(env):
    e = env
    cid = run(e, container_config(e, "envs", command=["sh", "-c"], args=["env; pwd; sleep 1000"],
                                  envs={"FOO": "bar", "IMAGE_ENV": "overridden"}, working_dir="/tmp"))
    out = exec_sync(e, cid, "env")[1].splitlines()
    assert "FOO=bar" in out and "IMAGE_ENV=overridden" in out and "PATH=/bin" in out
    assert "HOSTNAME=pod-host" in out
    assert exec_sync(e, cid, "pwd")[1] == "/tmp\n"
    # No command: the image's Cmd runs (sh, which exits at once without stdin).
    plain = run(e, container_config(e, "plain"))
    assert wait_exited(e, plain).exit_code == 0


def test_users_groups_and_policies(env):
    e, pb = env, env.pb
    by_name = sleeper(e, "alice", run_as_username="alice")
    assert exec_sync(e, by_name, "id")[1].strip() == \
        "uid=1000(alice) gid=1000(alice) groups=44(video),50(extra),1000(alice)"
    user = status(e, by_name).user.linux
    assert (user.uid, user.gid, list(user.supplemental_groups)) == (1000, 1000, [44, 50, 1000])
    strict = sleeper(e, "strict", run_as_user=1000, run_as_group=50, supplemental_groups=[7],
                     groups_policy=pb.Strict)
    user = status(e, strict).user.linux
    assert (user.uid, user.gid, list(user.supplemental_groups)) == (1000, 50, [7, 50])
    assert exec_sync(e, strict, "id", "-G")[1].split() == ["50", "7"]
    with pytest.raises(grpc.RpcError) as ei:
        create(e, container_config(e, "ghost", command=["true"], run_as_username="ghost"))
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "ghost" in ei.value.details()
    with pytest.raises(grpc.RpcError) as ei:
        create(e, container_config(e, "group-only", command=["true"], run_as_group=50))
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "run_as_group" in ei.value.details()


def test_mounts_readonly_rootfs_and_propagation(env):
    e, pb = env, env.pb
    host = os.path.join(e.workdir, "vol")
    os.makedirs(host)
    with open(os.path.join(host, "data"), "w") as f:
        f.write("from the host\n")
    made = os.path.join(e.workdir, "made-by-crib")
    cid = sleeper(e, "mounts", readonly_rootfs=True, mounts=[
        {"container_path": "/vol", "host_path": host},
        {"container_path": "/ro", "host_path": host, "readonly": True},
        {"container_path": "/new", "host_path": made}])
    assert exec_sync(e, cid, "cat", "/vol/data")[1] == "from the host\n"
    assert exec_sync(e, cid, "touch", "/vol/written")[0] == 0
    assert os.path.exists(os.path.join(host, "written"))
    assert exec_sync(e, cid, "touch", "/ro/nope")[0] != 0
    assert exec_sync(e, cid, "touch", "/etc/nope")[0] != 0, "the rootfs is read-only"
    assert exec_sync(e, cid, "touch", "/dev/shm/ok")[0] == 0
    assert os.path.isdir(made)
    mounts = {m.container_path: m for m in status(e, cid).mounts}
    assert mounts["/ro"].readonly and not mounts["/vol"].readonly


def test_capabilities_privileged_and_seccomp(env):
    e, pb = env, env.pb

    def cap_eff(cid):
        for line in exec_sync(e, cid, "cat", "/proc/self/status")[1].splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    default = sleeper(e, "default")
    # No security context at all: no seccomp filter, as the peers run it.
    status = exec_sync(e, default, "cat", "/proc/self/status")[1]
    assert "Seccomp:\t0" in status, status
    CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_CHOWN = 12, 21, 0
    caps = cap_eff(default)
    assert caps & (1 << CAP_CHOWN) and not caps & (1 << CAP_NET_ADMIN)
    added = sleeper(e, "added", cap_add=["NET_ADMIN"], cap_drop=["CHOWN"])
    caps = cap_eff(added)
    assert caps & (1 << CAP_NET_ADMIN) and not caps & (1 << CAP_CHOWN)
    priv = sleeper(e, "priv", privileged=True)
    assert cap_eff(priv) & (1 << CAP_SYS_ADMIN)
    # RuntimeDefault seccomp refuses unshare even with CAP_SYS_ADMIN... not granted here.
    rd = sleeper(e, "rd", seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault))
    assert exec_sync(e, rd, "unshare", "-U", "true")[0] != 0
    unconfined = sleeper(e, "unconf", seccomp=pb.SecurityProfile(
        profile_type=pb.SecurityProfile.Unconfined))
    assert exec_sync(e, unconfined, "unshare", "-U", "true")[0] == 0
    # A Localhost profile that forbids sethostname.
    profile = os.path.join(e.workdir, "no-sethostname.json")
    with open(profile, "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}, f)
    local = sleeper(e, "local", cap_add=["SYS_ADMIN"], seccomp=pb.SecurityProfile(
        profile_type=pb.SecurityProfile.Localhost, localhost_ref=profile))
    code, _, err = exec_sync(e, local, "hostname", "other")
    assert code != 0 and "not permitted" in err.lower()
    # Privileged runs unconfined: the same profile is ignored, not refused.
    priv_local = sleeper(e, "priv-local", privileged=True, seccomp=pb.SecurityProfile(
        profile_type=pb.SecurityProfile.Localhost, localhost_ref=profile))
    assert exec_sync(e, priv_local, "hostname", "other")[0] == 0
    # Missing and broken profiles fail CreateContainer, naming the file.
    bad = os.path.join(e.workdir, "bad.json")
    with open(bad, "w") as f:
        f.write('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["nosuchcall"], '
                '"action": "SCMP_ACT_ERRNO"}]}')
    for path, code in ((os.path.join(e.workdir, "missing.json"), grpc.StatusCode.NOT_FOUND),
                       (bad, grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as ei:
            create(e, container_config(e, "p-" + os.path.basename(path), command=["true"],
                                       seccomp=pb.SecurityProfile(
                                           profile_type=pb.SecurityProfile.Localhost,
                                           localhost_ref=path)))
        assert ei.value.code() == code and path in ei.value.details()
    assert not [d for d in os.listdir(os.path.join(e.cribd.state, "containers"))
                if d not in {c.id for c in e.rt.ListContainers(pb.ListContainersRequest()).containers}]


def test_update_resources_and_reopen_log(env):
    e, pb = env, env.pb
    cid = sleeper(e, "res", memory=64 << 20)
    pid = json.loads(e.rt.ContainerStatus(pb.ContainerStatusRequest(
        container_id=cid, verbose=True)).info["info"])["pid"]
    cg = [ln.split(":", 2)[2] for ln in open("/proc/%d/cgroup" % pid).read().splitlines()
          if ":memory:" in ln or ln.startswith("0::")][0]
    root = "/sys/fs/cgroup/memory" if os.path.isdir("/sys/fs/cgroup/memory") else "/sys/fs/cgroup"
    knob = "memory.limit_in_bytes" if root.endswith("memory") else "memory.max"
    read = lambda: int(open(os.path.join(root + cg, knob)).read())
    assert read() == 64 << 20
    e.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=pb.LinuxContainerResources(memory_limit_in_bytes=128 << 20)))
    assert read() == 128 << 20
    assert status(e, cid).resources.linux.memory_limit_in_bytes == 128 << 20
    # The kubelet rotates the log: rename, then ReopenContainerLog.
    talker = run(e, container_config(e, "talker", command=["sh", "-c"],
                                     args=["while true; do echo tick; sleep 0.1; done"]))
    log = status(e, talker).log_path
    time.sleep(0.3)
    os.rename(log, log + ".1")
    e.rt.ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=talker))
    assert os.path.exists(log), "the new log exists once ReopenContainerLog returns"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not os.path.getsize(log):
        time.sleep(0.05)
    assert "tick" in open(log).read()


def test_pod_removal_removes_containers_and_images_in_use_stay(env):
    e, pb = env, env.pb
    cid = sleeper(e)
    fs = e.img.ImageFsInfo(pb.ImageFsInfoRequest())
    assert fs.container_filesystems[0].inodes_used.value > 0
    with pytest.raises(grpc.RpcError) as ei:
        e.img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=e.ref)))
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    e.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=e.pod))
    assert status(e, cid).state == pb.CONTAINER_EXITED
    e.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=e.pod))
    assert not e.rt.ListContainers(pb.ListContainersRequest()).containers
    assert not mounts_under(e.cribd.state)
    e.img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=e.ref)))
    # A stopped pod takes no new containers.
    with pytest.raises(grpc.RpcError) as ei:
        create(e, container_config(e, "late", command=["true"]))
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND


def test_running_containers_survive_a_cribd_restart(env):
    """kill -9 of cribd: five running containers stay running and stoppable, and
    an exit that happens while cribd is down is recorded with its code."""
    e, pb = env, env.pb
    running = [sleeper(e, "s%d" % i) for i in range(5)]
    late = run(e, container_config(e, "late", command=["sh", "-c", "sleep 1; exit 5"]))
    e.cribd.proc.kill()
    e.cribd.proc.wait()
    time.sleep(1.5)  # "late" exits while cribd is down
    e.cribd.start()
    # A channel of its own: the env's still holds the dead connection.
    with grpc.insecure_channel(e.cribd.endpoint,
                               options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        import api_pb2_grpc
        rt = api_pb2_grpc.RuntimeServiceStub(ch)
        for cid in running:
            st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid)).status
            assert st.state == pb.CONTAINER_RUNNING
        r = rt.ExecSync(pb.ExecSyncRequest(container_id=running[0], cmd=["echo", "still here"],
                                           timeout=5))
        assert r.stdout == b"still here\n"
        st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=late)).status
        assert (st.state, st.exit_code, st.reason) == (pb.CONTAINER_EXITED, 5, "Error")
        for cid in running:
            rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0))
            st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid)).status
            assert (st.state, st.exit_code) == (pb.CONTAINER_EXITED, 137)
            rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=late))


def test_pod_shared_pid_namespace_has_crib_infra_as_init(env):
    e, pb = env, env.pb
    cfg = pb.PodSandboxConfig()
    cfg.CopyFrom(e.pod_cfg)
    cfg.metadata.name = "shared"
    cfg.linux.security_context.namespace_options.pid = pb.POD
    e.pod = e.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
    e.pod_cfg = cfg
    infra = open(os.path.join(e.cribd.state, "pods", e.pod, "infra")).read().split()[0]
    assert open("/proc/%s/comm" % infra).read().strip() == "crib-infra"
    a = sleeper(e, "a", pid=pb.POD)
    b = run(e, container_config(e, "b", command=["sh", "-c", "sleep 2000"], pid=pb.POD))
    ps = exec_sync(e, b, "ps")[1]
    assert "sleep 1000" in ps and "sleep 2000" in ps
    assert exec_sync(e, a, "cat", "/proc/1/comm")[1] == "crib-infra\n"
    # Its init reaps what is orphaned to it, so no zombie stays.
    exec_sync(e, a, "sh", "-c", "sleep 0.1 &")
    time.sleep(0.3)
    assert " Z " not in exec_sync(e, a, "ps", "-o", "pid,stat,comm")[1]
    e.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=e.pod))
    deadline = time.monotonic() + 5  # the node's init reaps it
    while os.path.exists("/proc/%s" % infra) and time.monotonic() < deadline:
        assert open("/proc/%s/stat" % infra).read().split(")")[1].split()[0] in "ZX"
        time.sleep(0.05)
    assert not os.path.exists("/proc/%s" % infra)
    assert status(e, a).state == pb.CONTAINER_EXITED


def test_stop_right_after_start_is_not_lost(env):
    """An init ignores signals it has no handler for yet: a SIGTERM sent just
    after the start is sent again once the process handles it."""
    e, pb = env, env.pb
    cid = run(e, container_config(e, "trap", command=["sh", "-c"],
                                  args=["sleep 0.3; trap 'exit 42' TERM; while true; do sleep 0.05; done"]))
    t = time.monotonic()
    e.rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=30))
    assert time.monotonic() - t < 5
    assert status(e, cid).exit_code == 42


def test_recursive_read_only_mounts(env):
    e, pb = env, env.pb
    host = os.path.join(e.workdir, "rro")
    sub = os.path.join(host, "sub")
    os.makedirs(sub)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", sub], check=True)
    try:
        plain = sleeper(e, "ro", mounts=[{"container_path": "/v", "host_path": host, "readonly": True}])
        rro = sleeper(e, "rro", mounts=[{"container_path": "/v", "host_path": host, "readonly": True,
                                         "recursive_read_only": True}])
        assert exec_sync(e, plain, "touch", "/v/sub/f")[0] == 0, "a plain ro bind leaves submounts writable"
        assert exec_sync(e, rro, "touch", "/v/sub/f2")[0] != 0
        assert exec_sync(e, rro, "touch", "/v/f3")[0] != 0
        assert exec_sync(e, rro, "cat", "/v/sub/f")[0] == 0
        assert status(e, rro).mounts[0].recursive_read_only
        # The read-only copy lives in the container's mount namespace only, so
        # the host path is not kept busy on the node.
        assert not [m for m in mounts_under(os.path.join(e.cribd.state, "containers")) if "/rro/" in m]
        # The host keeps its own mount writable.
        open(os.path.join(sub, "host-writes"), "w").close()
        for bad in ({"readonly": False}, {"propagation": pb.PROPAGATION_HOST_TO_CONTAINER}):
            m = {"container_path": "/v", "host_path": host, "readonly": True, "recursive_read_only": True}
            m.update(bad)
            with pytest.raises(grpc.RpcError) as ei:
                create(e, container_config(e, "bad-rro-%d" % len(str(bad)), command=["true"], mounts=[m]))
            assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        for cid in (plain, rro):
            e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
        assert not mounts_under(os.path.join(e.cribd.state, "containers"))
    finally:
        subprocess.run(["umount", sub], check=False)


def userns_pod(e, mode, uids=(), gids=()):
    pb = e.pb
    cfg = pb.PodSandboxConfig()
    cfg.CopyFrom(e.pod_cfg)
    cfg.metadata.name = "userns-%d-%d" % (mode, len(uids))
    u = cfg.linux.security_context.namespace_options.userns_options
    u.mode = mode
    for c, h, n in uids:
        u.uids.add(container_id=c, host_id=h, length=n)
    for c, h, n in gids:
        u.gids.add(container_id=c, host_id=h, length=n)
    return cfg


def test_user_namespace_pod_with_idmapped_rootfs_and_volumes(env):
    e, pb = env, env.pb
    HOST = 200000
    # The pod's root (HOST on the node) must reach the bundle under cribd's state dir.
    d = e.cribd.state
    while d != "/":
        os.chmod(d, os.stat(d).st_mode | 0o111)
        d = os.path.dirname(d)
    cfg = userns_pod(e, pb.POD, [(0, HOST, 65536)], [(0, HOST, 65536)])
    e.pod = e.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
    e.pod_cfg = cfg
    st = e.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=e.pod)).status
    u = st.linux.namespaces.options.userns_options
    assert u.mode == pb.POD and (u.uids[0].host_id, u.uids[0].length) == (HOST, 65536)
    vol = os.path.join(e.workdir, "uvol")
    os.makedirs(vol)
    open(os.path.join(vol, "by-host-root"), "w").close()
    cid = sleeper(e, "u", mounts=[{"container_path": "/vol", "host_path": vol}])
    assert exec_sync(e, cid, "cat", "/proc/self/uid_map")[1].split() == ["0", str(HOST), "65536"]
    # The image's files are root's inside (idmapped layers), and so is the volume.
    assert exec_sync(e, cid, "stat", "-c", "%u:%g", "/bin/busybox", "/etc", "/",
                     "/vol/by-host-root")[1].split() == ["0:0"] * 4
    assert exec_sync(e, cid, "touch", "/written", "/vol/by-container-root") == (0, "", "")
    upper = os.path.join(e.cribd.root, "containers", cid, "upper", "written")
    assert (os.stat(upper).st_uid, os.stat(upper).st_gid) == (HOST, HOST)
    assert os.stat(os.path.join(vol, "by-container-root")).st_uid == 0
    assert not [m for m in mounts_under(os.path.join(e.cribd.state, "containers")) if "/copies/" in m or "/idmap/" in m]
    e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
    e.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=e.pod))
    e.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=e.pod))


def test_user_namespace_modes_that_are_refused(env):
    e, pb = env, env.pb
    bad = [userns_pod(e, pb.CONTAINER), userns_pod(e, pb.TARGET),
           userns_pod(e, pb.POD, [(0, 1000, 100), (0, 2000, 100)], [(0, 1000, 100), (0, 2000, 100)]),
           userns_pod(e, pb.POD, [(1, 1000, 100)], [(1, 1000, 100)])]
    for cfg in bad:
        with pytest.raises(grpc.RpcError) as ei:
            e.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg))
        assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "userns" in ei.value.details()
    assert len(e.rt.ListPodSandbox(pb.ListPodSandboxRequest()).items) == 1
    # NODE: the node's own user namespace.
    cfg = userns_pod(e, pb.NODE)
    e.pod = e.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
    e.pod_cfg = cfg
    cid = sleeper(e, "node")
    assert exec_sync(e, cid, "cat", "/proc/self/uid_map")[1] == open("/proc/self/uid_map").read()


def test_oom_kill_is_reported(env):
    e, pb = env, env.pb
    cid = run(e, container_config(e, "hog", command=["tail", "/dev/zero"], memory=32 << 20))
    st = wait_exited(e, cid, timeout=30)
    assert (st.reason, st.exit_code) == ("OOMKilled", 137)


def test_bad_input_gets_the_right_code_and_leaves_nothing(env):
    e, pb = env, env.pb
    cases = [
        (container_config(e, "relative", command=["true"],
                          mounts=[{"container_path": "rel", "host_path": e.workdir}]),
         grpc.StatusCode.INVALID_ARGUMENT, "not absolute"),
        (container_config(e, "noimage", command=["true"], image="%s/test/none:1" % e.ref.split("/")[0]),
         grpc.StatusCode.NOT_FOUND, "none"),
    ]
    for cfg, code, words in cases:
        with pytest.raises(grpc.RpcError) as ei:
            create(e, cfg)
        assert ei.value.code() == code and words in ei.value.details(), ei.value.details()
    with pytest.raises(grpc.RpcError) as ei:
        e.rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id="0" * 64, config=container_config(e, "nopod", command=["true"]),
            sandbox_config=e.pod_cfg))
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    assert not os.listdir(os.path.join(e.cribd.state, "containers"))
    assert not os.listdir(os.path.join(e.cribd.root, "containers"))


def test_image_volumes(env):
    e, pb = env, env.pb
    cid = sleeper(e, "iv", mounts=[
        {"container_path": "/img", "image": pb.ImageSpec(image=e.ref)},
        {"container_path": "/img-etc", "image": pb.ImageSpec(image=e.ref), "image_sub_path": "etc"}])
    assert exec_sync(e, cid, "ls", "/img/bin/busybox")[0] == 0
    assert exec_sync(e, cid, "cat", "/img-etc/motd")[1] == "from the top layer\n"
    assert exec_sync(e, cid, "ls", "/img-etc/hidden")[0] != 0, "the image's whiteouts hold"
    assert exec_sync(e, cid, "touch", "/img/x")[0] != 0, "image volumes are read-only"
    assert not [m for m in mounts_under(os.path.join(e.cribd.state, "containers")) if "/copies/" in m]
    for mount, code in (({"container_path": "/v", "image": pb.ImageSpec(image=e.ref + "-missing")},
                         grpc.StatusCode.NOT_FOUND),
                        ({"container_path": "/v", "image": pb.ImageSpec(image=e.ref),
                          "image_sub_path": "../etc"}, grpc.StatusCode.INVALID_ARGUMENT),
                        ({"container_path": "/v", "image": pb.ImageSpec(image=e.ref),
                          "image_sub_path": "no/such"}, grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as ei:
            create(e, container_config(e, "bad-iv", command=["true"], mounts=[mount]))
        assert ei.value.code() == code, ei.value.details()


def test_containers_under_the_systemd_cgroup_driver(make_cribd, registry, busybox, api):
    """Each container is the scope crib-ID.scope in its pod's slice, which runc
    asks systemd for (the pod's slice names are checked in test_pods.py).
    Without systemd, runc's refusal comes back and nothing is left."""
    have_systemd = os.path.isdir("/run/systemd/system")
    pb, pb_grpc = api
    d = make_cribd(config={"cgroupDriver": "systemd"}).start()
    registry.write_hosts(d.certs_d)
    slice_name = "crib-it%d-pod1.slice" % os.getpid()
    with d.channel() as ch:
        rt, img = pb_grpc.RuntimeServiceStub(ch), pb_grpc.ImageServiceStub(ch)
        img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=busybox[0])))
        pod_cfg = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name="sd", namespace="default", uid="sd1", attempt=0),
            hostname="sd", log_directory=os.path.join(d.base, "logs"))
        pod_cfg.linux.cgroup_parent = slice_name
        pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pod_cfg)).pod_sandbox_id
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c"),
                                 image=pb.ImageSpec(image=busybox[0]), log_path="c.log",
                                 command=["sleep", "1000"])
        create = pb.CreateContainerRequest(pod_sandbox_id=pod, config=cfg, sandbox_config=pod_cfg)
        if not have_systemd:
            with pytest.raises(grpc.RpcError) as e:
                rt.CreateContainer(create)
            assert "systemd" in e.value.details().lower() or "dbus" in e.value.details().lower(), \
                e.value.details()
            assert not rt.ListContainers(pb.ListContainersRequest()).containers
            assert os.listdir(os.path.join(d.state, "containers")) == []
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
            pytest.skip("systemd is not PID 1 on this machine: runc refused the container's "
                        "scope as expected; the running part needs systemd")
        cid = rt.CreateContainer(create).container_id
        try:
            rt.StartContainer(pb.StartContainerRequest(container_id=cid))
            info = json.loads(rt.ContainerStatus(pb.ContainerStatusRequest(
                container_id=cid, verbose=True)).info["info"])
            with open("/proc/%d/cgroup" % info["pid"]) as f:
                assert "/%s/crib-%s.scope" % (slice_name, cid) in f.read()
            rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0))
        finally:
            rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
