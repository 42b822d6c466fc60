"""Shared fixtures: where the built binaries are, and a real mock_server child on port 0; the
checked-in results files. The tests are laid out like what they test: unit/ the iobench_tools
package in-process (unit/gate, unit/report as the package's gate/ and report/), e2e/ the built
binaries and the project's shell scripts, project/ the repository itself (lint, docs' links,
install-deps). Everything under e2e/ is marked `e2e`: `pytest tests/python/unit
tests/python/project` (or `-m "not e2e"`) runs the fast ones in about a minute; scripts/test.sh
runs all. iobench_tools imports through pyproject.toml's pythonpath, as it does when a script in
scripts/ runs."""
import os
import pathlib
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
E2E = pathlib.Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(config, items):
    for item in items:
        e2e = pathlib.Path(str(item.fspath)).resolve().is_relative_to(E2E)
        needs_binaries = {"bins", "mock_server"} & set(getattr(item, "fixturenames", ()))
        assert e2e or not needs_binaries, f"{item.nodeid} runs the binaries: it belongs in e2e/"
        if e2e:
            item.add_marker(pytest.mark.e2e)


def bin_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("IOBENCH_BIN", ROOT / "build" / "bin"))


@pytest.fixture(scope="session")
def bins() -> pathlib.Path:
    d = bin_dir()
    if not (d / "mock_server").exists():
        pytest.fail(f"{d}/mock_server is not built; run scripts/test.sh (or set IOBENCH_BIN)")
    return d


class MockServer:
    """A mock_server child process; .url is http://127.0.0.1:PORT."""

    def __init__(self, bins: pathlib.Path, tmp: pathlib.Path, *args: str):
        port_file = tmp / f"port-{time.monotonic_ns()}"
        self.proc = subprocess.Popen(
            [str(bins / "mock_server"), "--port", "0", "--port-file", str(port_file), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"mock_server did not start: {self.proc.communicate()}")
            time.sleep(0.01)
        self.url = port_file.read_text().strip()
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self, timeout: float = 15):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture
def mock_server(bins, tmp_path):
    servers = []

    def start(*args: str) -> MockServer:
        s = MockServer(bins, tmp_path, *args)
        servers.append(s)
        return s

    yield start
    for s in servers:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.communicate()


def children(pid):
    """{pid: argv} of the processes whose parent is `pid`."""
    found = {}
    for d in pathlib.Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == pid:
                found[int(d.name)] = (d / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
    return found


def running(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"
