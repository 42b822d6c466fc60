"""The Python lint: pyflakes and pycodestyle (Debian packages; settings in setup.cfg) over every
Python file of the project, clean."""
import re
import subprocess

import pytest

from conftest import ROOT

PATHS = ["scripts", "tests/python", "bench/reference"]
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


# The C++ is formatted by .clang-format with the clang-format of Debian 12 (14): other versions
# break some lines differently, so elsewhere the check says why it does not run.
CLANG_FORMAT_MAJOR = 14


def clang_format_major():
    try:
        out = subprocess.run(["clang-format", "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except OSError:
        return None
    m = re.search(r"version (\d+)\.", out)
    return int(m[1]) if m else None


def cpp_files():
    names = subprocess.run(["git", "ls-files", "*.cpp", "*.hpp"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    return [n for n in names if not n.startswith("boost_src/")]


needs_clang_format = pytest.mark.skipif(
    clang_format_major() != CLANG_FORMAT_MAJOR,
    reason=f"the C++ is formatted with clang-format {CLANG_FORMAT_MAJOR} (Debian 12); this machine "
           f"has {clang_format_major() or 'none'}, which formats some lines differently")


@needs_clang_format
def test_the_cpp_is_clang_formatted():
    r = subprocess.run(["clang-format", "--dry-run", "--Werror", *cpp_files()], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    files = sorted(set(re.findall(r"^(\S+?):\d+:\d+: error", r.stderr, re.M)))
    assert r.returncode == 0, "not clang-formatted (run clang-format -i on them): " + ", ".join(
        files or [r.stderr[:500]])


@needs_clang_format
def test_the_format_check_reports_what_it_finds(tmp_path):
    (tmp_path / ".clang-format").write_text((ROOT / ".clang-format").read_text())
    (tmp_path / "bad.cpp").write_text("int  main( ){return 0;}\n")
    r = subprocess.run(["clang-format", "--dry-run", "--Werror", "bad.cpp"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "bad.cpp:" in r.stderr
