"""Escalation paths equal a brute-force search over every principal's effective permissions (issue 22): on random
small accounts and histories, at random moments, the paths to admin found from the permission index's candidates,
and those found by reading only what each principal reaches (as ``escalation_paths`` does), are those found when
every principal is a candidate for every technique."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from iamledger import IdentityStore
from iamledger.audit.escalation import simple_paths
from iamledger.audit.escalation_edges import ADMIN
from iamledger.audit.escalation_graph import EscalationGraph
from iamledger.audit.moments import _reading
from iamledger.audit.subjects import _all_subjects
from iamledger.audit.techniques import catalogue
from iamledger.domain.errors import IdentityStoreError
from tests.conftest import ACCOUNT_ID
from tests.test_escalation import ADMIN_POLICY, _arn, _doc, _trust
from tests.test_time_travel import _fresh_store

# -- paths equal a brute-force search over every principal ------------------------------------------------------------

NAMES = ["u0", "u1", "u2", "r0", "r1"]
GRANTS = ["sts:AssumeRole", "iam:CreateAccessKey", "iam:AttachUserPolicy", "iam:PutRolePolicy", "iam:*", "*", "s3:*"]


def _principal_arn(name: str) -> str:
    return _arn("user" if name.startswith("u") else "role", name)


operations = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=2)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
    st.tuples(
        st.just("put"),
        st.sampled_from(NAMES),
        st.sampled_from(GRANTS),
        st.sampled_from(["*", *NAMES]),
        st.booleans(),
    ),
    st.tuples(st.just("unput"), st.sampled_from(NAMES)),
    st.tuples(st.just("admin"), st.sampled_from(NAMES)),
)


def _apply(store: IdentityStore, op: tuple[Any, ...]) -> None:
    kind, name, *args = op
    user = name.startswith("u")
    field = {"UserName" if user else "RoleName": name}
    try:
        if kind == "create" and user:
            store.create_user(UserName=name)
        elif kind == "create":
            store.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=_trust({"AWS": [_principal_arn(n) for n in args[0]] or ACCOUNT_ID}),
            )
        elif kind == "delete":
            for attached in (store.list_attached_user_policies if user else store.list_attached_role_policies)(**field)[
                "AttachedPolicies"
            ]:
                (store.detach_user_policy if user else store.detach_role_policy)(
                    **field, PolicyArn=attached["PolicyArn"]
                )
            for policy in (store.list_user_policies if user else store.list_role_policies)(**field)["PolicyNames"]:
                (store.delete_user_policy if user else store.delete_role_policy)(**field, PolicyName=policy)
            (store.delete_user if user else store.delete_role)(**field)
        elif kind == "put":
            action, on, conditional = args
            resource = "*" if on == "*" else _principal_arn(on)
            condition = {"StringEquals": {"aws:PrincipalTag/team": "red"}} if conditional else None
            put = store.put_user_policy if user else store.put_role_policy
            put(
                **field,
                PolicyName=action.replace(":", "-").replace("*", "all"),
                PolicyDocument=_doc(action, resource, condition),
            )
        elif kind == "unput":
            for policy in (store.list_user_policies if user else store.list_role_policies)(**field)["PolicyNames"]:
                (store.delete_user_policy if user else store.delete_role_policy)(**field, PolicyName=policy)
        elif kind == "admin":
            (store.attach_user_policy if user else store.attach_role_policy)(**field, PolicyArn=ADMIN_POLICY)
    except IdentityStoreError:
        pass


class _EveryPrincipal(EscalationGraph):
    """The oracle: every user and role of the account is a candidate for every technique (no permission index)."""

    def _candidates(self, technique: Any) -> list[Any]:
        everyone = _all_subjects(self.conn, self.account_id)
        for subject in everyone:
            self.subjects.setdefault(subject.arn, subject)
        return [self.subjects[s.arn] for s in everyone]

    def build(self) -> EscalationGraph:
        everyone = self._candidates(None)
        self.admins = {s.arn for s in everyone if self.is_admin(s)}
        for technique in catalogue().techniques:
            for subject in everyone:
                self.edges += self._edges_of(technique, subject)
        return self


def _brute_force_paths(store: IdentityStore, at: int) -> dict[str, list[str]]:
    """Each principal's paths to admin, by a breadth-first search over the oracle's edges."""
    with _reading(store, at) as (conn, moment):
        graph = _EveryPrincipal(conn, ACCOUNT_ID, moment).build()
        answer: dict[str, list[str]] = {}
        for source in sorted({s.arn for s in _all_subjects(conn, ACCOUNT_ID)} - graph.admins):
            found: list[list[Any]] = []
            queue: list[tuple[str, list[Any]]] = [(source, [])]
            while queue:
                node, path = queue.pop(0)
                for edge in graph.edges:
                    on_path = {source, *(e.target for e in path)}
                    if edge.source != node or edge.target in on_path or len(path) >= 5:
                        continue
                    if edge.granter is not None and edge.granter not in on_path:
                        continue
                    if edge.target in {ADMIN, *graph.admins}:
                        found.append([*path, edge])
                    elif edge.target != ADMIN:
                        queue.append((edge.target, [*path, edge]))
                for edge in graph.edges:  # a grant by this principal to one whose credentials the path holds
                    on_path = {source, *(e.target for e in path)}
                    if edge.granter == node and edge.source != node and edge.source in on_path and len(path) < 5:
                        found.append([*path, edge])
            answer[source] = sorted(_path_key(p) for p in found)
        return answer


def _path_key(path: list[Any]) -> str:
    return " ".join(f"{e.source}>{e.technique.id}>{e.via}>{e.target}" for e in path)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(
    history=[("delete", "u0"), ("admin", "r0"), ("create", "u0", [])], picks=[0.0]
)  # named in a trust policy, holding no policy: a candidate all the same
@example(
    history=[("put", "r0", "iam:AttachUserPolicy", "*", False)], picks=[0.0]
)  # u0 assumes r0, which may give u0 admin back
@given(history=st.lists(operations, min_size=4, max_size=20), picks=st.lists(st.floats(0, 1), min_size=1, max_size=2))
def test_paths_equal_a_brute_force_search_over_every_principal(backend, monkeypatch, tmp_path, history, picks):
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / f"{uuid.uuid4().hex}.key"))
    with _fresh_store(backend) as store:
        store.init(ACCOUNT_ID)
        start = store.projector.catch_up()
        setup = [("create", "u0", []), ("create", "r0", ["u0"]), ("put", "u0", "sts:AssumeRole", "r0", False)]
        for op in [*setup, *history]:
            _apply(store, op)
        head = store.projector.catch_up()
        for at in sorted({head, *(start + round(p * (head - start)) for p in picks)}):
            expected = _brute_force_paths(store, at)
            with _reading(store, at) as (conn, moment):
                graph = EscalationGraph(conn, ACCOUNT_ID, moment).build()
                mine = {
                    source: sorted(_path_key(p) for p in simple_paths(graph, source, {ADMIN, *graph.admins}, 5))
                    for source in expected
                }
                reached = {source: _reached_paths(conn, moment, source) for source in expected}
            assert mine == expected, at
            assert reached == expected, at  # what escalation_paths reads: only what the source reaches


def _reached_paths(conn: Any, moment: Any, source: str) -> list[str]:
    graph = EscalationGraph(conn, ACCOUNT_ID, moment).reach(source, 5)
    return sorted(_path_key(p) for p in simple_paths(graph, source, {ADMIN, *graph.admins}, 5))
