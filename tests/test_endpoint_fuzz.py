"""Malformed requests to every operation the endpoint implements: never a 5xx, always AWS's error shape, and a
refused request changes nothing.

Each operation's requests start from a well-formed one, made from the operation's input shape in botocore's model
and serialised by botocore's own Query serialiser (values chosen to satisfy the model's constraints, against entities
named ``fuzz`` that exist), and are then damaged on the wire: required members dropped, numbers and booleans that are
not, empty and 100 KB values, unknown members, list indices that are not indices (``0``, ``-1``, ``²``, 5,000 digits,
gaps, a thousand elements), members nested where they cannot be, duplicated fields, broken percent escapes, bodies
that are not form data. Every variant is sent (about 7,500 requests, a few seconds on SQLite); a create's variants
name a new entity each. A seeded generator signs a quarter of them, the same ones every run, as a user without any
permission (authorization then runs on the damaged input), the rest as the account's root, with SigV4, and hands
them to the real ASGI application in-process.

A refused request (status >= 400) may record the key's use (``GetAccessKeyLastUsed``, as AWS records it for any signed
request) and its refusal in the security log; it must record no other event and leave the credential vault as it was.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.serialize
import pytest
from botocore import xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import OperationModel, Shape
from sqlalchemy import func, select

from iamledger import IdentityStore
from iamledger.awsmodel import _check, operation_model, service_model
from iamledger.server import EphemeralStores, StoreHolder, create_app, open_for_serving
from iamledger.server.actions import implemented
from iamledger.vault import vault_secrets

SEED = 18
USER_SHARE = 0.25
"""The share of the requests signed by the user without permissions (the rest by the account's root)."""
ACCOUNT = "123456789012"
HOST = "iam.fuzz.test"
BIG = "A" * 100_000
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST_ROOT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)
USED_EVENTS = ("RootAccessKeyUsed", "AccessKeyUsed", "LastUsed")
"""Events a refused but authenticated request may record: the use of the key that signed it."""

# Values for string members, by member name first, then by shape name, then in order until one satisfies the model.
BY_MEMBER: dict[str, str] = {
    "AssumeRolePolicyDocument": TRUST_ROOT,
    "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/fuzz",
    "PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/fuzz",
    "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:user/fuzz",
    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/fuzz",
    "PrincipalArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/fuzz",
    "SAMLProviderArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/fuzz",
    "OpenIDConnectProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/fuzz.example.com",
    "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/fuzz",
    "AWSServiceName": "elasticbeanstalk.amazonaws.com",
    "Url": "https://fuzz.example.com",
    "ThumbprintList": "0123456789abcdef0123456789abcdef01234567",
    "ActionNames": "iam:GetUser",
    "ResourceArns": "*",
    "VersionId": "v1",
    "AuthenticationCode1": "123456",
    "AuthenticationCode2": "654321",
    "RoleSessionName": "fuzz",
    "Name": "fuzz",
}
BY_SHAPE: dict[str, str] = {
    "policyDocumentType": ALLOW_ALL,
    "arnType": f"arn:aws:iam::{ACCOUNT}:user/fuzz",
    "pathType": "/",
    "pathPrefixType": "/",
    "policyPathType": "/",
    "accessKeyIdType": "AKIAIOSFODNN7EXAMPLE",
}
FALLBACKS = ("fuzz", "/", "123456", "fuzz.example.com", "AKIAIOSFODNN7EXAMPLE", "0" * 20, "0" * 40, "x" * 400)

# Replacements for one scalar field's value.
NOT_NUMBERS = ("ten", "", "²", "1" * 5000, "-1", "1e3", " 1", "0x10", "99999999999999999999", "1.5", "٣")
NOT_BOOLEANS = ("yes", "", "1", "TRUE ", "²")
ODD_STRINGS = ("", BIG, "\x00", "ü" * 3, "<&>'\"", "%", "\t\n", "ﬀ", "😀" * 200)
ODD_INDICES = ("0", "-1", "²", "٣", "1" * 5000, "01", "", "abc", "3", "+1", "1.5", "999999999999")
UNKNOWN_FIELDS = (("Bogus", "1"), ("Bogus.member.1", "x"), ("bogus", ""))
ODD_BODIES = (
    b"Action=%ZZ&Version=%",
    b"&&&=&==",
    b"\xff\xfe\x00",
    b"Action=CreateUser&Version=2010-05-08&UserName=%ED%A0%80",
    b"Action=CreateUser&Version=2010-05-08&" + b"a." * 50_000 + b"b=1",
)


