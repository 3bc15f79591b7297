"""``python -m obsgen``."""

from obsgen.tools.cli import main

main()
