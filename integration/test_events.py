"""GetContainerEvents: every subscriber sees a pod's and its containers'
whole life in order, with the statuses the kubelet's Evented PLEG reads,
and cribd's stop ends the streams cleanly."""

import os
import threading
import time

import grpc
import pytest

from registry import busybox_image


@pytest.fixture(scope="module")
def busybox(registry):
    registry.push("test/busybox", "1", busybox_image())
    return "%s/test/busybox:1" % registry.host


class Subscriber:
    """Reads one GetContainerEvents stream on a thread of its own."""

    def __init__(self, pb, rt):
        self.events, self.error, self.ended = [], None, threading.Event()
        self.stream = rt.GetContainerEvents(pb.GetEventsRequest())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for ev in self.stream:
                self.events.append(ev)
        except grpc.RpcError as e:
            self.error = e
        self.ended.set()

    def wait_for(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.events) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events


def test_every_subscriber_sees_a_pods_life_in_order(cribd, registry, busybox, api, workdir):
    pb, pb_grpc = api
    registry.write_hosts(cribd.certs_d)
    ch = cribd.channel()
    rt, img = pb_grpc.RuntimeServiceStub(ch), pb_grpc.ImageServiceStub(ch)
    img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=busybox)))
    subs = [Subscriber(pb, rt) for _ in range(3)]
    time.sleep(0.3)  # the streams are open before the first change
    pod_cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="ev", namespace="default", uid="ev1", attempt=0),
        hostname="ev", log_directory=os.path.join(workdir, "logs"))
    pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pod_cfg)).pod_sandbox_id
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c"),
                             image=pb.ImageSpec(image=busybox), log_path="c.log",
                             command=["sleep", "1000"])
    cid = rt.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod, config=cfg, sandbox_config=pod_cfg)).container_id
    rt.StartContainer(pb.StartContainerRequest(container_id=cid))
    rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0))
    rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod))
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod))  # no change: no event
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))

    want = [(pod, pb.CONTAINER_CREATED_EVENT), (pod, pb.CONTAINER_STARTED_EVENT),
            (cid, pb.CONTAINER_CREATED_EVENT), (cid, pb.CONTAINER_STARTED_EVENT),
            (cid, pb.CONTAINER_STOPPED_EVENT), (cid, pb.CONTAINER_DELETED_EVENT),
            (pod, pb.CONTAINER_STOPPED_EVENT), (pod, pb.CONTAINER_DELETED_EVENT)]
    for s in subs:
        evs = s.wait_for(len(want))
        time.sleep(0.2)
        assert [(e.container_id, e.container_event_type) for e in s.events] == want
        assert all(e.created_at > 0 for e in evs)
        assert [e.created_at for e in evs] == sorted(e.created_at for e in evs)
        # What the kubelet reads off each event: the pod and its containers then.
        started = evs[3]
        assert started.pod_sandbox_status.id == pod
        assert started.pod_sandbox_status.state == pb.SANDBOX_READY
        assert [(c.id, c.state) for c in started.containers_statuses] == [(cid, pb.CONTAINER_RUNNING)]
        stopped = evs[4]
        assert [(c.id, c.state, c.exit_code) for c in stopped.containers_statuses] == \
            [(cid, pb.CONTAINER_EXITED, 137)]
        assert list(evs[5].containers_statuses) == []
        assert evs[6].pod_sandbox_status.state == pb.SANDBOX_NOTREADY
        assert not evs[7].HasField("pod_sandbox_status")
    # cribd's stop ends every stream with OK, not an error.
    assert cribd.stop() == 0
    for s in subs:
        assert s.ended.wait(10), "the stream did not end when cribd stopped"
        assert s.error is None, s.error
    ch.close()


def test_a_subscriber_that_leaves_costs_nothing_after(cribd, api):
    pb, pb_grpc = api
    with cribd.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        s = Subscriber(pb, rt)
        time.sleep(0.2)
        s.stream.cancel()
        assert s.ended.wait(5)
        time.sleep(1.5)  # the server notices within its poll interval
        # A pod's life still works, with no one listening.
        cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(
            name="q", namespace="default", uid="q1", attempt=0), hostname="q", log_directory="/tmp")
        pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod))
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
        assert "fell" not in cribd.logs()
