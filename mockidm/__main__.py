"""`python -m mockidm`: the same as the `mockidm` command."""

import sys

from .cli import main

sys.exit(main())
