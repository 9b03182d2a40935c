"""Ultudy Jobs: a study app's long-running work, run in the background."""

__version__ = "0.1.0"
