"""The report of a serving run: CSV of every request and of the summary, PNG plots, summary JSON, a table."""

from rohe.serving.report.folder import (
    ACCURACY_COST_PNG,
    DEADLINE_PNG,
    LATENCY_PNG,
    REQUESTS_CSV,
    SUMMARY_CSV,
    SUMMARY_JSON,
    ReportFiles,
    write_report,
)
from rohe.serving.report.table import summary_table
from rohe.serving.report.tables_csv import REQUEST_COLUMNS, write_requests_csv, write_summary_csv

__all__ = [
    "ACCURACY_COST_PNG",
    "DEADLINE_PNG",
    "LATENCY_PNG",
    "REQUESTS_CSV",
    "REQUEST_COLUMNS",
    "SUMMARY_CSV",
    "SUMMARY_JSON",
    "ReportFiles",
    "summary_table",
    "write_report",
    "write_requests_csv",
    "write_summary_csv",
]
