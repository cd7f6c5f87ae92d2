"""How the dashboard is served, wherever the command starts: Streamlit's options and its command.

Streamlit reads `.streamlit/config.toml` from the working folder only, so a server started
anywhere else would listen on every interface with Streamlit's defaults (200 MB uploads, full
error details). The options therefore travel on the command line, which outranks any config file
the folder may hold: `lmc dashboard`, `make dashboard` (through `lmc dashboard`), the browser
tests and the benchmarks all build their command here.

    lmc dashboard [--host ADDRESS] [--port N] [--section.option VALUE ...]

`--host` (default 127.0.0.1: this machine only) and `--port` (default 8501) are ours; any other
flag goes to `streamlit run` and replaces the option of the same name below.
"""

from __future__ import annotations

import sys

from dashboard import APP
from dashboard.settings import MAX_UPLOAD_MB

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501

# Every option the dashboard depends on, as `streamlit run` flags take them.
OPTIONS: dict[str, str] = {
    "server.headless": "true",
    "server.address": DEFAULT_HOST,
    "server.port": str(DEFAULT_PORT),
    "server.enableXsrfProtection": "true",
    # Uploads above this are refused by the server; the pages check again in code.
    "server.maxUploadSize": str(MAX_UPLOAD_MB),
    "server.fileWatcherType": "none",
    "browser.gatherUsageStats": "false",
    # Every page catches the project's errors and shows their message; anything else that
    # escapes shows Streamlit's generic message, never a traceback (it goes to the server's log).
    "client.showErrorDetails": "none",
    "client.toolbarMode": "viewer",
    # A light theme and a dark one: the page follows the browser's choice (and the settings
    # menu switches it); the figures draw on Streamlit's theme, so they follow it too.
    "theme.font": "sans serif",
    "theme.light.primaryColor": "#2563eb",
    "theme.light.backgroundColor": "#ffffff",
    "theme.light.secondaryBackgroundColor": "#f4f6fb",
    "theme.light.textColor": "#1f2937",
    "theme.dark.primaryColor": "#60a5fa",
    "theme.dark.backgroundColor": "#0f172a",
    "theme.dark.secondaryBackgroundColor": "#1e293b",
    "theme.dark.textColor": "#e5e7eb",
}


def _option_name(flag: str) -> str | None:
    """'--server.port=1' or '--server.port' -> 'server.port'; None for anything else."""
    if not flag.startswith("--") or "." not in flag:
        return None
    return flag[2:].split("=", 1)[0]


def streamlit_args(argv: list[str]) -> list[str]:
    """`streamlit run` arguments after the script: OPTIONS, with `--host ADDRESS` and `--port N`
    taken out of argv into server.address and server.port, then argv's other flags (an option
    argv names replaces ours). A --host or --port without a value raises ValueError."""
    options = dict(OPTIONS)
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        name, _, value = arg.partition("=")
        if name in ("--host", "--port"):
            if not value:
                value = next(args, "")
            if not value or value.startswith("--"):
                raise ValueError(f"{name} needs a value, e.g. --host 0.0.0.0 or --port 8502")
            options["server.address" if name == "--host" else "server.port"] = value
            continue
        option = _option_name(arg)
        if option is not None:
            options.pop(option, None)
        rest.append(arg)
    flags = [part for name, value in options.items() for part in (f"--{name}", value)]
    return flags + rest


def streamlit_command(argv: list[str]) -> list[str]:
    """The whole command: this Python's `streamlit run dashboard/app.py` with `streamlit_args`."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), *streamlit_args(argv)]
