"""The report (commands/report.py, run as scripts/report.py) in parts: rows (reading a run,
selections, formatting), plotting (styles from the model registry, save), charts and
history_chart (the figures), findings (what the numbers say, the claims, the gap to the
ceiling), open_loop and open_chart (the open-loop steps: maximum sustainable rates, the
corrected-vs-uncorrected gap, their chart and section), sections (the report built once as data)
and document (that data rendered to markdown and HTML)."""
