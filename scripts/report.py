#!/usr/bin/python3
"""Turn an iobench results file into charts, report.md and index.html. A thin entry point: the
command is iobench_tools/commands/report.py (--help shows its usage)."""
import sys

from iobench_tools.commands.report import guarded

if __name__ == "__main__":
    sys.exit(guarded(sys.argv[1:]))
