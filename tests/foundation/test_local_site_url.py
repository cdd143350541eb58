"""`make run` records its SITE_URL (with its PORT) under var/, and manage.py in another
terminal writes links to that server."""

import os
import subprocess
import sys
from pathlib import Path

from devtools import run

ROOT = Path(__file__).resolve().parents[2]


def site_url_seen_by_manage_py(var_dir: Path, **env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "SITE_URL"}
    environment |= {"DJANGO_SETTINGS_MODULE": "config.settings", "RAPPORT_VAR_DIR": str(var_dir), **env}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(settings.SITE_URL)",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_make_run_records_the_site_url_of_its_port(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "VAR", tmp_path)
    monkeypatch.delenv("SITE_URL", raising=False)
    assert run.record_site_url(8101) == "http://127.0.0.1:8101"
    assert (tmp_path / "site_url").read_text() == "http://127.0.0.1:8101"


def test_manage_py_in_another_terminal_uses_the_recorded_site_url(tmp_path):
    (tmp_path / "site_url").write_text("http://127.0.0.1:8101")
    assert site_url_seen_by_manage_py(tmp_path) == "http://127.0.0.1:8101"


def test_an_explicit_site_url_wins_over_the_recorded_one(tmp_path):
    (tmp_path / "site_url").write_text("http://127.0.0.1:8101")
    assert site_url_seen_by_manage_py(tmp_path, SITE_URL="https://mail.example.com") == "https://mail.example.com"
