"""Whether a DNS name lies under a real public top-level domain (the Public Suffix List, offline)."""

# A name CoreDNS forwards (`forward . /etc/resolv.conf`) ends at the public DNS. Under a
# top-level domain the root zone does not delegate (`team-a`, `svc`, `local`, `internal`) the
# answer is NXDOMAIN from the root, and glibc's search goes on to the next domain of the list
# (resolv/res_query.c, __res_context_search: only an answer with records, or an error other than
# NXDOMAIN/NODATA/SERVFAIL, ends the search). Under a real TLD the answer depends on the public
# DNS, which k8slab does not model. The ICANN section of the Public Suffix List, shipped in the
# `publicsuffixlist` wheel, names the delegated TLDs; it is read lazily (about 60 ms, once) so
# `import k8slab` does not pay for it.
from __future__ import annotations

import functools

__all__ = ["public_suffix"]


@functools.lru_cache(maxsize=1)
def _list():
    from publicsuffixlist import PublicSuffixList
    # only_icann: the private section (github.io, ...) lies under ICANN TLDs anyway; and
    # accept_unknown=False, or the list's default rule "*" makes every label a TLD.
    return PublicSuffixList(only_icann=True, accept_unknown=False)


def public_suffix(name: str) -> str | None:
    """The ICANN public suffix `name` lies under (`com`, `co.uk`), or None for a name under no
    delegated top-level domain. Case and a trailing dot do not matter."""
    body = name.rstrip(".").lower()
    if not body:
        return None
    return _list().publicsuffix(body)
