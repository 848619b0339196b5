"""`python -m k8slab`: the same as the `k8slab` command."""

from .cli import console

console()
