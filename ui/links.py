"""Checking a shared link: which query parameters the page did not take.

Streamlit already drops values a bound widget cannot hold; this module only works out what to tell
the person (``notices``), never echoing more than a short, plain-text excerpt of what they sent.
"""
from __future__ import annotations

import re

MAX_SHOWN = 40
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._\-+=:,()#]")


def excerpt(text: str) -> str:
    """A short, harmless rendering of untrusted text (no markup, no control characters)."""
    s = _UNSAFE.sub("?", str(text))
    return s if len(s) <= MAX_SHOWN else s[:MAX_SHOWN] + "…"


def notices(sent: dict[str, list[str]], taken: dict[str, list[str]], known: set[str]) -> list[str]:
    """Messages for each parameter of ``sent`` (the link) that the page ignored.

    ``taken`` maps each bound widget's key to the values it holds now, written as in the URL; ``known``
    holds every key the page may bind (including widgets not shown for this scene)."""
    out = []
    for key, values in sent.items():
        if key not in known:
            out.append(f"Ignored an unknown link setting '{excerpt(key)}'.")
        elif key in taken and sorted(values) != sorted(taken[key]):
            bad = [v for v in values if v not in taken[key]]
            if bad:
                out.append(f"Ignored '{excerpt(key)}={excerpt(bad[0])}': not a value this setting "
                           "accepts; using the default.")
    return out
