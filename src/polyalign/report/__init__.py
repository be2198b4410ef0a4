"""The run report: figures (``plots``), ``report.md`` (``markdown``) and ``report.html``."""
