"""Serving the stand-in provider with uvicorn: in the foreground (the `stand-in` command) or on a thread (tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from mcp_server_siliconflow_image.standin.provider import create_app
from mcp_server_siliconflow_image.standin.state import StandInState


class RunningStandIn:
    """A stand-in served by uvicorn on a background thread; `base_url` ends in /v1 like the real API."""

    def __init__(self, state: StandInState, host: str, port: int) -> None:
        import uvicorn

        self.state = state
        config = uvicorn.Config(create_app(state), host=host, port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="standin-provider", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the stand-in provider did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def origin(self) -> str:
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"


def serve_standin(state: StandInState, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the stand-in in the foreground until interrupted (the `stand-in` command)."""
    import uvicorn

    uvicorn.run(create_app(state), host=host, port=port, log_config=None, log_level="warning")


@contextmanager
def running_standin(
    state: StandInState | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningStandIn]:
    """Serve a stand-in provider on loopback for the duration of the block."""
    standin = RunningStandIn(state or StandInState(), host, port)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()
