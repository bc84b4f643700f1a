"""Reports people read: a receipt per submission (submitters) and a static site (auditors).

- `stic.reports.receipts`: `write_receipt(conn, submission_id)` freezes a submission's receipt as
  reports/receipts/<submission_id>.json and .html once it reaches a terminal status.
- `stic.reports.site`: `build_site(out_dir)` writes the auditors' static site (ledger, completeness,
  reconciliation, validation pass rates, funding), openable from disk without a server.

Templates live in `templates/` (package data, read with importlib.resources); charts are inline SVG
drawn by `stic.reports.charts`; nothing is fetched from the network.
"""
