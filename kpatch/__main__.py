from kpatch.cli import main

main()
