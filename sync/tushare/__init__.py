"""The Tushare Pro adapter: the interface facts (`apis`), a strict client, its errors and typed frames."""
