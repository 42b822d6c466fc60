"""The pull-request workflow and the runner that runs it here (scripts/run-workflow.py).

.ci/run executes the real workflow's steps with the runner (the A/B gate included); these tests
check the workflow's shape and that the runner behaves like GitHub's: steps in order, a failure
stops what follows except `if: always()`, the job summary file, artifacts that must exist."""
import os
import re
import subprocess
from pathlib import Path

import yaml

from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "bench.yml"
RUNNER = ROOT / "scripts" / "run-workflow.py"


def runner(*args, cwd=ROOT):
    return subprocess.run(["/usr/bin/python3", str(RUNNER), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_workflow_is_valid_yaml_for_pull_requests():
    doc = yaml.safe_load(WORKFLOW.read_text())
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads `on` as true
    assert "pull_request" in triggers
    steps = doc["jobs"]["ab"]["steps"]
    assert steps[1]["uses"].startswith("actions/checkout@")
    assert steps[1]["with"]["fetch-depth"] == 0, "ab.sh builds the merge base from history"
    assert steps[-1]["uses"].startswith("actions/upload-artifact@")
    assert steps[-1]["if"] == "always()"


def test_the_workflow_runs_in_the_debian_that_ci_proves_from_a_fresh_root():
    """The job's container is a distribution install-deps.sh knows, and .ci/run runs the README's
    test command in a fresh root of that same release: the environment is one we have proven."""
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["ab"]
    assert job["container"] == "debian:13"
    deps = subprocess.run(["bash", str(ROOT / "scripts/install-deps.sh"), "--print"],
                          env=dict(os.environ, IOBENCH_DEPS_DISTRO=job["container"]),
                          capture_output=True, text=True, timeout=60)
    assert deps.returncode == 0 and "libboost1.83-dev" in deps.stdout.split(), deps.stderr
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^[^#]*scripts/fresh-root\.sh trixie .*scripts/test\.sh", ci, re.M), \
        ".ci/run runs scripts/test.sh in a fresh Debian 13 (trixie) root"
    # Only git goes in before the checkout (the image has none): everything else is the project's.
    first = job["steps"][0]
    assert "uses" not in first and "git ca-certificates" in first["run"]


def test_the_workflow_runs_only_the_projects_scripts():
    doc = yaml.safe_load(WORKFLOW.read_text())
    commands = []
    for step in doc["jobs"]["ab"]["steps"][1:]:  # [0] installs git for the checkout
        for line in str(step.get("run", "")).splitlines():
            # `x=$(scripts/...)` or `scripts/... args`
            line = re.sub(r"^\w+=\$\((.*)\)$", r"\1", line.strip())
            if line:
                commands.append(line.split()[0])
    assert commands == ["scripts/install-deps.sh", "scripts/test.sh", "scripts/gate-base.sh",
                        "scripts/ab.sh"]
    for c in commands:
        assert (ROOT / c).is_file(), c
    gate = next(s["run"] for s in doc["jobs"]["ab"]["steps"] if "ab.sh" in str(s.get("run")))
    assert '--summary "$GITHUB_STEP_SUMMARY"' in gate
    out = re.search(r"--out (\S+)", gate).group(1)
    assert doc["jobs"]["ab"]["steps"][-1]["with"]["path"].rstrip("/") == out, \
        "the artifact is what ab.sh writes"


def test_dry_run_lists_the_real_steps_in_order():
    r = runner(WORKFLOW, "--dry-run")
    assert r.returncode == 0, r.stderr
    order = [line.split(": ", 1)[1].split(")")[0] for line in r.stdout.splitlines()
             if line.startswith("run-workflow: step")]
    assert order == ["step 1 (Git for the checkout", "step 2 (Check out with history",
                     "step 3 (Install dependencies", "step 4 (Tests",
                     "step 5 (A/B gate against the merge base", "step 6 (Upload results and report"]
    assert "runs in container debian:13" in r.stdout


def write(tmp_path: Path, steps: str, name="w.yml", job_extra="") -> Path:
    f = tmp_path / name
    f.write_text("name: t\non: [pull_request]\njobs:\n  j:\n    runs-on: ubuntu-24.04\n"
                 + job_extra + "    steps:\n" + steps)
    return f


def test_a_container_job_runs_its_steps_here_and_says_so(tmp_path):
    log = tmp_path / "log"
    for container in ("    container: debian:13\n", "    container:\n      image: debian:13\n"):
        log.unlink(missing_ok=True)
        wf = write(tmp_path, f"      - run: echo ran >> {log}\n", job_extra=container)
        r = runner(wf, "--summary", tmp_path / "s.md")
        assert r.returncode == 0, r.stderr
        assert log.read_text() == "ran\n"
        assert "runs in container debian:13" in r.stdout
    # What a container job asks beyond its image (ports, volumes, options) cannot be given.
    for container in ("    container:\n      image: debian:13\n      options: --cpus 2\n",
                      "    container: ${{ matrix.image }}\n"):
        log.unlink(missing_ok=True)
        wf = write(tmp_path, f"      - run: echo ran >> {log}\n", job_extra=container)
        r = runner(wf, "--summary", tmp_path / "s.md")
        assert r.returncode == 2 and "container" in r.stderr, r.stderr
        assert not log.exists()


def test_steps_run_in_order_and_a_failure_skips_all_but_always(tmp_path):
    log = tmp_path / "log"
    wf = write(tmp_path, f"""\
      - run: echo one >> {log}
      - name: second
        run: echo two >> {log}; exit 3
      - run: echo never >> {log}
      - if: always()
        run: echo "## done" >> "$GITHUB_STEP_SUMMARY"; echo cleanup >> {log}
""")
    summary = tmp_path / "summary.md"
    r = runner(wf, "--summary", summary)
    assert r.returncode == 3, r.stdout + r.stderr
    assert log.read_text().split() == ["one", "two", "cleanup"]
    assert summary.read_text() == "## done\n"
    assert "step 3" in r.stdout and "skipped (an earlier step failed)" in r.stdout
    assert "## done" in r.stdout, "the summary is shown at the end"


def test_skip_and_env(tmp_path):
    log = tmp_path / "log"
    wf = write(tmp_path, f"""\
      - name: slow
        run: echo slow >> {log}
      - run: echo "$A $B" >> {log}
        env:
          B: step
""").read_text().replace("jobs:", "env:\n  A: workflow\njobs:")
    (tmp_path / "e.yml").write_text(wf)
    r = runner(tmp_path / "e.yml", "--skip", "slow", "--summary", tmp_path / "s.md")
    assert r.returncode == 0, r.stderr
    assert log.read_text().split() == ["workflow", "step"]


def test_upload_needs_its_files(tmp_path):
    wf = write(tmp_path, """\
      - uses: actions/upload-artifact@v4
        with:
          name: x
          path: reports/definitely-not-here-xyz/
          if-no-files-found: error
""")
    r = runner(wf, "--summary", tmp_path / "s.md")
    assert r.returncode == 1
    assert "nothing to upload" in r.stderr


def test_what_cannot_run_here_is_refused_before_anything_runs(tmp_path):
    log = tmp_path / "log"
    for steps, needle in [
        (f"      - run: echo ran >> {log}\n      - uses: docker/build-push-action@v5\n",
         "cannot run here"),
        (f"      - run: echo ran >> {log}\n      - run: echo ${{{{ github.sha }}}}\n",
         "expressions"),
        (f"      - run: echo ran >> {log}\n      - if: github.event_name == 'push'\n"
         "        run: echo x\n", "cannot evaluate"),
    ]:
        r = runner(write(tmp_path, steps), "--summary", tmp_path / "s.md")
        assert r.returncode == 2 and needle in r.stderr, r.stderr
        assert not log.exists(), "nothing runs when the workflow cannot run whole"
    bad = tmp_path / "bad.yml"
    bad.write_text("just: text\n")
    assert runner(bad).returncode == 2
