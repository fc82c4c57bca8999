"""The projector's handlers are registered by the topics of their event classes (so that a view module needs no
aggregate module imported): every registered topic names an event class, and each event class of the domain that a
view handles finds its handlers through its topic."""

from __future__ import annotations

import importlib
import pkgutil

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic, resolve_topic

import iamledger.domain
import iamledger.projections.views.registered
from iamledger.projections.engine import registry


def test_every_registered_topic_names_an_event_class():
    assert registry.check_topics() == []
    for topic in {*registry.HANDLERS, *registry.PREFETCHES}:
        event_class = resolve_topic(topic)
        assert isinstance(event_class, type), topic
        assert issubclass(event_class, DomainEvent), topic
        assert get_topic(event_class) == topic, "a topic is registered as the class's own, not an alias"


def test_the_handlers_of_an_event_are_found_from_its_topic_without_its_class():
    from iamledger.domain.users import User

    topic = get_topic(User.Created)
    assert registry.handles_topic(topic)
    assert registry.HANDLERS[topic], "User.Created has handlers"
    handlers = [handler for handler, _ in registry._plan(User.Created)[0]]
    assert len(handlers) == len(set(handlers)), "a handler runs once an event, its class's bases notwithstanding"


def test_a_misspelt_topic_is_reported():
    def handler(conn: object, event: object, position: int) -> None:
        del conn, event, position

    wrong = "iamledger.domain.users:User.Createdd"
    registry.handles(wrong)(handler)
    try:
        assert registry.check_topics() == [wrong]
    finally:
        del registry.HANDLERS[wrong]
        registry._PLANS.clear()
        registry._TOPICS.clear()


def test_no_view_module_imports_an_aggregate_module_to_register_its_handlers():
    """The views' modules name events by topic: importing them (which the store does to open) leaves the aggregate
    modules to be imported when their events are decoded. Checked in a fresh interpreter."""
    import subprocess
    import sys

    aggregates = sorted(
        f"iamledger.domain.{info.name}"
        for info in pkgutil.iter_modules(iamledger.domain.__path__)
        if not info.ispkg and _defines_aggregates(f"iamledger.domain.{info.name}")
    )
    code = (
        "import sys, iamledger.projections.views.registered, iamledger.projections.trail.index; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('iamledger.domain.'))))"
    )
    imported = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    # the aggregates' bases and the name index: a few milliseconds, used by the views' queries themselves
    light = {"iamledger.domain.base", "iamledger.domain.names", "iamledger.domain.permissions"}
    assert sorted(set(aggregates) & imported - light) == []


def _defines_aggregates(module_name: str) -> bool:
    from eventsourcing.domain import BaseAggregate

    module = importlib.import_module(module_name)
    return any(
        isinstance(value, type) and issubclass(value, BaseAggregate) and value.__module__ == module_name
        for value in vars(module).values()
    )


def test_the_names_kept_apart_from_the_aggregates_are_theirs():
    """What the views, the trail and the operations name without importing the aggregates' modules (their kinds, the
    modules of the trail's material events) is what those modules say."""
    from iamledger.domain.instance_profiles import InstanceProfile
    from iamledger.domain.mfa import VirtualMFADevice
    from iamledger.domain.server_certificates import ServerCertificate
    from iamledger.domain.user_keys import UserKeyring
    from iamledger.projections.trail.material import MODULES
    from iamledger.projections.views.credential_material import CERT_KIND, MFA_KIND
    from iamledger.services import instance_profiles, mfa, server_certificates

    assert MODULES == {VirtualMFADevice.__module__, ServerCertificate.__module__, UserKeyring.__module__}
    assert (MFA_KIND, mfa.KIND) == (VirtualMFADevice.kind, VirtualMFADevice.kind)
    assert (CERT_KIND, server_certificates.KIND) == (ServerCertificate.kind, ServerCertificate.kind)
    assert instance_profiles.KIND == InstanceProfile.kind
