"""`lmc dashboard` serves with the dashboard's own options wherever it starts (dashboard/launch.py):
this machine only unless --host says otherwise, XSRF protection, the 64 MB upload cap, no error
details. The last test starts the real command in an empty folder and asks the running server."""

import asyncio
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

import lmc_cli
from dashboard import APP, launch
from dashboard.server import free_port
from dashboard.settings import MAX_UPLOAD_MB

MB = 1024 * 1024


def options(args: list[str]) -> dict[str, str]:
    """--name value pairs of a streamlit command line."""
    return dict(zip(args[::2], args[1::2], strict=True))


def test_the_options_come_with_the_command():
    command = launch.streamlit_command([])
    assert command[1:5] == ["-m", "streamlit", "run", str(APP)]
    got = options(command[5:])
    assert got["--server.address"] == "127.0.0.1"
    assert got["--server.enableXsrfProtection"] == "true"
    assert got["--server.maxUploadSize"] == str(MAX_UPLOAD_MB) == "64"
    assert got["--client.showErrorDetails"] == "none"
    assert got["--server.headless"] == "true"


def test_host_and_port_flags_and_streamlit_options_replace_ours():
    got = options(launch.streamlit_args(["--host", "0.0.0.0", "--port=8600"]))
    assert got["--server.address"] == "0.0.0.0" and got["--server.port"] == "8600"
    args = launch.streamlit_args(["--server.maxUploadSize=10", "--theme.base", "dark"])
    assert "--server.maxUploadSize" not in args and args[-3:] == [
        "--server.maxUploadSize=10",
        "--theme.base",
        "dark",
    ]
    assert options(args[:-3])["--client.showErrorDetails"] == "none"


def test_a_host_without_a_value_is_one_line_and_status_2(capsys):
    with pytest.raises(SystemExit) as stop:
        lmc_cli.main(["dashboard", "--port", "9", "--host"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "lmc dashboard: --host needs a value, e.g. --host 0.0.0.0 or --port 8502"
    )


# ---------------------------------------------------------------------- the running server
async def _upload_statuses(port: int, cookie: str, token: str) -> tuple[int, int]:
    """In a session of the running app, opened as the browser does (the XSRF token in the
    websocket's subprotocols), the statuses of an upload announcing one byte over the cap and
    of a small one."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=["streamlit", token],
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
        max_size=None,
    ) as ws:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        await ws.send(rerun.SerializeToString())
        while True:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(ws.recv(), 30))
            if message.WhichOneof("type") == "new_session":
                break
        session = message.new_session.initialize.session_id  # valid while the socket is open
        over = _announced_upload(port, session, cookie, token, MAX_UPLOAD_MB * MB + 1)
        return over, _upload(port, session, cookie, token, 1000)


def _upload(port: int, session: str, cookie: str, token: str, size: int) -> int:
    """PUT a file of `size` bytes as the file uploader does; the HTTP status."""
    boundary = "lmc-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.npy"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/_stcore/upload_file/{session}/file-1",
        data=body,
        method="PUT",
        headers={
            "Cookie": cookie,
            "X-Xsrftoken": token,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def _announced_upload(port: int, session: str, cookie: str, token: str, size: int) -> int:
    """The status of an upload whose headers announce `size` bytes, before any is sent."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("PUT", f"/_stcore/upload_file/{session}/file-2")
        for name, value in (
            ("Cookie", cookie),
            ("X-Xsrftoken", token),
            ("Content-Type", "multipart/form-data; boundary=b"),
            ("Content-Length", str(size)),
        ):
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def _listening(root: psutil.Process, port: int) -> set[str]:
    """The addresses the process (or a child) listens on at `port`."""
    found = set()
    for proc in [root, *root.children(recursive=True)]:
        for conn in proc.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
                found.add(conn.laddr.ip)
    return found


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs coreutils' timeout")
def test_lmc_dashboard_from_an_empty_folder_is_safe(tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    # The UMAP warm-up is not what this test is about: a stamp says it was done.
    numba = tmp_path / "numba"
    numba.mkdir()
    (numba / ".umap-warm").touch()
    port = free_port()
    lmc = Path(sys.executable).with_name("lmc")  # the console script beside this interpreter
    assert lmc.is_file(), f"{lmc}: the lmc command is not installed (pip install -e .)"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(numba), LMC_CACHE_DIR=str(tmp_path / "cache"))
    # `timeout` stops the server by itself even if this test dies before its `finally`.
    server = subprocess.Popen(
        ["timeout", "120", str(lmc), "dashboard", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the server did not answer in 60 s"
                time.sleep(0.1)
        assert not (folder / ".streamlit").exists()
        # Bound to loopback only.
        assert _listening(psutil.Process(server.pid), port) == {"127.0.0.1"}
        # XSRF on: the server hands out its token cookie.
        cookie = health.headers["Set-Cookie"].split(";")[0]
        name, token = cookie.split("=", 1)
        assert name == "_streamlit_xsrf" and token
        # The upload cap: refused above 64 MB, a real file under it accepted.
        over, small = asyncio.run(_upload_statuses(port, cookie, token))
        assert over == 413 and small in (200, 204)
        # No error details: not observable without an error, so read what the server runs with.
        (streamlit,) = psutil.Process(server.pid).children()
        cmdline = streamlit.cmdline()
        assert cmdline[cmdline.index("--client.showErrorDetails") + 1] == "none"
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
