"""The sync engine: fetch from Tushare Pro, build the canonical table, publish one commit per run."""
