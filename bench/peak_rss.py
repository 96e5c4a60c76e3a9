"""Run a command and print its peak resident memory in KiB.

A child forked from a big process inherits that process's high-water RSS in
its rusage (Linux), so bench/run.py measures through this small launcher: its
own footprint (a bare interpreter) is the floor, far below what is measured.
"""

import os
import sys

pid = os.fork()
if pid == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
