"""The Python lint: pyflakes and pycodestyle (Debian packages; settings in setup.cfg) over every
Python file of the project, clean."""
import subprocess

import pytest

from conftest import ROOT

PATHS = ["scripts", "tests/scripts", "bench/reference"]
TOOLS = ["pyflakes", "pycodestyle"]


def lint(tool: str, *paths: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/python3", "-m", tool, *paths], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("tool", TOOLS)
def test_the_project_is_clean(tool):
    r = lint(tool, *PATHS)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


@pytest.mark.parametrize("tool", TOOLS)
def test_the_linters_report_what_they_find(tool, tmp_path):
    # The check above means something only if a finding fails it.
    (tmp_path / "bad.py").write_text("import os\n" + "x = 1  # " + "z" * 100 + "\n")
    r = lint(tool, "bad.py", cwd=tmp_path)
    assert r.returncode != 0 and "bad.py:" in r.stdout


def test_lines_may_be_100_columns_and_no_more():
    # pycodestyle reads setup.cfg from the folder it runs in (and those above).
    for columns, clean in ((100, True), (101, False)):
        line = "x = '" + "y" * (columns - 6) + "'\n"
        assert len(line) == columns + 1
        r = subprocess.run(["/usr/bin/python3", "-m", "pycodestyle", "-"], cwd=ROOT, input=line,
                           capture_output=True, text=True, timeout=60)
        assert (r.returncode == 0) == clean, (columns, r.stdout)
