"""`python -m heavylegs.cli`: the same command line as the `heavylegs` script."""

from heavylegs.cli import main

main()
