"""`pip install .` ships a working server: flows and widget files come from the package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_an_installed_copy_finds_its_flows_and_widget(tmp_path: Path) -> None:
    target = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    probe = (
        "import bot.assets as a, bot.flowbook as f;"
        "print(a.flows_dir()); print(a.widget_dir());"
        "print(f.FlowBook.from_dir(a.flows_dir(), 'default').seed_ids()[0]);"
        "print((a.widget_dir() / 'widget.js').is_file(), (a.widget_dir() / 'demo.html').is_file())"
    )
    # Run from elsewhere, with only the installed copy importable.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(target)},
    )
    assert ran.returncode == 0, ran.stderr
    flows, widget, flow_id, files = ran.stdout.splitlines()
    assert flows.startswith(str(target)) and widget.startswith(str(target))
    assert flow_id == "default" and files == "True True"
