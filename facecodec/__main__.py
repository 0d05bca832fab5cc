"""``python -m facecodec``."""

from facecodec.cli import main

main()
