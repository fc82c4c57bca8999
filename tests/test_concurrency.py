"""Several processes on one store: nothing lost, and uniqueness holds under races."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from iamledger import IdentityStore

WRITER = textwrap.dedent(
    """
    import json, sys
    from iamledger import IdentityStore
    from iamledger.domain.errors import IdentityStoreError
    url, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    made, refused = [], []
    with IdentityStore.open(url) as store:
        for n in range(first, first + count):
            account_id = f"{n:012d}"
            try:
                store.create_account(account_id)
                made.append(account_id)
            except IdentityStoreError as error:
                refused.append(error.code)
    print(json.dumps({"made": made, "refused": refused}))
    """
)

INIT = textwrap.dedent(
    """
    import sys
    from iamledger import IdentityStore
    from iamledger.domain.errors import IdentityStoreError
    with IdentityStore.open(sys.argv[1]) as store:
        try:
            store.init(sys.argv[2])
            print("ok")
        except IdentityStoreError as error:
            print(error.code)
    """
)


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_processes_writing_one_store_lose_nothing(store_url):
    with IdentityStore.open(store_url) as store:
        store.init("000000000001")
    writers = [_spawn(WRITER, store_url, "100", "15"), _spawn(WRITER, store_url, "200", "15")]
    outputs = [json.loads(p.communicate(timeout=120)[0]) for p in writers]
    assert all(p.returncode == 0 for p in writers)
    assert [code for out in outputs for code in out["refused"]] == []

    made = sorted(a for out in outputs for a in out["made"])
    with IdentityStore.open(store_url) as store:
        stored = store.account_ids()
    assert len(made) == 30
    assert ["000000000001", *made] == ["000000000001", *sorted(stored[1:])]


@pytest.mark.slow
def test_racing_writers_of_the_same_accounts_create_each_exactly_once(store_url):
    with IdentityStore.open(store_url) as store:
        store.init("000000000001")
    writers = [_spawn(WRITER, store_url, "300", "10") for _ in range(3)]
    outputs = [json.loads(p.communicate(timeout=120)[0]) for p in writers]

    made = [a for out in outputs for a in out["made"]]
    refused = [code for out in outputs for code in out["refused"]]
    assert sorted(made) == sorted(set(made)), "no account was created twice"
    assert len(made) == 10
    assert refused == ["EntityAlreadyExists"] * 20
    with IdentityStore.open(store_url) as store:
        assert len(store.account_ids()) == 11


@pytest.mark.slow
def test_racing_inits_initialize_the_store_once(store_url):
    with IdentityStore.open(store_url):
        pass  # create the tables first, so the race is on the first account alone
    inits = [_spawn(INIT, store_url, f"00000000000{i}") for i in range(1, 5)]
    results = [p.communicate(timeout=120)[0].strip() for p in inits]
    assert results.count("ok") == 1, results
    assert set(results) - {"ok"} <= {"StoreAlreadyInitialized", "ConcurrentModification"}
    with IdentityStore.open(store_url) as store:
        assert len(store.account_ids()) == 1
