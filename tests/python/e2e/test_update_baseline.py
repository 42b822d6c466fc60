"""scripts/update-baseline.sh refuses to record ci.json from sources other than the baseline
commit's (it would pass off their numbers as the commit's), before it writes anything."""
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.e2e  # runs the project's shell scripts


def test_sources_other_than_the_baseline_commits_are_refused_before_anything_is_written(
        tmp_path):
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    commit = (repo / "reports" / "baseline" / "commit").read_text()
    suite = repo / "bench" / "suite.cpp"
    suite.write_text(suite.read_text() + "\n// an uncommitted change\n")
    script = repo / "scripts" / "update-baseline.sh"
    for args in ([], ["--commit", "HEAD~1"]):
        r = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, r.stdout + r.stderr
        (line,) = r.stderr.strip().splitlines()
        assert "the working tree's sources differ from" in line and "ci.json would measure " \
            "them, not the baseline commit" in line
        assert (repo / "reports" / "baseline" / "commit").read_text() == commit
    subprocess.run(["git", "-C", str(repo), "checkout", "--quiet", "--", "bench/suite.cpp"],
                   check=True)
    r = subprocess.run([str(script), "--commit-only"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert (repo / "reports" / "baseline" / "commit").read_text().splitlines()[-1] == sha
