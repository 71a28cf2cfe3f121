"""`make run` (scripts/run.py + Procfile.dev) with the data directory somewhere other than `.data`."""

import importlib.util
import os
import subprocess
from pathlib import Path

from honcho.environ import parse_procfile

BASE_DIR = Path(__file__).resolve().parents[2]


def _load_run_script():
    spec = importlib.util.spec_from_file_location("holdfast_run_script", BASE_DIR / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _procfile_args(name: str, env: dict[str, str], tmp_path: Path) -> list[str]:
    """The arguments the Procfile's process ``name`` gives its program, run by the shell as honcho runs it."""
    command = parse_procfile((BASE_DIR / "Procfile.dev").read_text()).processes[name]
    program = command.split()[0]
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    args_file = tmp_path / "args"
    fake = fake_bin / program
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{args_file}"\n')
    fake.chmod(0o755)
    env = dict(env, PATH=f"{fake_bin}{os.pathsep}{env['PATH']}")
    subprocess.run(command, shell=True, env=env, cwd=BASE_DIR, check=True, timeout=30)
    return args_file.read_text().splitlines()


def test_beat_keeps_its_schedule_in_the_configured_data_dir(tmp_path):
    run = _load_run_script()
    data_dir = tmp_path / "elsewhere" / "holdfast-data"
    env = run.procfile_environment(data_dir=data_dir, environ={"PATH": os.environ["PATH"]})

    args = _procfile_args("beat", env, tmp_path)

    schedule = Path(args[args.index("--schedule") + 1])
    assert schedule == data_dir / "celerybeat-schedule"
    assert schedule.parent.is_dir()  # beat can create its file there