@dataclass
class Signer:
    key_id: str
    secret: str


@dataclass
class Case:
    service: str
    action: str
    label: str
    body: bytes
    as_user: bool = False


def string_value(member_name: str, shape: Shape) -> str:
    if shape.enum:
        return str(shape.enum[0])
    preferred = [BY_MEMBER.get(member_name), BY_SHAPE.get(shape.name)]
    for candidate in [*(c for c in preferred if c is not None), *FALLBACKS]:
        errors: list[str] = []
        _check(shape, candidate, member_name, errors)
        if not errors:
            return candidate
    return "fuzz"


def valid_value(member_name: str, shape: Shape, depth: int = 0) -> Any:  # noqa: PLR0911 - one per kind
    """A value of ``shape`` that satisfies the model (within reason): what a well-formed request sends."""
    kind = shape.type_name
    if kind == "structure":
        return {
            name: valid_value(name, member, depth + 1)
            for name, member in shape.members.items()
            if name in shape.required_members or depth == 0 or name in {"Key", "Value"}
        }
    if kind == "list":
        count = max(1, int(shape.metadata.get("min", 1)))
        return [valid_value(member_name, shape.member, depth + 1) for _ in range(count)]
    if kind == "map":
        return {string_value("Key", shape.key): valid_value("Value", shape.value, depth + 1)}
    if kind in {"integer", "long"}:
        return int(shape.metadata.get("min", 1))
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return "2030-01-01T00:00:00Z"
    if kind == "blob":
        return b"fuzz"
    return string_value(member_name, shape)


def well_formed(operation: OperationModel, *, optional: bool) -> list[tuple[str, str]]:
    """The form fields of a well-formed request, serialised by botocore (Action and Version first): the required
    members, and with ``optional`` every other member the store's method takes."""
    shape = operation.input_shape
    params = {} if shape is None else valid_value("", shape)
    method = inspect.signature(getattr(IdentityStore, xform_name(operation.name))).parameters.values()
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in method)
    taken = {p.name for p in method}
    required = set(shape.required_members) if shape is not None else set()
    params = {
        k: v
        for k, v in params.items()
        if k in required or (optional and k != "Marker" and (takes_all or k in taken))  # no page to continue
    }
    serializer = botocore.serialize.create_serializer("query", include_validation=False)
    request = serializer.serialize_to_request(params, operation)
    return [(str(k), str(v)) for k, v in request["body"].items()]


def scalar_shape(operation: OperationModel, field: str) -> Shape | None:
    """The scalar shape a form field carries (``Tags.member.1.Key`` -> the tag key's shape), if it is one."""
    shape = operation.input_shape
    parts = field.split(".")
    i = 0
    while shape is not None and i < len(parts):
        if shape.type_name == "structure":
            member = next(
                (m for n, m in shape.members.items() if m.serialization.get("name", n) == parts[i]),
                None,
            )
            shape, i = member, i + 1
        elif shape.type_name == "list":
            shape, i = shape.member, i + 2
        elif shape.type_name == "map":
            shape, i = (shape.key if parts[i + 2 : i + 3] == ["key"] else shape.value), i + 3
        else:
            return None
    return shape if shape is not None and shape.type_name not in {"structure", "list", "map"} else None


def encode(pairs: list[tuple[str, str]]) -> bytes:
    return urllib.parse.urlencode(pairs).encode()


