"""Test registries: Debian's docker-registry over TLS on loopback with a CA
made per run, images pushed through the distribution API, and a hostile
registry that misbehaves on purpose."""

import gzip
import hashlib
import http.server
import io
import json
import os
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.request

REGISTRY_BIN = "/usr/bin/docker-registry"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_ca(dirpath):
    """A CA and a server certificate for 127.0.0.1 and localhost."""
    ca_key, ca_crt = os.path.join(dirpath, "ca.key"), os.path.join(dirpath, "ca.crt")
    key, csr, crt = (os.path.join(dirpath, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(dirpath, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=crib test CA", "-keyout", ca_key, "-out", ca_crt)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", key, "-out", csr)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt)
    return ca_crt, crt, key


def make_client_cert(dirpath):
    """A client certificate signed by the CA in dirpath, for mutual TLS."""
    key, csr, crt = (os.path.join(dirpath, n) for n in ("client.key", "client.csr", "client.crt"))
    ext = os.path.join(dirpath, "client.ext")
    with open(ext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=crib-node",
        "-keyout", key, "-out", csr)
    run("openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(dirpath, "ca.crt"), "-CAkey",
        os.path.join(dirpath, "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", ext,
        "-out", crt)
    return crt, key


def tar_layer(entries):
    """entries: list of dicts with name, and type ('file', 'dir', 'symlink',
    'hardlink', 'char', 'fifo'), data, mode, uid, gid, linkname, xattrs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            kind = e.get("type", "file")
            ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE,
                       "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                       "char": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            ti.mode = e.get("mode", 0o755 if kind == "dir" else 0o644)
            ti.uid, ti.gid = e.get("uid", 0), e.get("gid", 0)
            ti.mtime = e.get("mtime", 1700000000)
            ti.linkname = e.get("linkname", "")
            ti.devmajor, ti.devminor = e.get("dev", (0, 0))
            if e.get("xattrs"):
                ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            data = e.get("data", b"")
            ti.size = len(data) if kind == "file" else 0
            tf.addfile(ti, io.BytesIO(data) if kind == "file" else None)
    return buf.getvalue()


def compress(tar, how):
    if how == "gzip":
        return gzip.compress(tar, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    if how == "zstd":
        out = subprocess.run(["zstd", "-q", "-c"], input=tar, capture_output=True, check=True)
        return out.stdout, "application/vnd.oci.image.layer.v1.tar+zstd"
    return tar, "application/vnd.oci.image.layer.v1.tar"


class Image:
    """An image built in memory: layers (tar bytes), a config, a manifest."""

    def __init__(self, layers, user="", compression="gzip", arch="amd64", env=None, extra=None):
        self.blobs = {}
        self.layers = []
        diff_ids = []
        for tar in layers:
            data, media = compress(tar, compression)
            self.layers.append({"mediaType": media, "digest": sha256(data), "size": len(data)})
            self.blobs[sha256(data)] = data
            diff_ids.append(sha256(tar))
        cfg = {"architecture": arch, "os": "linux",
               "config": {"User": user, "Env": env or ["PATH=/bin"], "Cmd": ["sh"]},
               "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        cfg.update(extra or {})
        self.config = json.dumps(cfg).encode()
        self.blobs[sha256(self.config)] = self.config
        self.id = sha256(self.config)
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": self.id, "size": len(self.config)},
            "layers": self.layers}).encode()
        self.manifest_type = "application/vnd.oci.image.manifest.v1+json"
        self.digest = sha256(self.manifest)


class Registry:
    """Debian's docker-registry on 127.0.0.1 with TLS, optionally htpasswd."""

    def __init__(self, base, users=None, client_certs=False):
        self.base = base
        os.makedirs(base, exist_ok=True)
        self.ca, crt, key = make_ca(base)
        self.client = make_client_cert(base) if client_certs else None
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.users = users or {}
        auth = ""
        if self.users:
            htpasswd = os.path.join(base, "htpasswd")
            with open(htpasswd, "w") as f:
                for u, p in self.users.items():
                    out = subprocess.run(["htpasswd", "-Bbn", u, p], capture_output=True, check=True)
                    f.write(out.stdout.decode().strip() + "\n")
            auth = "auth:\n  htpasswd:\n    realm: crib-test\n    path: %s\n" % htpasswd
        self.config = os.path.join(base, "config.yml")
        with open(self.config, "w") as f:
            f.write("version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
                    "storage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\n"
                    "http:\n  addr: %s\n  tls:\n    certificate: %s\n    key: %s\n%s%s"
                    % (base, self.host, crt, key,
                       "    clientcas:\n      - %s\n" % self.ca if client_certs else "", auth))
        self.log_path = os.path.join(base, "registry.log")
        self.ctx = ssl.create_default_context(cafile=self.ca)
        if self.client:
            self.ctx.load_cert_chain(*self.client)
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", self.config], stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start: " + open(self.log_path).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def _request(self, method, path, data=None, headers=None):
        url = path if path.startswith("https://") else "https://%s%s" % (self.host, path)
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if self.users:
            import base64
            u, p = next(iter(self.users.items()))
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ("%s:%s" % (u, p)).encode()).decode())
        return urllib.request.urlopen(req, context=self.ctx, timeout=30)

    def push_blob(self, repo, data):
        digest = sha256(data)
        resp = self._request("POST", "/v2/%s/blobs/uploads/" % repo, b"")
        loc = resp.headers["Location"]
        if not loc.startswith("http"):
            loc = "https://%s%s" % (self.host, loc)
        sep = "&" if "?" in loc else "?"
        self._request("PUT", "%s%sdigest=%s" % (loc, sep, digest), data,
                      {"Content-Type": "application/octet-stream"})
        return digest

    def push_manifest(self, repo, ref, body, media_type):
        self._request("PUT", "/v2/%s/manifests/%s" % (repo, ref), body,
                      {"Content-Type": media_type})
        return sha256(body)

    def push(self, repo, tag, image):
        for data in image.blobs.values():
            self.push_blob(repo, data)
        return self.push_manifest(repo, tag, image.manifest, image.manifest_type)

    def push_index(self, repo, tag, images):
        """images: list of (Image, os, arch, variant)."""
        entries = []
        for img, os_, arch, variant in images:
            for data in img.blobs.values():
                self.push_blob(repo, data)
            self.push_manifest(repo, img.digest, img.manifest, img.manifest_type)
            plat = {"os": os_, "architecture": arch}
            if variant:
                plat["variant"] = variant
            entries.append({"mediaType": img.manifest_type, "digest": img.digest,
                            "size": len(img.manifest), "platform": plat})
        body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                           "manifests": entries}).encode()
        return self.push_manifest(repo, tag, body, "application/vnd.oci.image.index.v1+json")

    def blob_gets(self, digest):
        """How many GETs of a blob the registry served (from its access log)."""
        with open(self.log_path, errors="replace") as f:
            return sum(1 for line in f if "GET /v2/" in line and "/blobs/" + digest in line
                       and '" 200 ' in line)

    def write_hosts(self, certs_d, with_client=True):
        d = os.path.join(certs_d, self.host)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "hosts.toml"), "w") as f:
            f.write('server = "https://%s"\nca = "%s"\n' % (self.host, self.ca))
            if self.client and with_client:
                f.write('client = [["%s", "%s"]]\n' % self.client)


