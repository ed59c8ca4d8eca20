"""Thousands of notes of one kind print as one counted line; --verbose lists them all."""

from __future__ import annotations

from automation.notegroups import GROUP_FROM, grouped


def past(i: int) -> str:
    return (f"OFS-{100000 + i}-2024010{1 + i % 9}: no contact plan sent — the inspection ended on "
            f"0{1 + i % 9}/01/2024 before it was recorded.")


def test_many_of_a_kind_become_one_counted_line():
    notes = [past(i) for i in range(2000)] + ["Oversight workbook updated: /srv/t oversight.xlsx"]
    out = grouped(notes)
    assert out == ["2,000 past inspections were recorded after they ended: no contact plan sent (listed with --verbose)",
                   notes[-1]]


def test_a_few_are_listed_and_verbose_lists_all():
    few = [past(i) for i in range(GROUP_FROM - 1)]
    assert grouped(few) == few
    many = [past(i) for i in range(GROUP_FROM * 3)]
    assert grouped(many, verbose=True) == many


def test_an_unknown_kind_is_counted_with_its_text():
    notes = [f"OFS-{100000 + i}-20261116: no CEM on the Staff sheet covers Nursery schools — add one." for i in range(6)]
    (line,) = grouped(notes)
    assert line.startswith("6 inspections: no CEM on the Staff sheet covers Nursery schools") and "--verbose" in line
