"""Run a GitHub Actions workflow's steps here, in order, as the runner would: proof that the
workflow works without pushing it anywhere. .ci/run uses it for .github/workflows/bench.yml.

    scripts/run-workflow.py WORKFLOW.yml [--job NAME] [--skip STEP]... [--summary FILE]
                            [--dry-run]

A job's `container:` (an image name, or `image:` alone) is not started: its steps run on this
machine, and the runner says so (.ci/run proves the image's distribution separately, with
scripts/fresh-root.sh). `run:` steps run with bash -eo pipefail in the repository root, with the
workflow's, the job's
and the step's `env`, plus GITHUB_STEP_SUMMARY (a local file, printed at the end),
GITHUB_WORKSPACE and CI=true. Of `uses:` steps it knows two: actions/checkout (checks that this is
a git checkout, with full history when fetch-depth is 0) and actions/upload-artifact (checks that
the paths exist and says what would be uploaded); any other action is an error, since it cannot
be run here. A failed step skips the rest, except steps with `if: always()`. Expressions (${{ }})
in a `run:` cannot be evaluated here and are an error. --skip takes a step's name or id (for a
step the caller has already run).
Exit: the first failed step's status; 0 when every step passed; 2 for a workflow it cannot run.
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
from pathlib import Path

import yaml

from iobench_tools import ROOT


class WorkflowError(Exception):
    """The workflow cannot be run here; the message is the one line a user sees."""


def load(path: Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise WorkflowError(f"cannot read {path}: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("jobs"), dict) or not doc["jobs"]:
        raise WorkflowError(f"{path} is not a workflow (no jobs)")
    # YAML 1.1 reads the key `on` as the boolean true.
    if "on" not in doc and True not in doc:
        raise WorkflowError(f"{path} has no `on:` (when it runs)")
    return doc


def pick_job(doc: dict, name: str | None) -> tuple[str, dict]:
    jobs = doc["jobs"]
    if name is None:
        if len(jobs) != 1:
            raise WorkflowError(f"the workflow has jobs {', '.join(jobs)}: choose one with --job")
        name = next(iter(jobs))
    if name not in jobs:
        raise WorkflowError(f"no job '{name}' (jobs: {', '.join(jobs)})")
    job = jobs[name]
    if not isinstance(job, dict) or not isinstance(job.get("steps"), list):
        raise WorkflowError(f"job '{name}' has no steps")
    return name, job


def os_release() -> dict:
    try:
        lines = Path("/etc/os-release").read_text().splitlines()
    except OSError:
        return {}
    return {k: v.strip('"') for k, _, v in (line.partition("=") for line in lines) if v}


def container_note(name: str, job: dict) -> str | None:
    """What this runner does with the job's container (it starts none); None without one."""
    container = job.get("container")
    if container is None:
        return None
    if isinstance(container, dict):
        extra = sorted(set(container) - {"image"})
        if extra:
            raise WorkflowError(f"job '{name}': container {', '.join(extra)} cannot be honoured "
                                "here (only image:)")
        container = container.get("image")
    if not isinstance(container, str) or not container or "${{" in container:
        raise WorkflowError(f"job '{name}': container: needs an image name written out")
    here = os_release()
    distro = f"{here.get('ID', '?')}:{here.get('VERSION_ID', '?')}"
    pretty = here.get("PRETTY_NAME", distro)
    if container == distro:
        return f"job '{name}' runs in container {container}: this machine is {pretty}"
    return (f"job '{name}' runs in container {container} on GitHub; here its steps run on this "
            f"machine ({pretty}), not in that image")


def step_title(i: int, step: dict) -> str:
    what = step.get("name") or step.get("uses") or str(step.get("run", "")).splitlines()[0]
    return f"step {i + 1} ({what})"


def check_step(i: int, step: dict) -> None:
    if not isinstance(step, dict) or ("run" in step) == ("uses" in step):
        raise WorkflowError(f"step {i + 1}: needs exactly one of run: or uses:")
    if "run" in step and "${{" in str(step["run"]):
        raise WorkflowError(f"{step_title(i, step)}: ${{{{ }}}} expressions in run: cannot be "
                            "evaluated here; pass them through env: instead")
    cond = str(step.get("if", "")).strip()
    if cond not in ("", "always()", "success()", "failure()"):
        raise WorkflowError(f"{step_title(i, step)}: cannot evaluate `if: {cond}` here")
    if "uses" in step:
        action = str(step["uses"]).split("@")[0]
        if action not in ("actions/checkout", "actions/upload-artifact"):
            raise WorkflowError(f"{step_title(i, step)}: {step['uses']} cannot run here")


