"""A SPDY/3.1 client of the Kubernetes stream protocols (exec, attach,
port-forward), written for the tests from the SPDY draft: stdlib only."""
import json
import socket
import ssl
import struct
import zlib
from urllib.parse import urlparse

_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base "
    "content-encoding content-language content-length content-location content-md5 "
    "content-range content-type date etag expect expires from host if-match if-modified-since "
    "if-none-match if-range if-unmodified-since last-modified location max-forwards pragma "
    "proxy-authenticate proxy-authorization range referer retry-after server te trailer "
    "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status"
).split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICT = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()
assert zlib.adler32(DICT) == 0xe3c6a7c2

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = \
    1, 2, 3, 4, 6, 7, 8, 9
FIN = 1


class UpgradeRefused(Exception):
    def __init__(self, status, head):
        super().__init__("upgrade refused: %d" % status)
        self.status = status
        self.head = head


def connect(url, timeout=30):
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    if u.scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    return s, u


def read_head(sock):
    """The HTTP response head, and the bytes after it."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


class Frame:
    def __init__(self, control, type_, flags, stream_id, data, headers=None):
        self.control, self.type, self.flags = control, type_, flags
        self.stream_id, self.data, self.headers = stream_id, data, headers

    @property
    def fin(self):
        return bool(self.flags & FIN)


class SpdyConn:
    """One upgraded connection. Frames are read with read_frame()."""

    def __init__(self, url, protocols=("v4.channel.k8s.io",), window_updates=False, timeout=60):
        self.sock, u = connect(url, timeout)
        req = "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" % (
            u.path + ("?" + u.query if u.query else ""), u.netloc)
        for p in protocols:
            req += "X-Stream-Protocol-Version: %s\r\n" % p
        self.sock.sendall((req + "\r\n").encode())
        status, self.response_headers, self.buf = read_head(self.sock)
        if status != 101:
            raise UpgradeRefused(status, self.response_headers)
        self.protocol = self.response_headers.get("x-stream-protocol-version")
        self.deflate = zlib.compressobj(zdict=DICT)
        self.inflate = zlib.decompressobj(zdict=DICT)
        self.next_id = 1
        self.window_updates = window_updates

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def header_block(self, headers):
        raw = struct.pack(">I", len(headers))
        for k, v in headers.items():
            raw += struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode()
        return self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    def control(self, type_, flags, body):
        return struct.pack(">HHI", 0x8000 | 3, type_, flags << 24 | len(body)) + body

    def open_stream(self, headers, fin=False):
        sid = self.next_id
        self.next_id += 2
        body = struct.pack(">IIH", sid, 0, 0) + self.header_block(headers)
        self.sock.sendall(self.control(SYN_STREAM, FIN if fin else 0, body))
        return sid

    def send_data(self, sid, data, fin=False):
        for off in range(0, max(len(data), 1), 32768):
            chunk = data[off:off + 32768]
            last = off + 32768 >= len(data)
            self.sock.sendall(struct.pack(">II", sid, (FIN if fin and last else 0) << 24 |
                                          len(chunk)) + chunk)

    def window_update(self, sid, delta):
        self.sock.sendall(self.control(WINDOW_UPDATE, 0, struct.pack(">II", sid, delta)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        head = self._read(8)
        word, flags_len = struct.unpack(">II", head)
        flags, length = flags_len >> 24, flags_len & 0xffffff
        data = self._read(length)
        if not word & 0x80000000:
            if self.window_updates and length:
                try:
                    self.window_update(word, length)
                    self.window_update(0, length)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server closes once its last stream has ended: nothing to grant
            return Frame(False, 0, flags, word, data)
        type_ = word & 0xffff
        sid = struct.unpack(">I", data[:4])[0] & 0x7fffffff if len(data) >= 4 else 0
        headers = None
        if type_ in (SYN_REPLY, HEADERS):
            headers = self._headers(self.inflate.decompress(data[4:]))
        elif type_ == SYN_STREAM:
            headers = self._headers(self.inflate.decompress(data[10:]))
        return Frame(True, type_, flags, sid, data, headers)

    @staticmethod
    def _headers(raw):
        n, off, out = struct.unpack(">I", raw[:4])[0], 4, {}
        for _ in range(n):
            ln = struct.unpack(">I", raw[off:off + 4])[0]
            k = raw[off + 4:off + 4 + ln].decode()
            off += 4 + ln
            lv = struct.unpack(">I", raw[off:off + 4])[0]
            out[k] = raw[off + 4:off + 4 + lv].decode()
            off += 4 + lv
        return out


class ExecResult:
    def __init__(self):
        self.stdout = b""
        self.stderr = b""
        self.error = b""
        self.stdout_len = 0
        self.replies = 0

    @property
    def status(self):
        return json.loads(self.error) if self.error else None

    @property
    def exit_code(self):
        st = self.status
        if st is None or st.get("status") == "Success":
            return 0
        for c in st.get("details", {}).get("causes", []):
            if c.get("reason") == "ExitCode":
                return int(c["message"])
        return None


def run_exec(url, stdin=None, stdout=True, stderr=True, tty=False, resize=None,
             protocol="v4.channel.k8s.io", keep_stdout=True, close_stdin=True,
             window_updates=False, on_stdout=None):
    """Runs an exec or attach session to its end: stdin bytes are sent (then
    stdin is half-closed), output collected until the error stream ends."""
    c = SpdyConn(url, (protocol,), window_updates=window_updates)
    res = ExecResult()
    try:
        err_id = c.open_stream({"streamtype": "error"})
        ids = {err_id: "error"}
        if stdin is not None:
            in_id = c.open_stream({"streamtype": "stdin"})
            ids[in_id] = "stdin"
        if stdout:
            ids[c.open_stream({"streamtype": "stdout"})] = "stdout"
        if stderr:
            ids[c.open_stream({"streamtype": "stderr"})] = "stderr"
        if tty:
            rz = c.open_stream({"streamtype": "resize"})
            ids[rz] = "resize"
            if resize:
                c.send_data(rz, json.dumps({"Width": resize[0], "Height": resize[1]}).encode())
        if stdin is not None:
            if stdin:
                c.send_data(in_id, stdin)
            if close_stdin:
                c.send_data(in_id, b"", fin=True)
        open_out = {i for i, n in ids.items() if n in ("stdout", "stderr", "error")}
        while open_out:
            f = c.read_frame()
            if f.control:
                if f.type == SYN_REPLY:
                    res.replies += 1
                elif f.type == RST_STREAM:
                    open_out.discard(f.stream_id)
                elif f.type == GOAWAY:
                    break
                continue
            name = ids.get(f.stream_id)
            if name == "stdout":
                res.stdout_len += len(f.data)
                if on_stdout:
                    on_stdout(c, f.data)
                if keep_stdout:
                    res.stdout += f.data
            elif name == "stderr":
                res.stderr += f.data
            elif name == "error":
                res.error += f.data
            if f.fin:
                open_out.discard(f.stream_id)
    finally:
        c.close()
    return res


def port_forward(url, port, payload, request_id="0", read_until_close=True):
    """One port-forward connection: sends payload, returns (data, error text)."""
    c = SpdyConn(url, ("portforward.k8s.io",))
    try:
        eid = c.open_stream({"streamtype": "error", "port": str(port), "requestid": request_id})
        did = c.open_stream({"streamtype": "data", "port": str(port), "requestid": request_id})
        if payload:
            c.send_data(did, payload)
        c.send_data(did, b"", fin=True)
        data, err, open_ids = b"", b"", {eid, did}
        while open_ids:
            f = c.read_frame()
            if f.control:
                if f.type == RST_STREAM:
                    open_ids.discard(f.stream_id)
                continue
            if f.stream_id == did:
                data += f.data
            elif f.stream_id == eid:
                err += f.data
            if f.fin:
                open_ids.discard(f.stream_id)
        return data, err.decode()
    finally:
        c.close()
