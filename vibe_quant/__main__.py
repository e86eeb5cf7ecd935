import sys

from vibe_quant.cli import main

sys.exit(main())
