"""Times PullImage of one image twice (cold, then warm) over CRI.
usage: pull_client.py ENDPOINT IMAGE  -> prints "cold_s warm_s"."""

import sys
import time

from cri_stubs import grpc, pb, pbg  # noqa: E402

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
