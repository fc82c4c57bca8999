"""The audit trail in CloudTrail's shape: one record per API call, built from the store's events, and the
``LookupEvents`` query over them.

Every domain event is mapped to the IAM or STS operation that caused it (``User.Created`` -> ``CreateUser``,
``User.AddedToGroup`` -> ``AddUserToGroup``, ``RoleSession.RoleAssumed`` -> ``sts:AssumeRole``). The events of one
call share its request id; bookkeeping events (name indexes, the account registry, a group's own copy of a
membership, a managed policy's attachment count) are folded into the record of the call they belong to, so there is
one record per request id and operation, as CloudTrail has one record per API call. Refused and failed attempts come
from the security log (:mod:`iamledger.security_log`): denied requests (``errorCode`` ``AccessDenied``), failed writes
(``EntityAlreadyExists``, ``NoSuchEntity``...) and failed console sign-ins (``ConsoleLogin``).

Records never hold a secret: no password, secret access key, session token, hash or fingerprint. Each record also
says where it sits in the store's logs under keys of iamledger's own (CloudTrail has none of them):
``iamledgerPosition`` (the notification id of the call's last event in the identity log: ``store.at(N)`` shows the
state right after the call) or, for a refused or failed attempt, ``iamledgerSecurityPosition`` (its position in the
security log).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from iamledger.domain.security import SecurityIncident
from iamledger.projections.trail.calls import Calls, _Call, _nearest
from iamledger.projections.trail.facts import TrailFacts
from iamledger.projections.trail.records import (
    _NO_PARAMS,
    ACCESS_KEY,
    BATCH,
    EVENT_VERSION,
    NAMESPACE,
    POSITION_KEY,
    REGION,
    SECURITY_POSITION_KEY,
    SIGNIN,
    USER,
    Resource,
    TrailRecord,
    _Fact,
    _param_resources,
    camel_keys,
    iso,
    resource_of_arn,
)


class Trail(TrailFacts):
    """Every record of a store, built by one pass over its identity log and its security log."""

    @classmethod
    def of_store(cls, store: Any) -> Trail:
        """The trail of ``store`` (an :class:`iamledger.IdentityStore`): its identity log, then its security log."""
        trail = cls()
        facts: list[_Fact] = []
        start = 1
        while True:
            notifications = store.recorder.select_notifications(start=start, limit=BATCH)
            if not notifications:
                break
            for notification in notifications:
                event = store.mapper.to_domain_event(notification)
                fact = trail.fact(notification.id, event)
                if fact is not None:
                    facts.append(fact)
                trail.apply(event)
            start = notifications[-1].id + 1
        trail.records.extend(trail.assemble(facts))
        security = getattr(store, "security_log", None)
        if security is not None:
            start = 1
            while True:
                batch = security.positioned_incidents(start=start, limit=BATCH)
                if not batch:
                    break
                for position, incident in batch:
                    record = trail.incident_record(position, incident)
                    if record is not None:
                        trail.records.append(record)
                start = batch[-1][0] + 1
        return trail

    def assemble(self, facts: Sequence[_Fact]) -> list[TrailRecord]:
        """One record per call: the facts of each request id grouped, bookkeeping folded into the call it is about
        (:func:`~iamledger.projections.trail.calls._nearest`), wherever in the request's events it was saved."""
        by_request: dict[str, list[_Fact]] = {}
        for fact in facts:
            by_request.setdefault(fact.event.request_id, []).append(fact)
        records: list[TrailRecord] = []
        for group in by_request.values():
            calls = Calls(_Call.of(f) for f in group if f.primary and not f.joins)
            for fact in group:
                if fact.primary and not fact.joins:
                    continue
                call = _nearest(fact, calls)
                if call is not None:
                    call.add(fact)
                elif fact.primary:
                    calls.add(_Call.of(fact))
            records.extend(self._record(call.facts) for call in sorted(calls, key=lambda c: c.position))
        return records

    def _record(self, call: list[_Fact]) -> TrailRecord:
        primary = call[0]
        event = primary.event
        identity, username = self.identity(event.actor, event.access_key_id, event.timestamp)
        resources: list[Resource] = []
        for fact in call:
            resources += [r for r in fact.resources if r not in resources]
        recipient = primary.account or identity.get("accountId") or ""
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": identity,
            "eventTime": iso(event.timestamp),
            "eventSource": primary.source,
            "eventName": primary.operation,
            "awsRegion": REGION,
            "sourceIPAddress": event.source_ip,
            "userAgent": event.user_agent,
            "requestParameters": None if primary.operation in _NO_PARAMS else primary.params,
            "responseElements": primary.response,
            "requestID": event.request_id,
            "eventID": str(uuid.uuid5(NAMESPACE, f"{event.originator_id}:{event.originator_version}")),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": recipient,
            "eventCategory": "Management",
            POSITION_KEY: max(f.position for f in call),
        }
        keys = set().union(*(f.key_ids for f in call))
        if event.access_key_id:
            keys.add(event.access_key_id)
        return TrailRecord(
            record=record,
            time=event.timestamp,
            order=(event.timestamp, 0, primary.position),
            username=username,
            resources=resources,
            access_key_ids=keys,
            entities=set().union(*(f.entities for f in call)),
            accounts={a for a in {recipient, identity.get("accountId")} if a},
        )

    def incident_record(self, position: int, incident: SecurityIncident.Recorded) -> TrailRecord | None:
        """The record of a denied request, a failed write or a failed console sign-in (other incidents, refused
        credentials and signatures, name no operation and have none)."""
        identity, username = self.identity(incident.actor, incident.access_key_id, incident.timestamp)
        resources: list[Resource] = []
        params: dict[str, Any] | None = None
        response: dict[str, Any] | None = None
        event_type = "AwsApiCall"
        if incident.kind == "AccessDenied":
            service, _, operation = (incident.action or ":").partition(":")
            source = f"{service}.amazonaws.com"
            # the code is AccessDenied but for temporary credentials IAM refuses: InvalidClientTokenId
            error_code, message = incident.error_code or "AccessDenied", incident.reason
            found = resource_of_arn(incident.resource or "")
            resources = [found] if found is not None else []
        elif incident.kind == "OperationFailed":
            service = (incident.event_source or "iam.amazonaws.com").split(".", 1)[0]
            operation = incident.event_name or (incident.action or ":").partition(":")[2]
            source = incident.event_source or f"{service}.amazonaws.com"
            error_code = incident.error_code or "ServiceFailure"
            message = incident.error_message or incident.reason
            raw = dict(incident.request_parameters or {})
            params = camel_keys(raw) or None
            resources = _param_resources(raw, incident.account_id)
        elif incident.kind == "SignInFailed":
            operation, source, event_type = "ConsoleLogin", SIGNIN, "AwsConsoleSignIn"
            error_code, message = "", incident.error_message or "Failed authentication"
            username = incident.user_name or username
            arn = incident.principal_arn
            identity = {
                "type": "IAMUser",
                "principalId": self.user_id(arn or "", incident.timestamp) or "",
                "accountId": incident.account_id,
                "accessKeyId": "",
                "userName": username,
            }
            if arn:
                identity["arn"] = arn
            response = {"ConsoleLogin": "Failure"}
            resources = [Resource(USER, username, frozenset({username, *([arn] if arn else [])}))]
        else:
            return None
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": identity,
            "eventTime": iso(incident.timestamp),
            "eventSource": source,
            "eventName": operation,
            "awsRegion": REGION,
            "sourceIPAddress": incident.source_ip,
            "userAgent": incident.user_agent,
        }
        if error_code:
            record["errorCode"] = error_code
        record |= {
            "errorMessage": message,
            "requestParameters": params,
            "responseElements": response,
            "requestID": incident.request_id,
            "eventID": str(uuid.uuid5(NAMESPACE, f"security:{incident.originator_id}")),
            "readOnly": False,
            "eventType": event_type,
            "managementEvent": True,
            "recipientAccountId": incident.account_id or identity.get("accountId") or "",
            "eventCategory": "Management",
            SECURITY_POSITION_KEY: position,
        }
        keys = {incident.access_key_id} if incident.access_key_id else set()
        return TrailRecord(
            record=record,
            time=incident.timestamp,
            order=(incident.timestamp, 1, position),
            username=username,
            resources=resources,
            access_key_ids=keys | {r.name for r in resources if r.type == ACCESS_KEY},
            entities=set(),
            accounts={a for a in {incident.account_id, identity.get("accountId")} if a},
        )
