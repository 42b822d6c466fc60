"""One module per command of scripts/ (compare, report, history, merge_runs, spread, conform,
run_workflow): the argument parsing, the exit statuses and the one-line errors. Each has
main(argv) -> int; the gate and the report also have guarded(argv), which turns anything
unforeseen into one line and exit 2."""
