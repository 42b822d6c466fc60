#!/usr/bin/python3
"""The run history: append a results file to the SQLite database, or list the runs. A thin entry
point: the command is iobench_tools/commands/history.py (--help shows its usage)."""
import sys

from iobench_tools.commands.history import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
