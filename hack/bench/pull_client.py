"""Times PullImage of one image twice (cold, then warm) over CRI.
usage: pull_client.py ENDPOINT IMAGE  -> prints "cold_s warm_s"."""

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
stubs = tempfile.mkdtemp(prefix="crib-bench-stubs-")
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.join(ROOT, "proto"),
                "--python_out", stubs, "--grpc_python_out", stubs,
                os.path.join(ROOT, "proto", "api.proto")], check=True)
sys.path.insert(0, stubs)
import grpc  # noqa: E402
import api_pb2 as pb  # noqa: E402
import api_pb2_grpc as pbg  # noqa: E402

endpoint, image = sys.argv[1], sys.argv[2]
with grpc.insecure_channel(endpoint) as ch:
    img = pbg.ImageServiceStub(ch)
    img.ImageFsInfo(pb.ImageFsInfoRequest())  # connected before the clock starts
    times = []
    for _ in range(2):
        t0 = time.monotonic()
        img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=image)), timeout=600)
        times.append(time.monotonic() - t0)
print("%.4f %.4f" % tuple(times))
subprocess.run(["rm", "-rf", stubs])
