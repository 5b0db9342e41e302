"""``WWW-Authenticate`` challenges (RFC 9110 §11.6.1), parsed without I/O.

Registries answer 401 with ``Bearer realm="…",service="…",scope="…"`` (token auth, maybe with
``error="insufficient_scope"``) or ``Basic realm="…"``. Values may be quoted, with commas and
escaped quotes inside; several challenges may share a line or come on several lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_CHALLENGE_START = re.compile(r"\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s+(?=[A-Za-z0-9_-]+\s*=)")
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: a lowercase scheme and its parameters."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenges(headers: Iterable[str]) -> list[Challenge]:
    """Every challenge in the ``WWW-Authenticate`` header lines, in order.

    Parameter values may be quoted (with commas inside) or bare; a bare scheme (``Basic``)
    is a challenge without parameters.
    """
    challenges: list[Challenge] = []
    for header in headers:
        text = header.strip()
        while text:
            start = _CHALLENGE_START.match(text)
            if start is None:
                scheme, _, text = text.partition(",")
                if scheme.strip():
                    challenges.append(Challenge(scheme.strip().lower()))
                text = text.strip()
                continue
            params: dict[str, str] = {}
            text = text[start.end() :]
            while (param := _PARAM.match(text)) is not None and param.group(0).strip():
                params[param.group(1).lower()] = _unquote(param.group(2))
                text = text[param.end() :]
            challenges.append(Challenge(start.group(1).lower(), params))
            text = text.strip().lstrip(",").strip()
    return challenges


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value
