"""The suite's own ordering for the two xdist workers (tests/scheduling.py): whole files,
heaviest first, each file's tests in the order pytest collected them."""

from __future__ import annotations

from types import SimpleNamespace

from tests.scheduling import UNKNOWN_FILE, file_seconds, order


def items(*nodeids):
    return [SimpleNamespace(nodeid=n) for n in nodeids]


def ids(got):
    return [i.nodeid for i in got]


def test_files_go_heaviest_first_and_keep_their_own_order():
    collected = items("tests/test_a.py::x", "tests/test_a.py::y", "tests/test_b.py::z", "tests/test_c.py::w",
                      "tests/test_b.py::v")
    static = {"test_a.py": 2, "test_b.py": 30}  # test_c.py unknown: UNKNOWN_FILE seconds
    assert ids(order(collected, {}, static)) == ["tests/test_b.py::z", "tests/test_b.py::v", "tests/test_c.py::w",
                                                 "tests/test_a.py::x", "tests/test_a.py::y"]
    assert 2 < UNKNOWN_FILE < 30


def test_measured_seconds_win_only_when_every_test_of_the_file_was_measured():
    collected = items("tests/test_a.py::x", "tests/test_a.py::y", "tests/test_b.py::z")
    static = {"test_a.py": 1, "test_b.py": 10}
    every = {"tests/test_a.py::x": 8, "tests/test_a.py::y": 8}
    assert ids(order(collected, every, static))[0] == "tests/test_a.py::x"  # 16 s measured beats 10
    part = {"tests/test_a.py::x": 80}  # y never measured: the table's 1 s stands for the file
    assert ids(order(collected, part, static))[0] == "tests/test_b.py::z"


def test_nothing_is_lost_or_repeated():
    collected = items(*[f"tests/test_{k % 7}.py::t{k}" for k in range(50)])
    got = order(collected, {}, {"test_3.py": 9, "test_5.py": 4})
    assert sorted(ids(got)) == sorted(ids(collected)) and len(got) == len(collected)


def test_the_committed_table_names_real_test_files():
    from pathlib import Path

    table = file_seconds()
    here = Path(__file__).parent
    assert table and all(v >= 1 for v in table.values())
    assert "test_graph_files.py" in table and (here / "test_graph_files.py").is_file()
