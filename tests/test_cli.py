"""The `nt-complex phase-diagram` command: c* by default for every activation
(modReLU included since its c iteration became cheap), `--no-c-star` skips it,
the figure is written, bad arguments name themselves."""

import argparse

import pytest

import nt_complex.phase
from nt_complex.cli import main
from nt_complex.phase.cli import add_phase_diagram_command


def _recording_phase_diagram(monkeypatch):
    calls = []
    real = nt_complex.phase.phase_diagram

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(nt_complex.phase, "phase_diagram", recording)
    return calls


def test_phase_diagram_command_computes_c_star_unless_told_not_to(tmp_path, monkeypatch):
    calls = _recording_phase_diagram(monkeypatch)
    for flag, expected in (([], True), (["--no-c-star"], False)):
        out = tmp_path / f"erf{len(flag)}.png"
        argv = ["phase-diagram", "--activation", "erf", "--grid", "3", "2", "--out", str(out)]
        assert main(argv + flag) == 0
        assert out.stat().st_size > 10_000  # a PNG with a colour map
        assert calls[-1]["correlation"] is expected


def test_phase_diagram_command_defaults_and_errors(monkeypatch, capsys):
    parser = argparse.ArgumentParser()
    add_phase_diagram_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["phase-diagram", "--activation", "modrelu", "--out", "x.png"])
    assert args.c_star is True and args.grid == [60, 40] and args.modrelu_b == -0.5
    calls = _recording_phase_diagram(monkeypatch)
    with pytest.raises(SystemExit, match="--grid: expected M >= 2"):
        main(["phase-diagram", "--grid", "1", "5", "--out", "unused.png"])
    with pytest.raises(SystemExit):
        main(["phase-diagram", "--activation", "tanh", "--out", "unused.png"])
    assert "invalid choice: 'tanh'" in capsys.readouterr().err
    assert not calls
