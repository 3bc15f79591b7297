"""Small parts of the stack runner: the Grafana password file and port probing."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from obsgen.tools.stack import StackError, ensure_env_file, port_is_free


def test_env_file_is_created_private_with_a_random_password(tmp_path):
    first = ensure_env_file(tmp_path)
    env_file = tmp_path / "stack" / ".env"
    assert len(first) >= 20 and first != "admin"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert ensure_env_file(tmp_path) == first  # kept, not replaced
    other = tmp_path / "other"
    assert ensure_env_file(other) != first


def test_env_file_without_the_password_line_is_an_error(tmp_path):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / ".env").write_text("SOMETHING=else\n")
    with pytest.raises(StackError, match="no GRAFANA_ADMIN_PASSWORD"):
        ensure_env_file(tmp_path)


def test_env_file_is_never_readable_by_others_while_it_is_written(tmp_path, monkeypatch):
    modes = []
    real_fdopen = os.fdopen

    def watching(handle, *args, **kwargs):  # the file exists from here on: look at its mode
        modes.append(stat.S_IMODE(os.fstat(handle).st_mode))
        return real_fdopen(handle, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", watching)
    monkeypatch.setattr(os, "umask", lambda mask: 0)
    ensure_env_file(tmp_path)
    assert modes == [0o600]


@pytest.mark.parametrize("password", ["", "admin", "short-pass1"])
def test_an_empty_or_weak_password_is_refused(tmp_path, password):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / ".env").write_text(f"GRAFANA_ADMIN_PASSWORD={password}\n")
    with pytest.raises(StackError, match=r"GRAFANA_ADMIN_PASSWORD is (empty|weak)"):
        ensure_env_file(tmp_path)


def test_port_probe():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        assert not port_is_free(holder.getsockname()[1])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert port_is_free(port)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.skipif(not _has_user("postgres"), reason="no postgres user on this machine")
def test_the_folder_the_postgres_user_cannot_enter_is_found():
    import shutil
    import tempfile

    from obsgen.tools.postgres_local import _reachable

    base = Path(tempfile.mkdtemp(prefix="obsgen-reach-"))
    try:
        base.chmod(0o755)
        open_state = base / "open" / "state"
        open_state.mkdir(parents=True)
        private = base / "private"
        (private / "state").mkdir(parents=True)
        private.chmod(0o700)
        assert _reachable(open_state, "postgres") is None
        assert _reachable(private / "state", "postgres") == private
    finally:
        shutil.rmtree(base)
