import sys

from fsdl_data.cli import main

sys.exit(main())
