"""Benchmarks of the sync job: API calls against the plan, quota use, memory, publish size,
consumer load time, and how each grows. Run ``python -m benchmarks``; it writes BENCHMARKS.md.

They measure and report; they never assert a timing. Each benchmark is a module that returns a
`benchmarks.report.Section` (figures with their goals); `benchmarks.runner` orders them and
renders the file.
"""
