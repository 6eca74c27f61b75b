"""A TCP proxy on loopback that a test can cut: a database outage without touching the server.

The machine's PostgreSQL is shared, so an outage is made in front of it: processes connect to
the proxy, and :meth:`TcpProxy.cut` closes every connection through it and refuses new ones
(the listening socket is closed: connections are refused at once, as from a host that is down;
or, ``hang``, they are accepted and never answered, as by a server that hangs) until :meth:`TcpProxy.restore` listens again on the same port. Threads, one pair per connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["TcpProxy"]

BUFFER = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._tarpit: socket.socket | None = None  # listening, never accepting (a hung server)
        self.port = 0
        self.accepted = 0  # connections accepted since start, across cuts

    def start(self) -> TcpProxy:
        self._listen()
        return self

    def cut(self, *, hang: bool = False) -> None:
        """The outage: every open connection closed, and new ones refused, or with ``hang``
        accepted (by the kernel) and never answered, as by a server that hangs: a client then
        waits as long as its own connect timeout lets it."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        if listener is not None:
            _close(listener)
        if self._acceptor is not None:
            self._acceptor.join(5)
        for conn in conns:
            _close(conn)
        if hang:
            self._tarpit = self._bind()

    def restore(self) -> None:
        """Listen again, on the same port."""
        if self._tarpit is not None:
            _close(self._tarpit)
            self._tarpit = None
        self._listen()

    def stop(self) -> None:
        self.cut()

    @property
    def up(self) -> bool:
        return self._listener is not None

    def _bind(self) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        return listener

    def _listen(self) -> None:
        listener = self._bind()
        with self._lock:
            self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), name="proxy-accept", daemon=True
        )
        self._acceptor.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by cut()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(upstream)
                    return
                self._conns |= {client, upstream}
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), name="proxy-pipe", daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(BUFFER):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
