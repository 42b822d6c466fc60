"""scripts/fresh-root.sh: commands run in a fresh copy of a cached root with the committed tree
and a plain environment, their status comes back, and nothing is left behind (no process, mount
or folder), whether the commands end, are interrupted or are terminated.

The cached root here is a small one made from this machine's bash and coreutils (the real one is
debootstrapped from the network once, which .ci/run exercises), put where the script looks for
its cache, so these tests need root and namespaces but no mirror."""
import os
import selectors
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.e2e  # runs the project's shell scripts

SCRIPT = ROOT / "scripts" / "fresh-root.sh"
TOOLS = ["bash", "env", "sleep", "cat"]

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("chroot")
    or not shutil.which("debootstrap"),
    reason="needs root, unshare, chroot and debootstrap")


def shared_libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [w for line in out.splitlines() for w in line.split() if w.startswith("/")]


def make_cached_root(cache: Path) -> None:
    """A root with just enough to run bash: what the script unpacks as if debootstrap made it."""
    root = cache / "build"
    for d in ("etc", "proc", "sys", "dev", "root", "tmp", "usr/bin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        path = shutil.which(tool)
        shutil.copy2(path, root / "usr/bin" / tool)
        for lib in shared_libraries(path):
            dest = root / lib.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, dest)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    with tarfile.open(cache / f"trixie-{arch}-minbase.tar.gz", "w:gz") as tar:
        tar.add(root, arcname=".")
    shutil.rmtree(root)


@pytest.fixture
def project(tmp_path):
    """A one-commit checkout holding the script, plus an uncommitted change and an untracked
    file; its cache holds the small root; TMPDIR is a folder of its own. Whatever a failing run
    leaves running in its root is killed afterwards (its mounts end with it)."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy2(SCRIPT, repo / "scripts" / "fresh-root.sh")
    (repo / "a.txt").write_text("committed\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    (repo / "a.txt").write_text("changed\n")
    (repo / "b.txt").write_text("untracked\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    make_cached_root(cache)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, IOBENCH_ROOT_CACHE=str(cache), TMPDIR=str(work),
               IOBENCH_ROOT_MIRROR="http://127.0.0.1:9/debian", IOBENCH_MARKER="from-outside")
    yield repo, work, env
    for pid in run_processes(work):
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue


def run_processes(work: Path) -> dict[int, str]:
    """Processes of any run under `work`: those whose root is there, and those that see a mount
    there (a process in the run's mount namespace; or any, this one too, had a mount leaked)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "root").startswith(str(work)):
                found[int(proc.name)] = "runs in the root"
            elif str(work) in (proc / "mountinfo").read_text():
                found[int(proc.name)] = "sees a mount there"
        except OSError:
            continue  # ended meanwhile, or a kernel thread
    return found


def leftovers(work: Path) -> list[str]:
    """Folders, processes and mounts of any run under `work` that still exist."""
    return [str(p) for p in work.iterdir()] + [
        f"process {pid} {what}" for pid, what in run_processes(work).items()]


@needs_root
def test_commands_run_in_the_committed_tree_with_a_plain_environment(project):
    repo, work, env = project
    commands = ('cat a.txt; test -e b.txt && echo b-copied; echo "marker=${IOBENCH_MARKER:-unset}";'
                ' echo "pwd=$PWD"; echo x >/dev/null && test -r /proc/self/status &&'
                ' test -d /sys/kernel && echo mounted;'
                ' cat /proc/self/status;'
                ' exit 7')
    r = subprocess.run(["bash", str(repo / "scripts/fresh-root.sh"), "trixie", commands],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 7, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "committed" in lines and "changed" not in lines, "the tree at HEAD, not the worktree"
    assert "b-copied" not in lines
    assert "marker=unset" in lines, "nothing from the caller's environment"
    assert "pwd=/root/iobench" in lines and "mounted" in lines
    # What a command started there ignores (its shell keeps handlers of its own).
    ignored = int(next(x for x in lines if x.startswith("SigIgn:")).split()[1], 16)
    assert not ignored & (1 << (signal.SIGINT - 1) | 1 << (signal.SIGQUIT - 1)), \
        "Ctrl-C works in the root (nothing inherited SIGINT ignored)"
    assert any("1 uncommitted changes left out" in line for line in lines)
    assert any(line.startswith("fresh-root: trixie: exit 7 after") for line in lines)
    assert leftovers(work) == []


@needs_root
@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_every_process_and_removes_every_mount_and_folder(project, sig, status):
    repo, work, env = project
    p = subprocess.Popen(["bash", str(repo / "scripts/fresh-root.sh"), "trixie",
                          "sleep 600 & echo ready; sleep 600"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        seen = []
        deadline = time.monotonic() + 120
        with selectors.DefaultSelector() as sel:
            sel.register(p.stdout, selectors.EVENT_READ)
            while "ready" not in seen and p.poll() is None and time.monotonic() < deadline:
                if sel.select(timeout=1):
                    seen.append(p.stdout.readline().strip())
        assert "ready" in seen, seen
        running = run_processes(work)
        assert len(running) >= 2 and os.getpid() not in running, running  # two sleeps at least
        p.send_signal(sig)  # to the script alone, as kill PID does: it must end the rest itself
        rest, _ = p.communicate(timeout=60)  # ends once nothing holds its output open
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == status, rest
    assert "fresh-root: removed" in rest
    assert leftovers(work) == []


def test_bad_usage_and_what_is_missing_are_one_line_and_exit_2(tmp_path):
    def run(*args, path=None):
        env = dict(os.environ)
        if path is not None:
            env["PATH"] = path
        return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                              env=env, timeout=60)
    r = run("--help")
    assert r.returncode == 0 and "SUITE" in r.stdout and "set -e" not in r.stdout
    for args, needle in [((), "needs SUITE and 'COMMANDS'"),
                         (("sid", "true"), "bookworm or trixie"),
                         (("trixie", " "), "COMMANDS is empty"),
                         (("--x", "trixie", "true"), "unknown option")]:
        r = run(*args)
        assert r.returncode == 2 and needle in r.stderr and len(r.stderr.splitlines()) == 1, r
    if os.geteuid() == 0:
        # debootstrap lives in /usr/sbin: without it on the PATH the script must say so.
        r = run("trixie", "true", path="/usr/bin:/bin")
        assert r.returncode == 2 and "needs debootstrap" in r.stderr, r.stderr
        # As another user, from a copy that user can read.
        top = Path(tempfile.mkdtemp())
        try:
            (top / "scripts").mkdir()
            shutil.copy2(SCRIPT, top / "scripts")
            for d in (top, top / "scripts"):
                d.chmod(0o755)
            r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                "bash", str(top / "scripts/fresh-root.sh"), "trixie", "true"],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 2 and "needs root" in r.stderr, r.stderr
        finally:
            shutil.rmtree(top)
