"""Kubernetes resource quantities in their canonical form, as the API server stores them.

The real serializer parses a quantity (``resource.Quantity``), remembers which family of suffix it
had (decimal SI, binary SI, or a decimal exponent) and writes it back canonical: no precision lost,
no fractional digits, the largest suffix possible (``1000m`` -> ``1``, ``2048Mi`` -> ``2Gi``,
``0.5`` -> ``500m``, ``1536Mi`` stays). Values are rounded up to a nano unit; a binary value below
1024, or one with a fraction, is written in decimal SI. Used by the schema walkers (schemas.py,
crdschema.py) on every field whose schema is a Quantity.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

# The expression the real parser names in its error message.
FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL.items()}
_BINARY_BY_EXP = {v: k for k, v in _BINARY.items()}
_SHAPE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")
_NANO = 10**9
_MAX_INT64 = 2**63 - 1


class QuantityError(ValueError):
    """The text is not a quantity (the message is the real parser's)."""


def _parse(text: str) -> tuple[Fraction, str]:
    m = _SHAPE.fullmatch(text)
    if m is None or not (m.group(2) or m.group(3)):
        raise QuantityError(FORMAT_ERROR)
    sign, whole, frac, suffix = m.group(1), m.group(2) or "0", m.group(3) or "", m.group(4)
    if len(whole) + len(frac) > 64:  # far beyond int64 (and Python's int parsing limits)
        raise QuantityError("unable to parse numeric part of quantity")
    value = Fraction(int(whole + frac), 10 ** len(frac))
    if suffix in _DECIMAL:
        fmt, value = "DecimalSI", value * Fraction(10) ** _DECIMAL[suffix]
    elif suffix in _BINARY:
        fmt, value = "BinarySI", value * 1024 ** _BINARY[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[-+]?[0-9]+", suffix[1:]):
        exp = int(suffix[1:])
        if abs(exp) > 100:  # far beyond int64: refuse instead of building a huge number
            raise QuantityError("unable to parse quantity's suffix")
        fmt, value = "DecimalExponent", value * Fraction(10) ** exp
    else:
        raise QuantityError("unable to parse quantity's suffix")
    # Round up (away from zero) to whole nano units: asking for a sliver still gets something.
    value = Fraction(math.ceil(value * _NANO), _NANO)
    if fmt == "BinarySI":
        value = min(value, Fraction(_MAX_INT64))
        if 0 < value < 1:
            fmt = "DecimalSI"
    return (-value if sign == "-" else value), fmt


def _decimal(value: Fraction, exponent_suffix: bool) -> str:
    # value has at most 9 fractional digits: start at nano units and move up by thousands.
    mantissa, exp = int(value * _NANO), -9
    top = 10**9 if exponent_suffix else 18
    while mantissa % 1000 == 0 and exp + 3 <= top:
        mantissa //= 1000
        exp += 3
    if exponent_suffix:
        return f"{mantissa}e{exp}" if exp else str(mantissa)
    return f"{mantissa}{_DECIMAL_BY_EXP[exp]}"


def canonical(text: str | int | float) -> str:
    """The canonical text of a quantity given as a string or a JSON number."""
    if isinstance(text, bool):
        raise QuantityError(FORMAT_ERROR)
    if isinstance(text, int | float):
        # A JSON number is parsed from its own digits, as the real decoder does.
        text = repr(text) if isinstance(text, float) else str(text)
        if "e" in text or "E" in text:
            whole, _, power = text.lower().partition("e")
            text = f"{whole}e{int(power)}"
    value, fmt = _parse(text.strip() if isinstance(text, str) else text)
    if value == 0:
        return "0"
    sign, mag = ("-" if value < 0 else ""), abs(value)
    if fmt == "BinarySI" and (mag < 1024 or mag.denominator != 1):
        fmt = "DecimalSI"  # small or fractional binary values are written in decimal SI
    if fmt == "BinarySI":
        mantissa, exp = int(mag), 0
        while mantissa % 1024 == 0 and exp < 6:
            mantissa //= 1024
            exp += 1
        return f"{sign}{mantissa}{_BINARY_BY_EXP.get(exp, '')}"
    return sign + _decimal(mag, fmt == "DecimalExponent")
