"""The load generator's HTTP/1.1 client over raw asyncio streams, and the patient it speaks for.

Standard library only: it runs in the load generator's process, which never imports the app.
"""
from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from datetime import datetime


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def cookies(self) -> dict[str, str]:
        """name -> value of every Set-Cookie; attributes (Secure, HttpOnly, ...) are ignored on purpose."""
        jar = {}
        for key, value in self.headers:
            if key == "set-cookie":
                pair = value.split(";", 1)[0]
                name, _, val = pair.partition("=")
                jar[name.strip()] = val.strip()
        return jar

    def json(self):
        return json.loads(self.body)


@dataclass
class Patient:
    """A load-test patient as the client knows them: the cookies and CSRF token of their session."""

    email: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def parse_instant(text: str) -> datetime:
    """An instant as the API writes it (ISO 8601, ``Z`` for UTC)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Connection:
    __slots__ = ("reader", "writer", "used")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer, self.used = reader, writer, 0

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - closing a broken socket
            pass


class HttpClient:
    """HTTP/1.1 over raw asyncio streams: keep-alive when the server allows it, else a new connection.

    gunicorn's sync workers answer every request with ``Connection: close``, so under
    them each request costs a TCP connect, as it does behind a proxy in production.
    Cookies are handled by the caller (see :class:`Patient`), so the ``Secure``
    flag of production cookies does not stop them being sent over plain http.
    """

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._idle: list[_Connection] = []
        self.connects = 0

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1
        return _Connection(reader, writer)

    def build(self, method: str, path: str, headers: dict[str, str] | None = None,
              body: bytes | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "User-Agent: carebook-http-bench", "Accept: application/json"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body is not None or method in ("POST", "PUT", "PATCH", "DELETE"):
            lines.append(f"Content-Length: {len(body or b'')}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

    async def request(self, raw: bytes, method: str = "GET") -> Response:
        return await asyncio.wait_for(self._request(raw, method), self.timeout)

    async def _request(self, raw: bytes, method: str) -> Response:
        for attempt in (0, 1):
            conn = self._idle.pop() if self._idle else await self._connect()
            reused = conn.used > 0
            try:
                conn.writer.write(raw)
                await conn.writer.drain()
                response, keep = await self._read(conn, method)
            except (ConnectionError, asyncio.IncompleteReadError) as error:
                conn.close()
                if reused and attempt == 0:
                    continue  # a kept-alive connection the server had closed: retry once, fresh
                raise HttpError(f"connection failed: {error!r}") from None
            except BaseException:
                conn.close()
                raise
            conn.used += 1
            if keep:
                self._idle.append(conn)
            else:
                conn.close()
            return response
        raise HttpError("unreachable")

    async def _read(self, conn: _Connection, method: str) -> tuple[Response, bool]:
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip().lower(), value.strip()))
        single = {k: v for k, v in headers if k != "set-cookie"}
        keep = version == "HTTP/1.1" and "close" not in single.get("connection", "").lower()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "content-length" in single:
            body = await conn.reader.readexactly(int(single["content-length"]))
        elif "chunked" in single.get("transfer-encoding", "").lower():
            body = await _read_chunked(conn.reader)
        else:
            body = await conn.reader.read()
            keep = False
        return Response(status, headers, body), keep

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await _drain_trailers(reader)
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _drain_trailers(reader: asyncio.StreamReader) -> None:
    while (await reader.readuntil(b"\r\n")) != b"\r\n":
        pass