def run_checkout(step: dict) -> int:
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT,
                            capture_output=True, text=True)
    if inside.returncode != 0:
        print("run-workflow: not a git checkout", file=sys.stderr)
        return 1
    depth = (step.get("with") or {}).get("fetch-depth", 1)
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()
    if str(depth) == "0" and shallow == "true":
        print("run-workflow: the step asks for full history (fetch-depth: 0) but this clone is "
              "shallow: git fetch --unshallow", file=sys.stderr)
        return 1
    print("run-workflow: checked out (this working tree)")
    return 0


def run_upload(step: dict) -> int:
    opts = step.get("with") or {}
    paths = [p for p in str(opts.get("path", "")).splitlines() if p.strip()]
    files = []
    for p in paths:
        for match in glob.glob(str(ROOT / p.strip()), recursive=True):
            m = Path(match)
            files += [f for f in m.rglob("*") if f.is_file()] if m.is_dir() else [m]
    if not files:
        if opts.get("if-no-files-found", "warn") == "error":
            print(f"run-workflow: nothing to upload at {', '.join(paths)}", file=sys.stderr)
            return 1
        print(f"run-workflow: warning: nothing to upload at {', '.join(paths)}")
        return 0
    size = sum(f.stat().st_size for f in files)
    print(f"run-workflow: would upload {len(files)} files ({size / 1e6:.1f} MB) as artifact "
          f"'{opts.get('name', 'artifact')}'")
    return 0


def run_script(step: dict, env: dict) -> int:
    cwd = ROOT / step.get("working-directory", ".")
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                           str(step["run"])], cwd=cwd, env=env).returncode


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workflow", type=Path)
    ap.add_argument("--job", help="which job (needed when there are several)")
    ap.add_argument("--skip", action="append", default=[], metavar="STEP",
                    help="a step's name or id not to run (e.g. one already run)")
    ap.add_argument("--summary", type=Path, help="GITHUB_STEP_SUMMARY file (default: a file in "
                    "reports/ that is printed at the end)")
    ap.add_argument("--dry-run", action="store_true", help="list the steps, run nothing")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        doc = load(args.workflow)
        job_name, job = pick_job(doc, args.job)
        note = container_note(job_name, job)
        steps = job["steps"]
        for i, step in enumerate(steps):
            check_step(i, step)
        known = {s.get("name") for s in steps} | {s.get("id") for s in steps}
        unknown = [s for s in args.skip if s not in known]
        if unknown:
            raise WorkflowError(f"--skip: no step named {', '.join(unknown)}")
    except WorkflowError as e:
        print(f"run-workflow: {e}", file=sys.stderr)
        return 2

    if note:
        print(f"run-workflow: {note}")
    summary = args.summary or ROOT / "reports" / "workflow-summary.md"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text("")
    env = dict(os.environ, CI="true", GITHUB_WORKSPACE=str(ROOT),
               GITHUB_STEP_SUMMARY=str(summary.resolve()))
    for scope in (doc.get("env"), job.get("env")):
        env.update({k: str(v) for k, v in (scope or {}).items()})

    failed = 0
    for i, step in enumerate(steps):
        title = step_title(i, step)
        if step.get("name") in args.skip or step.get("id") in args.skip:
            print(f"run-workflow: {title}: skipped (--skip)")
            continue
        cond = str(step.get("if", "")).strip()
        wanted = {"always()": True, "failure()": failed != 0}.get(cond, failed == 0)
        if not wanted:
            print(f"run-workflow: {title}: skipped (an earlier step failed)")
            continue
        if args.dry_run:
            what = f"uses {step['uses']}" if "uses" in step else "run: " + str(step["run"]).strip()
            print(f"run-workflow: {title}: {what}")
            continue
        print(f"run-workflow: {title}", flush=True)
        if "uses" in step:
            action = str(step["uses"]).split("@")[0]
            status = run_checkout(step) if action == "actions/checkout" else run_upload(step)
        else:
            status = run_script(step, dict(env, **{k: str(v) for k, v in
                                                   (step.get("env") or {}).items()}))
        if status != 0:
            print(f"run-workflow: {title} failed (exit {status})", file=sys.stderr)
            failed = failed or status
    text = summary.read_text() if summary.exists() else ""
    if text.strip():
        print(f"run-workflow: job summary ({summary}):\n{text}")
    print(f"run-workflow: job '{job_name}' " + ("passed" if failed == 0 else f"failed ({failed})"))
    return failed
