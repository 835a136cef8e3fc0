"""A TCP proxy that injects network faults between our code and a real server: it forwards
bytes until told to freeze (hold every connection open and answer nothing, like a hung
endpoint) once a request containing a given marker passes through."""

from __future__ import annotations

import socket
import threading


class FaultyProxy:
    def __init__(self, upstream_port: int, freeze_on: bytes | None = None) -> None:
        self.upstream_port = upstream_port
        self.freeze_on = freeze_on
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def thaw(self) -> None:
        self.freeze_on = None
        self.frozen.clear()

    def close(self) -> None:
        self.closing = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            self._pipe(client, upstream, inspect=True)

    def _pipe(self, source: socket.socket, target: socket.socket, inspect: bool = False) -> None:
        try:
            while data := source.recv(65536):
                if inspect and self.freeze_on and self.freeze_on in data:
                    self.frozen.set()
                if self.frozen.is_set():
                    continue  # swallowed: the caller waits for an answer that never comes
                target.sendall(data)
        except OSError:
            pass
