"""The local stack's state folder is its user's alone: ``stack down`` signals only processes
the stack started (their pid and start time recorded), files are never written through planted
symlinks, a folder others can write is refused, and a broken ``stack/.env`` is one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from obsgen.tools.stack import Component, LocalStack, StackError, ensure_env_file
from obsgen.tools.state_files import ProcessRecord
from tests.helpers import obsgen


@pytest.fixture
def bystander():
    """A process of someone else's that happens to have a pid."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


@pytest.mark.parametrize("recorded", ["plain", "other-start"])
def test_stack_down_never_signals_a_process_it_did_not_start(tmp_path, bystander, recorded):
    state = tmp_path / ".obsgen" / "stack"
    state.mkdir(parents=True)
    if recorded == "plain":  # any pid in a pid file (an old obsgen's, or planted)
        text = str(bystander.pid)
    else:  # the pid of a process started at another time: the pid was reused
        real = ProcessRecord.of(bystander.pid)
        assert real is not None
        text = ProcessRecord(bystander.pid, real.started + "0", real.program).text()
    for name in ("prometheus", "planted"):
        (state / f"{name}.pid").write_text(text)
    obsgen("init", cwd=tmp_path)
    result = obsgen("stack", "down", "--mode", "local", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert bystander.poll() is None  # still running
    assert not (state / "prometheus.pid").exists()  # the stale record is gone


def _sleeper(name: str = "demo") -> Component:
    command = (sys.executable, "-c", "import time; time.sleep(60)")
    return Component(name, command, "http://127.0.0.1:9/", "http://127.0.0.1:9/")


def test_a_started_process_is_recorded_and_stopped(tmp_path):
    stack = LocalStack(tmp_path, tmp_path / "state")
    stack._secure_state()
    sleeper = _sleeper()
    stack._record(sleeper, stack._start(sleeper))
    pid = stack.pid("demo")
    assert pid is not None
    assert stack.down() == ["demo"]
    assert stack.pid("demo") is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_state_files_are_not_written_through_planted_symlinks(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    state = tmp_path / "state"
    (state / "logs").mkdir(parents=True)
    (state / "demo.pid").symlink_to(victim)
    stack = LocalStack(tmp_path, state)
    sleeper = _sleeper()
    stack._record(sleeper, stack._start(sleeper))
    assert victim.read_text() == "precious\n"  # the pid file replaced the link
    assert not (state / "demo.pid").is_symlink() and stack.pid("demo") is not None
    stack.down()
    (state / "logs" / "other.log").symlink_to(victim)
    with pytest.raises(StackError, match=r"other\.log: cannot be written"):
        stack._start(_sleeper("other"))
    assert victim.read_text() == "precious\n"


def test_a_state_folder_others_can_write_is_refused(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o777)
    with pytest.raises(StackError, match="others can write to it"):
        LocalStack(tmp_path, state).down()
    obsgen("init", cwd=tmp_path)
    result = obsgen("stack", "status", "--mode", "local", "--state-dir", str(state), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "others can write to it" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_state_folder_of_another_user_is_refused(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 65534, 65534)  # nobody
    with pytest.raises(StackError, match="owned by user id 65534, not by you"):
        LocalStack(tmp_path, state).status()


def test_a_dangling_env_symlink_is_one_line(tmp_path):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / ".env").symlink_to(tmp_path / "nowhere")
    with pytest.raises(StackError, match=r"a symbolic link to .*nowhere', which does not exist"):
        ensure_env_file(tmp_path)


def test_a_dangling_env_symlink_is_one_line_for_docker_commands_too(tmp_path, monkeypatch):
    from obsgen.tools import stack, stack_commands

    obsgen("init", cwd=tmp_path)
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / ".env").symlink_to(tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(stack, "docker_engine_answers", lambda: True)  # as where Docker runs
    with pytest.raises(stack_commands.UsageError, match="which does not exist"):
        stack_commands.stack.main(["down", "--mode", "docker"], standalone_mode=False)
