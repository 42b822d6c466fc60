#!/usr/bin/python3
"""Run a GitHub Actions workflow's steps here, in order, as the runner would. A thin entry point:
the command is iobench_tools/commands/run_workflow.py (--help shows its usage)."""
import sys

from iobench_tools.commands.run_workflow import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
