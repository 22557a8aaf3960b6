"""A replica's record of its store (team/replicate.py): the URL it keeps has no password in any
of the places libpq takes one and still names the same server, database and options; the
meta value reads back as written and a foreign one is no replica."""

from __future__ import annotations

import pytest

from srm_tui.team.replicate import ReplicaOf, without_password


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("postgresql://alice:s3cret@db.example/srm", "postgresql://alice@db.example/srm"),
        ("postgresql://alice:p%40ss@db:5433/srm", "postgresql://alice@db:5433/srm"),
        ("postgresql://alice@/srm?host=/run/postgresql", "postgresql://alice@/srm?host=/run/postgresql"),
        ("postgresql:///srm?host=/run/postgresql", "postgresql:///srm?host=/run/postgresql"),
        (
            "postgresql://alice@db/srm?password=s3cret&sslmode=require",
            "postgresql://alice@db/srm?sslmode=require",
        ),
        ("postgresql:///srm?PassWord=s3cret", "postgresql:///srm"),
        ("postgres://bob:x@h/d#frag", "postgres://bob@h/d#frag"),
    ],
)  # fmt: skip
def test_the_kept_url_has_no_password(url, kept):
    assert without_password(url) == kept
    assert "s3cret" not in without_password(url)


def test_the_meta_value_reads_back_and_names_the_replica():
    made = ReplicaOf("pg:7716:srm", "postgresql://alice@db/srm", "Renewals", None, 1793529600, 12)
    again = ReplicaOf.from_json(made.to_json())
    assert again == made
    assert (
        again.label() == "replica of postgresql://alice@db/srm (segment Renewals, taken 10:40 UTC)"
    )
    assert again.same_source(
        ReplicaOf("pg:7716:srm", "postgresql://bob@db/srm", "Renewals", None, 0)
    )
    assert not again.same_source(ReplicaOf("pg:7716:other", made.url, "Renewals", None, 0))
    listed = ReplicaOf("pg:1:srm", "postgresql:///srm", None, "/home/a/ids.txt", 0)
    assert listed.selection == "customers from /home/a/ids.txt"


@pytest.mark.parametrize("text", [None, "", "[]", "{}", '{"store_id": "x"}', "not json", '"s"'])
def test_a_value_that_is_no_replica_record_is_none(text):
    assert ReplicaOf.from_json(text) is None