def send(handler, status, headers, body):
    """Answers one request of a Hostile route."""
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Hostile:
    """A plain-HTTP registry that serves what a test tells it to, per path:
    routes[path] = (status, headers, body) or a callable(handler)."""

    def __init__(self):
        self.routes = {}
        self.hits = []
        self.queries = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                outer.hits.append(path)
                outer.queries.append(self.path[len(path) + 1:])
                route = outer.routes.get(path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if callable(route):
                    route(self)
                    return
                send(self, *route)

        Handler.do_POST = Handler.do_GET

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # cribd hangs up on stalled or refused transfers on purpose.
                import sys as _sys
                if not isinstance(_sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def serve_image(self, repo, tag, image, manifest=None, manifest_type=None):
        body = manifest if manifest is not None else image.manifest
        self.routes["/v2/%s/manifests/%s" % (repo, tag)] = (
            200, {"Content-Type": manifest_type or image.manifest_type}, body)
        for digest, data in image.blobs.items():
            self.routes["/v2/%s/blobs/%s" % (repo, digest)] = (200, {}, data)

    def write_hosts(self, certs_d, name="hostile.test", mirrors=()):
        d = os.path.join(certs_d, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "hosts.toml"), "w") as f:
            f.write('server = "http://%s"\n' % self.host)
            for m in mirrors:
                f.write('[host."%s"]\n  capabilities = ["pull", "resolve"]\n' % m)
        return name

    def require_token(self, repo, token="good-token", basic=None, refresh=None):
        """Guards repo's routes with a Bearer challenge and serves /token:
        with basic ("user:pass") the token needs those credentials; with
        refresh the OAuth2 POST with that refresh token works too."""
        realm = "http://%s/token/%s" % (self.host, repo)
        challenge = 'Bearer realm="%s",service="hostile",scope="repository:%s:pull"' % (realm, repo)
        for path, route in list(self.routes.items()):
            if not path.startswith("/v2/%s/" % repo):
                continue

            def guarded(handler, route=route):
                if handler.headers.get("Authorization") != "Bearer " + token:
                    handler.send_response(401)
                    handler.send_header("WWW-Authenticate", challenge)
                    handler.send_header("Content-Length", "0")
                    handler.end_headers()
                    return
                send(handler, *route)
            self.routes[path] = guarded

        def token_server(handler):
            import base64 as b64
            import urllib.parse
            ok = False
            if handler.command == "POST":
                n = int(handler.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(handler.rfile.read(n).decode())
                ok = refresh is not None and form.get("refresh_token") == [refresh] \
                    and form.get("grant_type") == ["refresh_token"]
            elif basic is None:
                ok = True
            else:
                want = "Basic " + b64.b64encode(basic.encode()).decode()
                ok = handler.headers.get("Authorization") == want
            body = json.dumps({"token": token, "access_token": token}).encode() if ok else b"{}"
            handler.send_response(200 if ok else 401)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        self.routes["/token/" + repo] = token_server


BUSYBOX = "/bin/busybox"
BUSYBOX_APPLETS = ("sh", "sleep", "echo", "cat", "id", "ls", "touch", "mkdir", "hostname", "grep",
                   "wc", "head", "true", "false", "env", "pwd", "kill", "ps", "mount", "unshare",
                   "stat", "dd", "rm", "nsenter", "readlink", "tail")


def busybox_image(user="", cmd=("sh",), env=None, extra_config=None):
    """A runnable image from Debian's busybox-static: a base layer with the
    binary, its applets and users (alice 1000:1000, also in group 'extra' 50
    and 'video' 44), and a second layer whose whiteout hides a base file."""
    with open(BUSYBOX, "rb") as f:
        binary = f.read()
    passwd = (b"root:x:0:0:root:/root:/bin/sh\n"
              b"alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
              b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    group = (b"root:x:0:\nvideo:x:44:alice\nextra:x:50:bob,alice\nalice:x:1000:\n"
             b"nogroup:x:65534:\n")
    base = [{"name": d, "type": "dir"} for d in ("bin", "etc", "tmp", "proc", "sys", "dev",
                                                    "root", "home", "home/alice", "var")]
    base[2]["mode"] = 0o1777
    base += [{"name": "bin/busybox", "data": binary, "mode": 0o755},
             {"name": "etc/passwd", "data": passwd}, {"name": "etc/group", "data": group},
             {"name": "etc/hidden", "data": b"hidden by the top layer\n"}]
    base += [{"name": "bin/" + a, "type": "symlink", "linkname": "busybox"}
             for a in BUSYBOX_APPLETS]
    top = [{"name": "etc/.wh.hidden"}, {"name": "etc/motd", "data": b"from the top layer\n"}]
    extra = {"config": {"User": user, "Env": env or ["PATH=/bin", "IMAGE_ENV=image"],
                        "Cmd": list(cmd), "WorkingDir": "/"}}
    extra.update(extra_config or {})
    return Image([tar_layer(base), tar_layer(top)], extra=extra)
