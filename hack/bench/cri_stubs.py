"""CRI client stubs for the bench clients, generated from the project's own
proto/api.proto into a temporary dir: `from cri_stubs import grpc, pb, pbg`."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_stubs = tempfile.mkdtemp(prefix="crib-bench-stubs-")
atexit.register(shutil.rmtree, _stubs, True)
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.join(ROOT, "proto"),
                "--python_out", _stubs, "--grpc_python_out", _stubs,
                os.path.join(ROOT, "proto", "api.proto")], check=True)
sys.path.insert(0, _stubs)
import grpc  # noqa: E402,F401
import api_pb2 as pb  # noqa: E402,F401
import api_pb2_grpc as pbg  # noqa: E402,F401
