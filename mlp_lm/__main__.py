"""`python -m mlp_lm …` runs the command line (see cli.py)."""
import sys

from .cli import main

sys.exit(main())
