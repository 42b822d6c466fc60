#!/usr/bin/python3
"""Run-to-run spread of the gate's metrics over several results files. A thin entry point: the
command is iobench_tools/commands/spread.py (--help shows its usage)."""
import sys

from iobench_tools.commands.spread import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
