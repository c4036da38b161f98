import sys

from reactbench.cli import main

sys.exit(main())
