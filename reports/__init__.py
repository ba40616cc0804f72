"""Offline reports: one self-contained HTML file per request (``hive-cli report``, the dashboard's
"Download report" buttons). Data come from ``storage.studies.queries``; figures from ``charts``."""
