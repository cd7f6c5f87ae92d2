"""Uploaded checkpoints live in the server's own private folder, checked by content."""

import hashlib
import stat
import subprocess
import sys
from pathlib import Path

from dashboard import model_state


def test_an_upload_goes_to_a_private_folder_of_this_server():
    path = model_state.save_upload(b"weights", "m.safetensors")
    folder = path.parent
    assert folder == model_state.upload_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (
        folder.name.startswith("lmc-dashboard-uploads-") and folder.name != "lmc-dashboard-uploads"
    )
    assert path.read_bytes() == b"weights" and path.suffix == ".safetensors"
    assert model_state.save_upload(b"weights", "again.safetensors") == path


def test_a_file_planted_under_the_uploads_hash_is_replaced():
    data = b"the real upload"
    name = hashlib.sha256(data).hexdigest()[:32] + ".pt"
    planted = model_state.upload_dir() / name
    planted.write_bytes(b"something else")
    path = model_state.save_upload(data, "x.pt")
    assert path == planted and path.read_bytes() == data


def test_the_folder_is_removed_when_the_server_exits():
    code = (
        "from dashboard import model_state\nprint(model_state.save_upload(b'w', 'm.pt').parent)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    folder = Path(out.stdout.strip())
    assert folder.name.startswith("lmc-dashboard-uploads-")
    assert not folder.exists()
