import logging
import os
import sys

from sync.cli import main

code = main()
# pyarrow 26's thread pool can abort the interpreter's shutdown ("terminate called without an
# active exception", exit 134) after parquet reads, about one run in six on this machine. The
# work is done and every file is closed by now, so leave without running native destructors.
sys.stdout.flush()
sys.stderr.flush()
logging.shutdown()
os._exit(code)
