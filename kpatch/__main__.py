from kpatch.console import run

run()
