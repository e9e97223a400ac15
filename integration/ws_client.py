"""A WebSocket client (RFC 6455) of the Kubernetes channel protocols, for
the tests: stdlib only."""
import base64
import hashlib
import json
import os
import struct

from spdy_client import UpgradeRefused, connect, read_head

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 1, 2, 8, 9, 10


class WsConn:
    def __init__(self, url, protocols=("v5.channel.k8s.io",), timeout=60):
        self.sock, u = connect(url, timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n" %
               (u.path + ("?" + u.query if u.query else ""), u.netloc, key))
        if protocols:
            req += "Sec-WebSocket-Protocol: %s\r\n" % ", ".join(protocols)
        self.sock.sendall((req + "\r\n").encode())
        status, headers, self.buf = read_head(self.sock)
        if status != 101:
            raise UpgradeRefused(status, headers)
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == want
        self.protocol = headers.get("sec-websocket-protocol", "")
        self.base64 = "base64" in self.protocol

    def close(self):
        self.sock.close()

    def frame(self, opcode, payload, fin=True, mask=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack(">H", n)
        else:
            head += bytes([m | 127]) + struct.pack(">Q", n)
        if not mask:
            return head + payload
        key = os.urandom(4)
        return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

    def send(self, channel, data):
        if self.base64:
            msg = (chr(ord("0") + channel) + base64.b64encode(data).decode()).encode()
            self.sock.sendall(self.frame(TEXT, msg))
        else:
            self.sock.sendall(self.frame(BINARY, bytes([channel]) + data))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        return b0 & 0x0f, self._read(n)

    def read_message(self):
        """(channel, data), or (None, close payload) at the close frame."""
        while True:
            op, payload = self.read_frame()
            if op == CLOSE:
                return None, payload
            if op in (TEXT, BINARY) and payload:
                if self.base64:
                    return payload[0] - ord("0"), base64.b64decode(payload[1:])
                return payload[0], payload[1:]


def run_exec(url, stdin=None, protocol="v5.channel.k8s.io", resize=None):
    c = WsConn(url, (protocol,))
    out = {1: b"", 2: b"", 3: b""}
    try:
        if resize:
            c.send(4, json.dumps({"Width": resize[0], "Height": resize[1]}).encode())
        if stdin is not None:
            c.send(0, stdin)
            if "v5" in protocol:
                c.sock.sendall(c.frame(BINARY, bytes([255, 0])))
        while True:
            ch, data = c.read_message()
            if ch is None:
                break
            out[ch] = out.get(ch, b"") + data
    finally:
        c.close()
    return out


def port_forward(url, payload, protocol="v4.channel.k8s.io"):
    """One port: sends payload, returns (data, error) until the pod's side closes."""
    c = WsConn(url, (protocol,))
    data, err, prefixes = b"", b"", 0
    try:
        while prefixes < 2:
            ch, d = c.read_message()
            assert ch in (0, 1) and len(d) == 2, (ch, d)
            prefixes += 1
        c.send(0, payload)
        while True:
            ch, d = c.read_message()
            if ch is None:
                break
            if ch == 0:
                data += d
            elif ch == 1:
                err += d
    except EOFError:
        pass
    finally:
        c.close()
    return data, err.decode()
