"""`python -m k8slab`: the same as the `k8slab` command."""

import sys

from .cli import main

sys.exit(main())