def mutations(operation: OperationModel, base: list[tuple[str, str]]) -> Iterator[tuple[str, bytes]]:
    """Every damaged variant of the well-formed request ``base``, labelled."""
    head = [p for p in base if p[0] in {"Action", "Version"}]
    fields = [p for p in base if p[0] not in {"Action", "Version"}]
    shape = operation.input_shape
    yield "well-formed, every member", encode(base)
    yield "no parameters", encode(head)
    yield "unknown member", encode([*base, *UNKNOWN_FIELDS])
    if shape is not None:
        required = list(shape.required_members)
        for name in required:
            kept = [p for p in fields if p[0] != name and not p[0].startswith(name + ".")]
            yield f"without {name}", encode(head + kept)
        if len(required) > 1:
            yield "without any required member", encode(head)
    for index, (name, value) in enumerate(fields):
        scalar = scalar_shape(operation, name)
        if scalar is None:
            continue
        kind = scalar.type_name
        if kind in {"integer", "long", "float", "double"}:
            replacements: tuple[str, ...] = NOT_NUMBERS
        elif kind == "boolean":
            replacements = NOT_BOOLEANS
        else:
            replacements = ODD_STRINGS
        for replacement in replacements:
            changed = list(fields)
            changed[index] = (name, replacement)
            yield f"{name}={replacement[:20]!r}", encode(head + changed)
        yield f"{name} twice", encode([*base, (name, "other")])
        yield f"{name} with members", encode([*base, (f"{name}.member.1", "x"), (f"{name}.a.b", "y")])
        for index_text in ODD_INDICES:
            if re.search(r"\.member\.1(\.|$)", name):
                odd = re.sub(r"\.member\.1(\.|$)", f".member.{index_text}\\1", name, count=1)
                yield f"{name} at index {index_text[:20]!r}", encode([*head, *fields, (odd, value)])
                yield (
                    f"{name} only at index {index_text[:20]!r}",
                    encode(head + [(odd if n == name else n, v) for n, v in fields]),
                )
        if ".member.1" in name:
            element = name.split(".member.1", 1)[0]
            many = [(re.sub(r"\.member\.1(\.|$)", f".member.{i}\\1", name, count=1), value) for i in range(1, 1001)]
            yield f"{element} with 1000 elements", encode(head + [p for p in fields if p[0] != name] + many)
            yield f"{element} given as a scalar", encode([*head, (element.split(".")[0], "x")])
            yield f"{element} element as a scalar", encode([*head, (f"{element}.member.1", "x")])
            yield f"{element} empty list", encode([*head, *fields, (element.split(".")[0], "")])
    yield "deep name", encode([*base, ("X." * 20_000 + "Y", "1")])
    for number, body in enumerate(ODD_BODIES):
        yield f"odd body {number}", body.replace(b"CreateUser", operation.name.encode())


def signed(service: str, body: bytes, signer: Signer) -> tuple[list[tuple[bytes, bytes]], bytes]:
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(signer.key_id, signer.secret), service, "us-east-1").add_auth(request)
    headers = [
        (name.lower().encode("latin-1"), str(value).encode("latin-1")) for name, value in request.headers.items()
    ]
    return [(b"host", HOST.encode()), *headers], body


