"""The shared HTML renderers (iamledger.html): each takes the store's real answer and escapes all it prints."""

from __future__ import annotations

import html.parser
import json

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import IdentityStoreError
from iamledger.html import (
    asset,
    document,
    escape,
    render_change_timeline,
    render_changes,
    render_escalation_paths,
    render_events_table,
    render_exposure_bands,
    render_findings,
    render_policy_diff,
    render_timeline,
    render_who_can_graph,
)

HOSTILE = "<script>alert('x')</script>"
ACCOUNT = "123456789012"


class _Collector(html.parser.HTMLParser):
    """The tags and the text of a fragment, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parsed(fragment: str) -> _Collector:
    collector = _Collector()
    collector.feed(fragment)
    collector.close()
    return collector


def assert_escaped(fragment: str) -> None:
    """No hostile markup got through: no script element, and the hostile text is shown as text."""
    assert HOSTILE not in fragment
    found = parsed(fragment)
    assert "script" not in found.tags
    assert any(HOSTILE in chunk for chunk in ["".join(found.text)])


def _event(position: int, name: str, **extra: object) -> dict:
    return {
        "Position": position,
        "EventTime": "2026-11-01T09:00:00+00:00",
        "EventName": name,
        "Actor": f"arn:aws:iam::{ACCOUNT}:user/{HOSTILE}",
        "RequestId": HOSTILE,
        "SourceIPAddress": None,
        **extra,
    }


def test_escape_covers_markup_quotes_none_and_moments():
    assert escape(HOSTILE) == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    assert escape('a"b') == "a&quot;b"
    assert escape(None) == ""
    assert escape(3) == "3"


def test_document_is_a_whole_accessible_page_and_escapes_its_title():
    page = document(HOSTILE, "<p>body</p>", nav='<nav class="site">n</nav>')
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in page and '<meta charset="utf-8">' in page and 'name="viewport"' in page
    assert '<a class="skip-link" href="#main">' in page and '<main id="main"' in page
    assert "<title>&lt;script&gt;" in page
    assert '<link rel="stylesheet" href="/console/static/console.css">' in page
    assert '<script src="/console/static/console.js" defer></script>' in page


def test_an_inline_document_loads_nothing_from_anywhere():
    page = document("Report", "<p>x</p>", inline_assets=True)
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" in page
    assert "unsafe-inline" not in page and "script-src &#x27;sha256-" in page
    assert asset("console.css").decode() in page
    assert (
        "src=" not in page
        and 'href="/' not in page
        and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )


def test_asset_serves_the_shipped_files_only():
    assert b"skip-link" in asset("console.css")
    assert b"exposure-window" in asset("console.js")
    with pytest.raises(KeyError):
        asset("../__init__.py")


def test_policy_diff_marks_lines_by_sign_and_words_not_colour_alone():
    before = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": HOSTILE}]}
    after = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]})
    out = render_policy_diff(before, after)
    assert "diff-removed" in out and "diff-added" in out
    assert "\u2212" in out and 'class="diff-sign"' in out
    assert "removed: " in out and "added: " in out  # the words, for screen readers
    assert "2 lines removed, 1 line added" in out
    assert HOSTILE not in out and "&lt;script&gt;" in out


def test_policy_diff_reads_url_encoded_documents_and_none():
    encoded = "%7B%22Version%22%3A%222012-10-17%22%7D"
    out = render_policy_diff(None, encoded)
    assert "Before (no document)" in out and "&quot;2012-10-17&quot;" in out
    assert "no difference" in render_policy_diff(encoded, {"Version": "2012-10-17"})


def test_exposure_bands_draw_a_focusable_window_per_row_with_a_text_alternative():
    answer = {
        "PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/{HOSTILE}",
        "ActionName": "s3:GetObject",
        "ResourceArn": "*",
        "AsOf": {"Position": 9, "Time": "2026-11-03T00:00:00+00:00"},
        "Principals": [
            {
                "PrincipalId": HOSTILE,
                "Windows": [
                    {
                        "PrincipalId": HOSTILE,
                        "From": {"Position": 2, "Time": "2026-11-01T00:00:00Z", "Event": _event(2, "AddUserToGroup")},
                        "To": {
                            "Position": 5,
                            "Time": "2026-11-02T00:00:00Z",
                            "Event": _event(5, "RemoveUserFromGroup"),
                        },
                    },
                    {
                        "PrincipalId": HOSTILE,
                        "From": {"Position": 7, "Time": "2026-11-02T12:00:00Z", "Event": _event(7, "AttachUserPolicy")},
                        "To": None,
                    },
                ],
            }
        ],
    }
    out = render_exposure_bands(answer)
    assert_escaped(out)
    assert out.count('<a class="exposure-window') == 2 and "<title>" in out
    assert (
        'data-from-position="2"' in out
        and 'data-to-position="5"' in out
        and 'data-to-event="RemoveUserFromGroup"' in out
    )
    assert "still allowed" in out  # the open window, in words
    assert out.count('<li id="window-') == 2
    assert "AddUserToGroup" in out and "RemoveUserFromGroup" in out


def test_exposure_bands_say_never_allowed():
    out = render_exposure_bands(
        {"PrincipalArn": HOSTILE, "ActionName": "s3:GetObject", "Principals": [], "Windows": []}
    )
    assert "Never allowed" in out
    assert_escaped(out)


def test_who_can_graph_leads_each_principal_to_its_group_role_or_policy():
    answer = {
        "ActionName": "s3:GetObject",
        "ResourceArn": HOSTILE,
        "AsOf": {"Position": 4, "Time": "2026-11-01T00:00:00Z"},
        "Principals": [
            {
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/{HOSTILE}",
                "Type": "User",
                "Paths": [
                    {
                        "Via": "group",
                        "GroupName": HOSTILE,
                        "PolicySource": {
                            "SourcePolicyId": "p",
                            "SourcePolicyType": "user-managed",
                            "PolicyArn": "arn:p",
                        },
                        "Provenance": [_event(3, "AddUserToGroup", Reason="membership")],
                    },
                    {
                        "Via": "role",
                        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/r",
                        "Chain": [f"arn:aws:iam::{ACCOUNT}:role/r"],
                    },
                ],
            }
        ],
    }
    out = render_who_can_graph(answer, link=lambda kind, name: f"/console/{kind}?name={name}")
    assert_escaped(out)
    assert "Group" in out and "Assumes role" in out and "Policy (user-managed)" in out
    assert "(membership)" in out
    assert 'href="/console/group?name=&lt;script&gt;' in out
    assert render_who_can_graph(iter([{"ActionName": "a"}, *answer["Principals"]])).count("graph-root") == 1


def test_changes_show_signs_words_and_flipped_decisions():
    answer = {
        "From": {"Position": 1, "Time": "2026-11-01T00:00:00Z"},
        "To": {"Position": 5, "Time": "2026-11-02T00:00:00Z"},
        "Changes": [
            {
                "Category": "GroupMembership",
                "Change": "Removed",
                "UserName": HOSTILE,
                "GroupName": "g",
                "Events": [_event(4, "RemoveUserFromGroup")],
            },
            {
                "Category": "InlinePolicy",
                "Change": "Changed",
                "PolicyName": "p",
                "Changed": {"PolicyDocument": {"From": '{"Version":"2012-10-17"}', "To": '{"Version":"2008-10-17"}'}},
                "Events": [],
            },
        ],
        "DecisionChanges": [
            {
                "PrincipalArn": HOSTILE,
                "ActionName": "s3:GetObject",
                "ResourceArn": "*",
                "From": "allowed",
                "To": "implicitDeny",
            }
        ],
    }
    out = render_changes(answer)
    assert_escaped(out)
    assert "\u2212</span> Removed" in out and "~</span> Changed" in out
    assert "Group membership" in out
    assert "no longer allowed" in out and "allowed \u2192 implicitDeny" in out
    assert "diff-removed" in out  # a changed document is shown as a diff
    assert "And 1 more change," in render_changes(answer, limit=1)
    assert 'id="change-1"' in out and 'id="change-2"' in out


def test_change_timeline_marks_each_change_by_shape_and_links_its_row():
    answer = {
        "From": {"Position": 0},
        "To": {"Position": 10},
        "Changes": [
            {"Category": "User", "Change": "Added", "UserName": HOSTILE, "Events": [_event(2, "CreateUser")]},
            {"Category": "GroupMembership", "Change": "Removed", "Events": [_event(8, "RemoveUserFromGroup")]},
            {"Category": "Role", "Change": "Changed", "Events": []},  # nothing to place it by: left out
        ],
    }
    out = render_change_timeline(answer)
    assert_escaped(out)
    assert out.count('<a class="change-mark') == 2
    assert 'href="#change-1"' in out and 'href="#change-2"' in out
    assert "change-mark-added" in out and "change-mark-removed" in out
    assert "Group membership" in out  # the rows are named in words
    assert "Change 2: Removed group membership, RemoveUserFromGroup by" in out
    assert render_change_timeline({"Changes": []}) == ""


def test_findings_table_says_admin_in_words():
    answer = {
        "AsOf": {"Position": 3, "Time": "2026-11-01T00:00:00Z"},
        "Counts": {"Admin": 1, "PrivilegeEscalation": 1},
        "Principals": [
            {
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/{HOSTILE}",
                "Type": "User",
                "Admin": True,
                "Findings": [
                    {
                        "Category": "PrivilegeEscalation",
                        "Action": "iam:passrole",
                        "Resources": [HOSTILE],
                        "Policies": [{"PolicyName": HOSTILE, "Statement": 0}],
                    }
                ],
            }
        ],
    }
    answer["Principals"][0]["Findings"].append(
        {
            "Category": "Admin",
            "Method": "CreatePolicyVersion",
            "Actions": ["iam:createpolicyversion"],
            "Resources": ["*"],
        }
    )
    out = render_findings(answer)
    assert_escaped(out)
    assert "<strong>Yes</strong>" in out and "Privilege escalation" in out and "2 findings" in out
    assert "CreatePolicyVersion (iam:createpolicyversion)" in out  # an escalation method names its actions
    many = [
        {"Category": "ResourceExposure", "Action": f"s3:put{n}", "Resources": [f"arn:aws:s3:::b{n}"]} for n in range(40)
    ]
    capped = render_findings({"Principals": [{"Arn": "a", "Type": "Role", "Admin": True, "Findings": many}]})
    assert "And 10 more lines, not shown." in capped
    wide = [{"Category": "ResourceExposure", "Action": f"s3:put{n}", "Resources": ["*"]} for n in range(20)]
    assert '<span class="more">and 8 more</span>' in render_findings({"Principals": [{"Arn": "a", "Findings": wide}]})


# -- on a real store: the records it answers, with hostile text a caller can put in them ---------------------------


def test_a_failed_request_with_a_hostile_name_is_shown_escaped(iam: IdentityStore):
    with pytest.raises(IdentityStoreError):
        iam.create_user(UserName=HOSTILE)
    events = iam.lookup_events(MaxResults=5)["Events"]
    assert any(HOSTILE in e["CloudTrailEvent"] for e in events)
    out = render_events_table(events)
    assert_escaped(out)
    assert "error-code" in out and "CloudTrail record" in out


def test_timeline_of_a_policy_shows_each_version_as_a_diff(iam: IdentityStore):
    first = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    second = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="payroll", PolicyDocument=json.dumps(first))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(second), SetAsDefault=True)
    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "a=b+c@d"}])
    iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=json.dumps(first))
    iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=json.dumps(second))
    history = [record.record for record in iam.entity_history("policy", arn)]
    out = render_timeline(history, link=lambda record: f"/console/events?id={record['eventID']}")
    assert out.count('class="timeline-event') == 2
    assert out.count('<details class="event-diff">') == 2
    assert "&quot;s3:GetObject&quot;" in out and "&quot;s3:*&quot;" in out
    assert "Who" in out and "Request ID" in out and "From" in out and "/console/events?id=" in out
    user = render_timeline([record.record for record in iam.entity_history("user", "alice")])
    assert user.count('<details class="event-diff">') == 2  # the inline policy: created, then changed
    assert "1 line removed, 1 line added" in user
    assert '<h2 id="event-' in user and "<h3>What changed</h3>" in user  # right under the page's title by default
    assert '<h4 id="event-' in render_timeline(history, heading_level=4)


def test_escalation_paths_of_a_real_store_read_as_chains_of_techniques(iam: IdentityStore):
    iam.create_user(UserName="eve")
    grant = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="eve", PolicyName="self-service", PolicyDocument=json.dumps(grant))
    arn = iam.get_user(UserName="eve")["User"]["Arn"]
    out = render_escalation_paths(iam.escalation_paths(PrincipalArn=arn))
    assert "escalation path" in out and "Path 1, 1 hop:" in out
    assert "iam:AttachUserPolicy" in out and "to <code>admin</code>" in out
    assert "PutUserPolicy by" in out  # the event that enabled the hop, on demand
    nobody = iam.create_user(UserName="nobody")["User"]["Arn"]
    assert "No escalation path from" in render_escalation_paths(iam.escalation_paths(PrincipalArn=nobody))


def test_escalation_paths_escape_what_they_print():
    hop = {"From": HOSTILE, "To": HOSTILE, "Technique": HOSTILE, "Conditional": True, "ConditionKeys": [HOSTILE]}
    out = render_escalation_paths({"PrincipalArn": HOSTILE, "Paths": [{"Length": 1, "Hops": [hop]}] * 3}, limit=2)
    assert_escaped(out)
    assert "conditional</strong> on" in out and "And 1 more path," in out
