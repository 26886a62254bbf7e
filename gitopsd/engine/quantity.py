"""Kubernetes resource quantities (``500m``, ``2Gi``, ``1e3``): parse and print in the API server's canonical form.

Compare rewrites quantities on both sides to the form a real API server stores (``1000m`` → ``1``,
``2048Mi`` → ``2Gi``, ``0.5`` → ``500m``), so Git's spelling never reads as drift. Written here rather than
taken from the kubernetes client's ``parse_quantity``: that one accepts spellings the server refuses (``1K``),
and importing it would load the whole client into the engine.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

# The grammar of apimachinery's resource.Quantity: a signed decimal number and an optional suffix.
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_BINARY_SUFFIX = {v: k for k, v in _BINARY.items()}
# Beyond this a value is not a plausible quantity (and 10**exponent would cost real time): left as written.
_MAX_EXPONENT = 64
_MAX_TEXT = 100


def parse(value: Any) -> tuple[Fraction, str] | None:
    """(exact value, format) for a quantity, format one of ``BinarySI``, ``DecimalSI``, ``DecimalExponent``;
    None when ``value`` is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value), "DecimalSI"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = repr(value)
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        return None
    match = _QUANTITY.match(value.strip())
    if match is None:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    try:
        amount = Fraction(number)
    except (ValueError, ZeroDivisionError):
        return None
    if suffix in _BINARY:
        return amount * (1024 ** _BINARY[suffix]), "BinarySI"
    if suffix in _DECIMAL:
        return amount * Fraction(10) ** _DECIMAL[suffix], "DecimalSI"
    exponent = int(suffix[1:])
    if abs(exponent) > _MAX_EXPONENT:
        return None
    return amount * Fraction(10) ** exponent, "DecimalExponent"


def canonical(value: Any) -> Any:
    """The API server's canonical string for a quantity; anything else is returned unchanged."""
    parsed = parse(value)
    if parsed is None:
        return value
    amount, fmt = parsed
    if amount == 0:
        return "0"
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    # The server keeps nano precision at most, rounding up.
    nanos = math.ceil(magnitude * 10**9)
    if fmt == "BinarySI" and magnitude >= 1024 and nanos % 10**9 == 0:
        whole = nanos // 10**9
        exponent = 0
        while whole % 1024 == 0 and exponent < 6:
            whole //= 1024
            exponent += 1
        return f"{sign}{whole}{_BINARY_SUFFIX.get(exponent, '')}"
    # Decimal: the mantissa an integer, the exponent a multiple of 3 (as large as keeps it whole).
    mantissa, exponent = nanos, -9
    while mantissa % 1000 == 0 and mantissa and exponent < 18:
        mantissa //= 1000
        exponent += 3
    if fmt == "DecimalExponent":
        return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")
    return f"{sign}{mantissa}{_DECIMAL_SUFFIX[exponent]}"
