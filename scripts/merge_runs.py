#!/usr/bin/python3
"""Merge several iobench results files of one suite from one machine into one. A thin entry point:
the command is iobench_tools/commands/merge_runs.py (--help shows its usage)."""
import sys

from iobench_tools.commands.merge_runs import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
