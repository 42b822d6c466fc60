#!/usr/bin/python3
"""Does a client keep iobench's batch protocol (docs/reference_protocol.md)? The conformance
checks. A thin entry point: the command is iobench_tools/commands/conform.py (--help shows its
usage)."""
import sys

from iobench_tools.commands.conform import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
