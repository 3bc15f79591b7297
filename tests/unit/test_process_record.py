"""A process record names the program a started child runs, even when it is read while the
child is still inside execve (its command line empty for a moment)."""

from __future__ import annotations

from obsgen.tools import state_files
from obsgen.tools.state_files import ProcessRecord


def test_a_record_read_inside_execve_waits_for_the_program_name(monkeypatch):
    readings = iter([("4242", ""), ("4242", ""), ("4242", "python3")])
    monkeypatch.setattr(state_files, "identity", lambda pid: next(readings))
    record = ProcessRecord.of(1234)
    assert record is not None and record.program == "python3" and record.started == "4242"


def test_a_process_gone_while_read_has_no_record(monkeypatch):
    readings = iter([("4242", ""), None])
    monkeypatch.setattr(state_files, "identity", lambda pid: next(readings))
    assert ProcessRecord.of(1234) is None
