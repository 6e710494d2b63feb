"""`python -m mlp_lm …` runs the command line (see cli.py)."""
import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the program is still loading
    sys.exit(130)

sys.exit(main())
