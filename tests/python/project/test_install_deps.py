"""scripts/install-deps.sh: the package list of each distribution it knows (--print, which never
installs), and a refusal that lists what is needed everywhere else."""
import os
import subprocess

import pytest

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "install-deps.sh"


def deps(*args, distro=None):
    env = dict(os.environ)
    env.pop("IOBENCH_DEPS_DISTRO", None)
    if distro is not None:
        env["IOBENCH_DEPS_DISTRO"] = distro
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=60)


@pytest.mark.parametrize("distro, boost, nginx, absent", [
    ("debian:12", "1.81", "nginx-light", "nginx"),
    ("debian:13", "1.83", "nginx", "nginx-light"),
    ("ubuntu:24.04", "1.83", "nginx", "nginx-light"),
])
def test_each_known_distribution_has_its_own_boost_and_nginx(distro, boost, nginx, absent):
    r = deps("--print", distro=distro)
    assert r.returncode == 0, r.stderr
    packages = r.stdout.split()
    assert len(packages) == len(set(packages)), "no package twice"
    for lib in ("", "-json", "-url"):
        assert f"libboost{lib}{boost}-dev" in packages
    assert nginx in packages and absent not in packages
    # The distribution's default clang with its runtimes (libFuzzer) for scripts/fuzz.sh, and
    # debootstrap for scripts/fresh-root.sh; no versioned clang that one of them lacks.
    assert {"clang", "libclang-rt-dev", "debootstrap", "g++", "cmake",
            "libssl-dev"} <= set(packages)
    assert not [p for p in packages if p.startswith("clang-") and p != "clang-format"]
    # Debian's chromium renders the report for its layout test; Ubuntu's is a snap.
    assert ("chromium" in packages) == distro.startswith("debian")


@pytest.mark.parametrize("distro, needle", [
    ("ubuntu:22.04", "Boost 1.74"),
    ("debian:11", "is not supported (known: Debian 12 and 13, Ubuntu 24.04)"),
    ("fedora:40", "is not supported"),
])
def test_other_distributions_are_refused_with_what_is_needed(distro, needle):
    r = deps("--print", distro=distro)
    assert r.returncode == 1
    assert r.stdout == ""
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, "one line"
    assert "Boost >= 1.81" in r.stderr


def test_help_and_a_bad_option():
    r = deps("--help")
    assert r.returncode == 0 and "--print" in r.stdout and "set -e" not in r.stdout
    r = deps("--frobnicate")
    assert r.returncode == 2 and "unknown option" in r.stderr
