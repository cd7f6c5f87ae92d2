"""Serve the dashboard from a subprocess, for the browser tests and `python -m dashboard.bench`.

Both start `streamlit run dashboard/app.py` on a free loopback port, wait for Streamlit's health
check and drive the page with Debian's Chromium through Playwright; this module holds that once.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dashboard.launch import streamlit_command
from dashboard.settings import REPO

# Playwright's own browser download cannot work offline; Debian's Chromium runs headless with
# these flags (root needs --no-sandbox; the rest keep it from calling out to a closed network).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(env: dict[str, str], log_path: Path, *, timeout: float = 60) -> Iterator[str]:
    """Run the app on 127.0.0.1 with `env` as its whole environment; yield its URL once it answers
    its health check, and stop it on leaving. If it dies or stays silent for `timeout` seconds,
    raise RuntimeError with the end of its log."""
    port = free_port()
    # The options `lmc dashboard` serves with (dashboard/launch.py), so tests see what users get.
    command = streamlit_command(["--host", "127.0.0.1", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        tail = Path(log_path).read_text()[-3000:]
                        raise RuntimeError(
                            f"the dashboard did not start (exit {proc.poll()}):\n{tail}"
                        ) from None
                    time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
