"""Regenerate the initial migrations of Rapport's apps. Only for work that has not landed yet."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["contacts", "templates_mail", "campaigns", "tracking"]

for app in APPS:
    for migration in (ROOT / app / "migrations").glob("0*.py"):
        migration.unlink()
subprocess.run([sys.executable, "manage.py", "makemigrations", *APPS], cwd=ROOT, check=True)
subprocess.run([str(Path(sys.executable).parent / "ruff"), "format", "-q", *APPS], cwd=ROOT, check=True)
