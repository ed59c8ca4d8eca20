"""Parsing typed cell values: UK dates (never US order), URNs, emails, vocabularies."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

EXCEL_EPOCH = datetime(1899, 12, 30)
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_UK = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T,]+(\d{1,2})[:.](\d{2})(?::(\d{2}))?)?$")
_URN = re.compile(r"\d{6,7}")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")


class BadValue(ValueError):
    """A value that cannot be used; message says what was wrong, fix what to type."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message, self.fix = message, fix


def text(v) -> str:
    """A cell as trimmed text (whole numbers without '.0')."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, datetime):
        return v.strftime("%d/%m/%Y %H:%M")
    if isinstance(v, date):
        return v.strftime("%d/%m/%Y")
    return str(v).strip()


def urn(v) -> str:
    """A URN: 6 or 7 digits."""
    s = text(v)
    if not _URN.fullmatch(s):
        raise BadValue("is not a URN", "type the school's 6- or 7-digit DfE URN (digits only).")
    return s


def email(v) -> str:
    """One email address."""
    s = text(v)
    if re.search(r"[;,\s]", s) and "@" in s:
        raise BadValue("holds more than one address or has spaces", "put one email address in the cell, with no spaces.")
    if not EMAIL.match(s):
        raise BadValue("is not an email address", "type a full address such as office@school.example.org.")
    return s


def _from_serial(n: float) -> datetime:
    return EXCEL_EPOCH + timedelta(days=float(n))


def parse_datetime(v) -> tuple[datetime, bool]:
    """(naive local datetime, whether a time was given) from an Excel value or UK text."""
    if isinstance(v, datetime):
        return (v.replace(microsecond=0) if v.microsecond else v), v.time() != time(0, 0)
    if isinstance(v, date):
        return datetime.combine(v, time(0, 0)), False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 20000 < v < 80000:  # an Excel serial date in a cell not formatted as a date
            dt = _from_serial(v).replace(microsecond=0)
            return dt, dt.time() != time(0, 0)
        raise BadValue("is a number, not a date", "type the date as dd/mm/yyyy (and time as hh:mm).")
    s = text(v)
    m = _UK.match(s)
    if m:
        d, mo, y, hh, mm, ss = m.groups()
        year = int(y) + (2000 if len(y) == 2 else 0)
        try:
            dt = datetime(year, int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError:
            raise BadValue("is not a real UK date (day/month/year)", "type it as dd/mm/yyyy — day first, then month.")
        return dt, hh is not None
    m = _ISO.match(s)
    if m:
        y, mo, d, hh, mm, ss = m.groups()
        try:
            return datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0)), hh is not None
        except ValueError:
            pass
    raise BadValue("is not a date", "type the date as dd/mm/yyyy (and a time as hh:mm), or pick it in Excel.")


_DATES: dict[date, date] = {}  # one copy of each date read: a tracker's dates repeat (tens of thousands, a few thousand distinct)


def parse_date(v) -> date:
    """A date from an Excel value or UK text (a time, if given, is ignored)."""
    d = parse_datetime(v)[0].date()
    return _DATES.setdefault(d, d)
