"""Tagging, shared by users, roles, managed policies and instance profiles: the ``Tagged``/``Untagged`` events and
the ``tag``/``untag`` commands. Each aggregate subclasses the events as its own nested classes (``User.Tagged``), so
topics name the aggregate, and says whether its tag keys compare case-insensitively (users and roles) or not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from iamledger.domain.base import AuditedAggregate
from iamledger.domain.tags import Tag, merge_tags, remove_tags


class TaggedEvent(AuditedAggregate.Event):
    tags: list[dict[str, str]]

    def apply(self, aggregate: Any) -> None:
        new = [(t["Key"], t["Value"]) for t in self.tags]
        aggregate.tags = merge_tags(aggregate.tags, new, case_insensitive_keys=aggregate.case_insensitive_tag_keys)


class UntaggedEvent(AuditedAggregate.Event):
    tag_keys: list[str]

    def apply(self, aggregate: Any) -> None:
        aggregate.tags = remove_tags(
            aggregate.tags, self.tag_keys, case_insensitive_keys=aggregate.case_insensitive_tag_keys
        )


class Taggable:
    """The tag commands of an aggregate that declares ``Tagged``, ``Untagged`` and ``case_insensitive_tag_keys``."""

    case_insensitive_tag_keys: ClassVar[bool]
    Tagged: ClassVar[type[TaggedEvent]]
    Untagged: ClassVar[type[UntaggedEvent]]
    if TYPE_CHECKING:
        tags: list[Tag]

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

    def tag(self, tags: list[Tag]) -> None:
        """Add or overwrite tags; at most 50 in all (checked before anything is recorded)."""
        merge_tags(self.tags, tags, case_insensitive_keys=self.case_insensitive_tag_keys)
        self.trigger_event(self.Tagged, tags=[{"Key": k, "Value": v} for k, v in tags])

    def untag(self, tag_keys: list[str]) -> None:
        """Remove the tags of ``tag_keys`` (unknown keys are ignored, as AWS does)."""
        self.trigger_event(self.Untagged, tag_keys=list(tag_keys))
