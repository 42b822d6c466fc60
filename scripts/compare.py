#!/usr/bin/python3
"""Judge an iobench run against a baseline: the CI regression gate. A thin entry point: the command
is iobench_tools/commands/compare.py (--help shows its usage)."""
import sys

from iobench_tools.commands.compare import guarded

if __name__ == "__main__":
    sys.exit(guarded(sys.argv[1:]))