async def call(app: Any, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
    """One request to the ASGI application, as a server hands it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": (HOST, 80),
    }
    sent = False
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] = answer.get("body", b"") + message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer.get("body", b"")


def shape_problem(status: int, body: bytes, action: str) -> str | None:
    """What is wrong with the answer's shape, if anything."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - the endpoint's own answer
    except ET.ParseError as error:
        return f"not XML: {error}"
    tag = root.tag.split("}", 1)[-1]
    if status >= 400:
        if tag != "ErrorResponse":
            return f"error status with a <{tag}> body"
        error = root.find("{*}Error")
        code = None if error is None else error.findtext("{*}Code")
        message = None if error is None else error.findtext("{*}Message")
        if not code or message is None or root.findtext("{*}RequestId") is None:
            return "an ErrorResponse without Code, Message or RequestId"
        return None
    if tag != f"{action}Response":
        return f"status {status} with a <{tag}> body"
    return None


def state(store: IdentityStore) -> tuple[int, int]:
    """The event log's head and the number of secrets in the vault."""
    with store.engine.connect() as conn:
        secrets = conn.execute(select(func.count()).select_from(vault_secrets)).scalar_one()
    return store.recorder.max_notification_id() or 0, int(secrets)


def new_events(store: IdentityStore, after: int) -> list[str]:
    notifications = store.recorder.select_notifications(start=after + 1, limit=1000)
    return [n.topic.rsplit(".", 1)[-1] for n in notifications]


def prepare(store: IdentityStore) -> Signer:
    """Entities named ``fuzz`` for the well-formed requests to find, and a user with no permission at all."""
    store.create_user(UserName="fuzz")
    store.create_group(GroupName="fuzz")
    store.create_role(RoleName="fuzz", AssumeRolePolicyDocument=TRUST_ROOT)
    store.create_policy(PolicyName="fuzz", PolicyDocument=ALLOW_ALL)
    store.create_instance_profile(InstanceProfileName="fuzz")
    store.create_virtual_mfa_device(VirtualMFADeviceName="fuzz")
    store.create_user(UserName="nobody")
    key = store.create_access_key(UserName="nobody")["AccessKey"]
    return Signer(key["AccessKeyId"], key["SecretAccessKey"])


def operations() -> list[tuple[str, str]]:
    """Every operation the endpoint implements; the ones that delete or detach last (they undo the fixtures)."""
    found = [(s, o) for s in ("iam", "sts") for o in service_model(s).operation_names if implemented(s, o)]
    undoing = ("Delete", "Remove", "Detach", "Deactivate", "Untag")
    return sorted(found, key=lambda so: so[1].startswith(undoing))


FRESH_NAME = re.compile(rb"((?:^|&)(?:[A-Za-z]*Name|AccountAlias)=)fuzz(?=&|$)")
CREATING = ("Create", "Upload")


def cases(rng: random.Random) -> Iterator[Case]:
    """Every operation's well-formed request, then each of its damaged variants. A create's variants name a new
    entity each (``fuzz-17``), so that what a damaged optional member does to a stored entity is seen, not hidden
    behind ``EntityAlreadyExists``."""
    number = 0
    for service, action in operations():
        operation = operation_model(service, action)
        yield Case(service, action, "well-formed", encode(well_formed(operation, optional=False)))
        for label, body in mutations(operation, well_formed(operation, optional=True)):
            if action.startswith(CREATING):
                number += 1
                body = FRESH_NAME.sub(rb"\1fuzz-%d" % number, body)  # noqa: PLW2901
            yield Case(service, action, label, body, as_user=rng.random() < USER_SHARE)


@pytest.fixture
def fuzzed(backend: str, store_url: str) -> Iterator[tuple[StoreHolder, Signer]]:
    """The endpoint's store with its root's credentials: on SQLite an ephemeral one (the only writer's fast path,
    whose cached aggregates a refused request must leave untouched), on PostgreSQL an ordinary one."""
    if backend == "sqlite":
        stores = EphemeralStores(account_id=ACCOUNT)
        holder = stores.holder()
        root = Signer(stores.access_key_id, stores.secret_access_key)
    else:
        with IdentityStore.open(store_url) as store:
            key = store.init(ACCOUNT)["AccessKey"]
        holder = StoreHolder(lambda: open_for_serving(store_url))
        root = Signer(key["AccessKeyId"], key["SecretAccessKey"])
    yield holder, root
    holder.close()


@pytest.mark.slow
def test_malformed_requests_to_every_operation_get_aws_errors_and_change_nothing(fuzzed):
    holder, root = fuzzed
    store = holder.current()
    nobody = prepare(store)
    app = create_app(holder)
    rng = random.Random(SEED)
    problems: list[str] = []

    async def run() -> int:
        count = 0
        before = state(store)
        for case in cases(rng):
            count += 1
            headers, body = signed(case.service, case.body, nobody if case.as_user else root)
            status, answer = await call(app, headers, body)
            after = state(store)
            where = f"{case.action} [{case.label}] as {'user' if case.as_user else 'root'}"
            if status >= 500:
                problems.append(f"{where}: {status} {answer[:300]!r}")
            elif (problem := shape_problem(status, answer, case.action)) is not None:
                problems.append(f"{where}: {problem}")
            elif status >= 400 and after != before:
                recorded = [e for e in new_events(store, before[0]) if not e.endswith(USED_EVENTS)]
                if recorded or after[1] != before[1]:
                    problems.append(f"{where}: refused with {status} but recorded {recorded}, {before} -> {after}")
            before = after
        return count

    sent = asyncio.run(run())
    assert sent > 20 * len(operations())
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
