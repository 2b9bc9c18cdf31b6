"""``ceopgraph.web.admission``: expensive requests are bounded per server worker and per client."""

from __future__ import annotations

import pytest

from ceopgraph.web.admission import Admission, ServerBusy, TooManyQueries
from ceopgraph.web.errors import status_of


def test_a_client_gets_its_places_and_no_more() -> None:
    admission = Admission(busy_limit=10, per_client=2)
    with admission.expensive("a"), admission.expensive("a"):
        with pytest.raises(TooManyQueries, match="the limit is 2") as refused, admission.expensive("a"):
            pass
        assert status_of(refused.value) == 429
        with admission.expensive("b"):  # another client is not held up
            pass
    with admission.expensive("a"), admission.expensive("a"):  # given back when the blocks end
        pass


def test_past_the_busy_limit_everyone_is_refused_at_once_and_nothing_is_counted() -> None:
    admission = Admission(busy_limit=2, per_client=5)
    # An uncounted client (a validation) takes a place too.
    with (
        admission.expensive("a"),
        admission.expensive(),
        pytest.raises(ServerBusy, match="2 long requests"),
        admission.expensive("b"),
    ):
        pass
    with admission.expensive("b"), admission.expensive("b"):  # the refusal took nothing
        pass


def test_a_place_is_given_back_when_the_work_fails() -> None:
    admission = Admission(busy_limit=1, per_client=1)
    with pytest.raises(RuntimeError), admission.expensive("a"):
        raise RuntimeError("the query failed")
    with admission.expensive("a"):
        pass


def test_a_client_whose_query_ran_long_is_demoted_and_no_one_else() -> None:
    admission = Admission(busy_limit=10, per_client=5)
    assert not admission.demoted("a")
    admission.note_heavy("a")
    assert admission.demoted("a") and not admission.demoted("b")
