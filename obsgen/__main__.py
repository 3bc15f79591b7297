"""``python -m obsgen``."""

from obsgen.launcher import main

main()
