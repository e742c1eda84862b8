#!/usr/bin/env python3
"""宛城区政策问答机器人 — composition root. See README.md; `python bot.py --help` lists commands."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
