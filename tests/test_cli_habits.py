"""The aws CLI's habits, kept by the generated `iamledger iam`/`sts` commands (issue 21 items 9 and 11): JSON values
inline or from file:// for every structure or list parameter, --cli-input-json/--cli-input-yaml,
--generate-cli-skeleton, `help`, the aws CLI's global options, --no-paginate's rules, errors that name the
parameter, and help laid out as the aws CLI's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from iamledger.awsmodel import operation_model
from iamledger.cli.arguments import ArgumentError, build_parser, convert, option_name, parameters
from iamledger.cli.cli_input import relax_required, skeleton
from iamledger.cli.helppage import doc_paragraphs, shorthand_example
from iamledger.cli.service import implemented_operations
from tests.clirunner import run

ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "*"}],
    }
)
ALLOW_BOB = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:username": "bob"}},
            }
        ],
    }
)
CONTEXT = [{"ContextKeyName": "aws:username", "ContextKeyValues": ["bob"], "ContextKeyType": "string"}]


@pytest.fixture
def db(capsys, store_url) -> str:
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    return store_url


def _parameters_of_type(wanted: str) -> list[tuple[str, str, str]]:
    """The parameters of the implemented operations that are structures (``structure``) or lists of them
    (``list of structures``)."""
    found = []
    for service in ("iam", "sts"):
        for command, operation in implemented_operations(service).items():
            shape = operation_model(service, operation).input_shape
            for name, member in (shape.members if shape is not None else {}).items():
                of_structures = member.type_name == "list" and member.member.type_name == "structure"
                if ("list of structures" if of_structures else member.type_name) == wanted:
                    found.append((service, command, name))
    return found


def _shorthand(value: object, *, top: bool = True) -> str:
    """``value`` written in the aws CLI's shorthand syntax."""
    if isinstance(value, dict):
        inner = ",".join(f"{k}={_shorthand(v, top=False)}" for k, v in value.items())
        return inner if top else "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(_shorthand(v, top=False) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


LIST_OF_STRUCTURES = _parameters_of_type("list of structures")
STRUCTURES = _parameters_of_type("structure")


@pytest.mark.parametrize(("service", "command", "member"), LIST_OF_STRUCTURES, ids=str)
def test_every_list_of_structures_parameter_is_json_inline_or_from_a_file(tmp_path, service, command, member):
    """As the aws CLI: a value that parses as JSON is JSON, inline, from file:// or fileb://; else shorthand."""
    op = operation_model(service, implemented_operations(service)[command])
    shape = op.input_shape.members[member]
    sample = skeleton(shape, member_names=True)
    option = option_name(member)
    document = tmp_path / "value.json"
    document.write_text(json.dumps(sample, indent=2) + "\n", encoding="utf-8")

    def parsed(*values: str) -> object:
        parser = build_parser(f"iamledger {service} {command}", op, paginated=False)
        relax_required(parser, ["--cli-input-json"])
        return parameters(op, parser.parse_args([option, *values]))[member]

    assert parsed(json.dumps(sample)) == sample
    assert parsed(f"file://{document}") == sample
    assert parsed(f"fileb://{document}") == sample
    assert parsed(*(json.dumps(item) for item in sample)) == sample  # one JSON object per word
    if shorthand_example(shape):
        assert parsed(*(_shorthand(item) for item in sample)) == sample


@pytest.mark.parametrize(("service", "command", "member"), STRUCTURES, ids=str)
def test_every_structure_parameter_is_json_inline_or_from_a_file_else_shorthand(tmp_path, service, command, member):
    op = operation_model(service, implemented_operations(service)[command])
    shape = op.input_shape.members[member]
    sample = skeleton(shape, member_names=True)
    document = tmp_path / "value.json"
    document.write_text(json.dumps(sample), encoding="utf-8")
    parser = build_parser(f"iamledger {service} {command}", op, paginated=False)
    relax_required(parser, ["--cli-input-json"])
    for value in (json.dumps(sample), f"file://{document}", f"fileb://{document}"):
        assert parameters(op, parser.parse_args([option_name(member), value]))[member] == sample
    shorthand = _shorthand(sample)  # KeyDefinitionList=[{SourceKey=SourceKey,TargetKey=TargetKey}],...
    assert parameters(op, parser.parse_args([option_name(member), shorthand]))[member] == sample


def test_the_audit_commands_context_entries_from_a_file(capsys, db, tmp_path):
    (tmp_path / "ctx.json").write_text(json.dumps(CONTEXT), encoding="utf-8")
    for path in (["who-can", "--action-name", "s3:GetObject"], ["diff", "--from", "position:0"]):
        result = run(capsys, "--db", db, "audit", *path, "--context-entries", f"file://{tmp_path / 'ctx.json'}")
        assert result.exit_code == 0, result.stderr
    bad = run(capsys, "--db", db, "audit", "who-can", "--action-name", "s3:GetObject", "--context-entries", "[{")
    assert bad.exit_code == 255
    assert "Error parsing parameter '--context-entries': Invalid JSON" in bad.stderr


def test_the_issue_s_context_entries_from_a_file(capsys, tmp_path):
    (tmp_path / "ctx.json").write_text(json.dumps(CONTEXT), encoding="utf-8")
    (tmp_path / "policy.json").write_text(ALLOW_BOB, encoding="utf-8")
    args = ["iam", "simulate-custom-policy", "--policy-input-list", f"file://{tmp_path / 'policy.json'}"]
    args += ["--action-names", "s3:GetObject", "--query", "EvaluationResults[].EvalDecision"]
    for value in (f"file://{tmp_path / 'ctx.json'}", json.dumps(CONTEXT), f"fileb://{tmp_path / 'ctx.json'}"):
        result = run(capsys, "--db", f"sqlite:///{tmp_path / 'none.db'}", *args, "--context-entries", value)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == ["allowed"]
    shorthand = "ContextKeyName=aws:username,ContextKeyValues=alice,ContextKeyType=string"
    denied = run(capsys, *args, "--context-entries", shorthand)
    assert json.loads(denied.stdout) == ["implicitDeny"]


def test_tags_and_policy_arns_from_files_reach_the_store(capsys, db, tmp_path):
    tags = tmp_path / "tags.json"
    tags.write_text(json.dumps([{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "prod"}]), encoding="utf-8")
    created = run(capsys, "--db", db, "iam", "create-user", "--user-name", "alice", "--tags", f"file://{tags}")
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["User"]["Tags"] == [
        {"Key": "team", "Value": "core"},
        {"Key": "env", "Value": "prod"},
    ]
    role = run(capsys, "--db", db, "iam", "create-role", "--role-name", "r", "--assume-role-policy-document", TRUST)
    assert role.exit_code == 0, role.stderr
    tagged = run(capsys, "--db", db, "iam", "tag-role", "--role-name", "r", "--tags", f"fileb://{tags}")
    assert tagged.exit_code == 0, tagged.stderr
    listed = run(capsys, "--db", db, "iam", "list-role-tags", "--role-name", "r", "--query", "Tags[].Key")
    assert json.loads(listed.stdout) == ["team", "env"]
    admin = ["--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess"]
    assert run(capsys, "--db", db, "iam", "attach-user-policy", "--user-name", "alice", *admin).exit_code == 0
    arns = tmp_path / "arns.json"
    arns.write_text(json.dumps([{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]), encoding="utf-8")
    assumed = run(
        capsys, "--db", db, "--as", f"arn:aws:iam::{ACCOUNT}:user/alice",
        "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/r",
        "--role-session-name", "ses", "--policy-arns", f"file://{arns}", "--tags", f"file://{tags}",
        "--query", "AssumedRoleUser.Arn",
    )  # fmt: skip
    assert assumed.exit_code == 0, assumed.stderr
    assert json.loads(assumed.stdout) == f"arn:aws:sts::{ACCOUNT}:assumed-role/r/ses"


def test_a_bad_value_names_its_parameter_and_changes_nothing(capsys, db, tmp_path):
    bad = run(capsys, "--db", db, "iam", "create-user", "--user-name", "alice", "--tags", '[{"Key":')
    assert bad.exit_code == 255
    assert "Error parsing parameter '--tags': Invalid JSON: Expecting value: line 1 column 9" in bad.stderr
    assert 'JSON received: [{"Key":' in bad.stderr
    missing = run(capsys, "--db", db, "iam", "create-user", "--user-name", "alice", "--tags", "file://nope.json")
    assert missing.exit_code == 255
    assert "Error parsing parameter '--tags': Unable to load paramfile file://nope.json" in missing.stderr
    garbled = run(capsys, "--db", db, "iam", "create-user", "--user-name", "alice", "--tags", "Key")
    assert "Error parsing parameter '--tags': Expected: '=', received: 'EOF' for input:\nKey\n   ^" in garbled.stderr
    unknown = run(capsys, "--db", db, "iam", "create-user", "--user-name", "alice", "--tags", '[{"Key":"a","Nope":1}]')
    assert unknown.exit_code == 255
    assert 'Unknown parameter in Tags[0]: "Nope", must be one of: Key, Value' in unknown.stderr
    assert run(capsys, "--db", db, "iam", "list-users", "--query", "Users").stdout == "[]\n"
    events = run(capsys, "--db", db, "audit", "lookup-events", "--lookup-attributes", '[{"AttributeKey": ')
    assert events.exit_code == 255
    assert "Error parsing parameter '--lookup-attributes': Invalid JSON: Expecting value" in events.stderr


# -- --cli-input-json / --cli-input-yaml / --generate-cli-skeleton ---------------------------------------------------


def test_input_skeleton_is_the_aws_cli_s(capsys):
    aws = str(Path(sys.executable).with_name("aws"))  # the aws CLI of the test dependencies
    enum = re.compile(r'("ContextKeyType": )"[A-Za-z]+"')  # botocore picks an enumeration's sample at random
    for service, command in (("iam", "simulate-custom-policy"), ("iam", "create-user"), ("sts", "assume-role")):
        ours = run(capsys, service, command, "--generate-cli-skeleton")
        assert ours.exit_code == 0, ours.stderr
        line = [aws, service, command, "--generate-cli-skeleton", "input"]
        theirs = enum.sub(r'\1"E"', subprocess.run(line, capture_output=True, text=True, check=True).stdout)
        # The same text, but for members the aws CLI's botocore may not have yet (sts MinimumSessionTokenSize).
        known = {k: v for k, v in json.loads(enum.sub(r'\1"E"', ours.stdout)).items() if k in json.loads(theirs)}
        assert json.dumps(known, indent=4) + "\n" == theirs


def test_cli_input_json_and_yaml_with_the_command_line_winning(capsys, db, tmp_path):
    yaml_skeleton = run(capsys, "iam", "create-user", "--generate-cli-skeleton", "yaml-input")
    assert yaml_skeleton.stdout.startswith("Path: ''\nUserName: ''\n")
    document = tmp_path / "user.yaml"
    filled = yaml_skeleton.stdout.replace("UserName: ''", "UserName: yuki").replace("Path: ''", "Path: /y/")
    filled = filled.replace("PermissionsBoundary: ''\n", "").replace("Key: ''", "Key: team")
    document.write_text(filled, encoding="utf-8")
    from_yaml = run(capsys, "--db", db, "iam", "create-user", "--cli-input-yaml", f"file://{document}")
    assert from_yaml.exit_code == 0, from_yaml.stderr
    user = json.loads(from_yaml.stdout)["User"]
    assert (user["UserName"], user["Path"], user["Tags"]) == ("yuki", "/y/", [{"Key": "team", "Value": ""}])
    overridden = run(
        capsys, "--db", db, "iam", "create-user", "--cli-input-json", '{"UserName": "jo", "Path": "/json/"}',
        "--path", "/cli/", "--query", "User.[UserName, Path]", "--output", "text",
    )  # fmt: skip
    assert overridden.stdout == "jo\t/cli/\n"


def test_cli_input_json_is_checked_as_the_aws_cli_checks_it(capsys, db):
    missing = run(capsys, "--db", db, "iam", "create-user", "--cli-input-json", '{"Path": "/"}')
    assert missing.exit_code == 255
    assert 'Parameter validation failed:\nMissing required parameter in input: "UserName"' in missing.stderr
    unknown = run(capsys, "--db", db, "iam", "create-user", "--cli-input-json", '{"UserName": "a", "Color": "red"}')
    assert 'Unknown parameter in input: "Color", must be one of: Path, UserName' in unknown.stderr
    garbled = run(capsys, "--db", db, "iam", "create-user", "--cli-input-json", '{"UserName": ')
    assert "Error parsing parameter '--cli-input-json': Invalid JSON" in garbled.stderr
    not_object = run(capsys, "--db", db, "iam", "create-user", "--cli-input-yaml", "- a\n- b\n")
    assert "Error parsing parameter '--cli-input-yaml'" in not_object.stderr
    assert run(capsys, "--db", db, "iam", "list-users", "--query", "length(Users)").stdout == "0\n"


def test_output_skeleton_checks_the_input_and_calls_nothing(capsys, db):
    unchecked = run(capsys, "--db", db, "iam", "create-user", "--generate-cli-skeleton", "output")
    assert unchecked.exit_code == 2
    assert "--user-name" in unchecked.stderr
    sample = run(capsys, "--db", db, "iam", "create-user", "--user-name", "zed", "--generate-cli-skeleton", "output")
    assert sample.exit_code == 0, sample.stderr
    assert json.loads(sample.stdout)["User"]["UserName"] == "UserName"
    text = run(capsys, "--db", db, "iam", "get-user", "--generate-cli-skeleton", "output", "--query", "User.Arn")
    assert text.stdout == '"Arn"\n'
    assert run(capsys, "--db", db, "iam", "get-user", "--user-name", "zed").exit_code == 254


# -- help -------------------------------------------------------------------------------------------------------------


def test_help_as_the_aws_cli_s(capsys, db):
    service = run(capsys, "iam", "help")
    assert service.exit_code == 0, service.stderr
    assert service.stdout.startswith("NAME\n       iam -\n\nDESCRIPTION\n")
    assert "       o create-user\n" in service.stdout
    page = run(capsys, "iam", "create-user", "help")
    assert page.exit_code == 0, page.stderr
    assert page.stdout == run(capsys, "iam", "create-user", "--help").stdout
    for heading in ("NAME", "DESCRIPTION", "SYNOPSIS", "OPTIONS", "OUTPUT", "GLOBAL OPTIONS"):
        assert f"\n{heading}\n" in f"\n{page.stdout}"
    assert "       --tags (list)\n" in page.stdout
    assert "       Shorthand Syntax:\n\n          Key=string,Value=string ...\n" in page.stdout
    assert '       JSON Syntax:\n\n          [\n            {\n              "Key": "string",\n' in page.stdout
    simulate = run(capsys, "iam", "simulate-custom-policy", "help").stdout
    shorthand = "ContextKeyName=string,ContextKeyValues=string,string,ContextKeyType=string ..."
    assert f"          {shorthand}\n" in simulate
    assert '       Syntax:\n\n          "string" "string" ...\n' in simulate
    # `help` as an option's value is a value: a user named help.
    named = run(capsys, "--db", db, "iam", "create-user", "--user-name", "help", "--query", "User.UserName")
    assert named.stdout == '"help"\n'


def test_the_help_word_after_any_group_prints_its_help(capsys):
    for group in ([], ["audit"], ["projections"], ["account"], ["import"], ["export"], ["bench"]):
        worded = run(capsys, *group, "help")
        assert worded.exit_code == 0, (group, worded.stderr)
        assert worded.stdout == run(capsys, *group, "--help").stdout, group
        assert worded.stdout.startswith(f"Usage: iamledger {' '.join(group)}".rstrip() + " [OPTIONS] COMMAND")
    assert "help" not in run(capsys, "--help").stdout.split("Commands:")[1].split()


def test_help_is_whole_and_wrapped_between_words(capsys):
    page = run(capsys, "iam", "create-user", "help").stdout
    words = page.split()
    op = operation_model("iam", "CreateUser")
    for member in op.input_shape.members.values():
        for paragraph in doc_paragraphs(member.documentation):
            assert " ".join(paragraph.split()) in " ".join(words), paragraph  # every word, none cut
    assert all(len(line) <= 79 for line in page.splitlines() if not line.lstrip().startswith(("Key=", '"', "[", "{")))
    argparse_help = run(capsys, "audit", "simulate-principal-policy", "--help").stdout
    for entry in re.split(r"\n  --", argparse_help)[1:]:
        text = " ".join(entry.split())
        assert text.endswith((".", "...", ")")) or "--" in text, text


# -- global options and paging ----------------------------------------------------------------------------------------


def test_the_aws_cli_s_global_options_are_accepted_before_and_after_the_command(capsys, db):
    options = ["--region", "eu-west-1", "--no-cli-pager", "--color", "off", "--cli-read-timeout", "5"]
    options += ["--cli-connect-timeout", "5", "--no-verify-ssl"]
    before = run(capsys, "--db", db, *options, "iam", "list-users", "--query", "Users")
    after = run(capsys, "--db", db, "iam", "list-users", *options, "--query", "Users")
    assert (before.exit_code, before.stdout) == (after.exit_code, after.stdout) == (0, "[]\n")
    redirected = run(
        capsys, "--db", db, "iam", "list-users", "--endpoint-url", "http://127.0.0.1:1", "--query", "Users"
    )
    assert redirected.stdout == "[]\n"
    assert "--endpoint-url is ignored" in redirected.stderr
    debug = run(capsys, "--db", db, "iam", "list-users", "--debug", "--log-format", "json")
    assert debug.exit_code == 0
    logged = [json.loads(line) for line in debug.stderr.splitlines() if line.startswith("{")]
    calling = [line for line in logged if line["event"] == "calling_operation"]
    assert calling == [{**calling[0], "level": "debug", "operation": "ListUsers", "parameters": []}]
    quiet = run(capsys, "--db", db, "iam", "list-users", "--log-format", "json")
    assert not [line for line in quiet.stderr.splitlines() if '"debug"' in line]


def test_color_on_and_off(capsys, db):
    run(capsys, "--db", db, "iam", "create-user", "--user-name", "alice")
    diff = ["--db", db, "--output", "text", "audit", "diff", "--from", "position:0"]
    coloured = run(capsys, *diff, "--color", "on")
    assert coloured.exit_code == 0, coloured.stderr
    assert "\x1b[32m+ User" in coloured.stdout
    plain = run(capsys, *diff, "--color", "off")
    assert "\x1b[" not in plain.stdout
    assert "+ User" in plain.stdout
    assert click.unstyle(coloured.stdout).splitlines()[1:] == plain.stdout.splitlines()[1:]  # but the time "now"
    table = ["--db", db, "--output", "table", "iam", "list-users"]
    blue = run(capsys, *table, "--color", "on")
    assert "|  \x1b[1m\x1b[34malice\x1b[0m" in blue.stdout  # the aws CLI's colours (tests/test_output.py)
    assert click.unstyle(blue.stdout) == run(capsys, *table, "--color", "off").stdout == run(capsys, *table).stdout


def test_no_paginate_with_paging_arguments_is_refused_as_the_aws_cli_refuses_it(capsys, db):
    for name in ("a", "b", "c"):
        run(capsys, "--db", db, "iam", "create-user", "--user-name", name)
    refused = run(capsys, "--db", db, "iam", "list-users", "--no-paginate", "--page-size", "5")
    assert refused.exit_code == 255
    expected = "Error during pagination: Cannot specify --no-paginate along with pagination arguments: --page-size"
    assert expected in refused.stderr
    both = run(capsys, "--db", db, "iam", "list-users", "--no-paginate", "--starting-token", "x", "--page-size", "1")
    assert "pagination arguments: --starting-token, --page-size" in both.stderr
    # --max-items is then the operation's own MaxItems, as the aws CLI passes it: one page, with its Marker.
    page = json.loads(run(capsys, "--db", db, "iam", "list-users", "--no-paginate", "--max-items", "1").stdout)
    assert [u["UserName"] for u in page["Users"]] == ["a"]
    assert page["IsTruncated"] is True
    following = run(capsys, "--db", db, "iam", "list-users", "--marker", page["Marker"], "--query", "Users[].UserName")
    assert json.loads(following.stdout) == ["b", "c"]
    # The aws CLI v1 ignores a document's paging members when it paginates (v2 stops paginating): so does this.
    document = ["--cli-input-json", '{"MaxItems": 1}', "--query", "Users[].UserName"]
    assert json.loads(run(capsys, "--db", db, "iam", "list-users", *document).stdout) == ["a", "b", "c"]
    assert json.loads(run(capsys, "--db", db, "iam", "list-users", "--no-paginate", *document).stdout) == ["a"]
    # The aws CLI's --no-paginate is a global option: a command that is not paginated takes it too.
    one = run(capsys, "--db", db, "iam", "get-user", "--user-name", "a", "--no-paginate", "--query", "User.UserName")
    assert one.stdout == '"a"\n'


def test_every_generated_command_takes_the_input_options(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for service in ("iam", "sts"):
        for command in implemented_operations(service):
            result = run(capsys, service, command, "--generate-cli-skeleton")
            assert result.exit_code == 0, (command, result.stderr)
            assert isinstance(json.loads(result.stdout), dict), command
    assert not list(tmp_path.iterdir())  # a skeleton needs no store: none was opened or made


SHORTHAND_CASES = [
    ("Tags", "CreateUser", "Key=team,Value=core"),
    ("Tags", "CreateUser", "Key='a,b',Value=\"c d\""),
    ("Tags", "CreateUser", "Key=a\\,b,Value=c"),
    ("Tags", "CreateUser", "Key = a , Value = b "),
    ("ContextEntries", "SimulateCustomPolicy", "ContextKeyName=k,ContextKeyValues=a,b,c,ContextKeyType=stringList"),
    ("ContextEntries", "SimulateCustomPolicy", "ContextKeyName=k,ContextKeyValues=[a,b],ContextKeyType=stringList"),
    ("ContextEntries", "SimulateCustomPolicy", "ContextKeyValues=1,ContextKeyName=n"),
    ("ContextProvider", "CreateOpenIDConnectProvider", "KeyDefinitionList=[{SourceKey=a,TargetKey=b}],ProviderType=p"),
]


@pytest.mark.parametrize(("member", "operation", "text"), SHORTHAND_CASES)
def test_shorthand_reads_as_the_aws_cli_reads_it(member, operation, text):
    from awscli.shorthand import BackCompatVisitor, ShorthandParser

    shape = operation_model("iam", operation).input_shape.members[member]
    theirs = ShorthandParser().parse(text)
    element = shape.member if shape.type_name == "list" else shape
    BackCompatVisitor().visit(theirs, element)
    parsed = convert(shape, text, option_name(member))
    assert parsed == ([theirs] if shape.type_name == "list" else theirs)


@pytest.mark.parametrize("text", ["Key", "Key=a,Key=b", "Key=[a", "Key='a"])
def test_shorthand_errors_are_the_aws_cli_s(text):
    from awscli.shorthand import ShorthandParseError, ShorthandParser

    with pytest.raises(ShorthandParseError) as theirs:
        ShorthandParser().parse(text)
    with pytest.raises(ArgumentError) as ours:
        convert(operation_model("iam", "CreateUser").input_shape.members["Tags"], text, "--tags")
    assert str(ours.value) == f"Error parsing parameter '--tags': {theirs.value}"


# -- side by side with the aws CLI, on one store ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_aws_cli_and_iamledger_read_the_same_command_lines_alike(capsys, store_url, tmp_path):
    """Each command line runs through the aws CLI (against `serve`) and through iamledger (on the same store): the
    same answer, or the same refusal (the aws CLI v1 exits 255 where iamledger's usage errors exit 2)."""
    from iamledger import IdentityStore
    from iamledger.server import StoreHolder, open_for_serving
    from tests.test_server import Endpoint, aws, serving

    with IdentityStore.open(store_url) as store:
        key = store.init(ACCOUNT)["AccessKey"]
    (tmp_path / "ctx.json").write_text(json.dumps(CONTEXT), encoding="utf-8")
    (tmp_path / "tags.json").write_text(json.dumps([{"Key": "team", "Value": "core"}]), encoding="utf-8")
    answers = [
        ["iam", "list-users", "--no-paginate", "--max-items", "1", "--query", "[Users[].UserName, IsTruncated]"],
        ["iam", "simulate-custom-policy", "--policy-input-list", ALLOW_BOB, "--action-names", "s3:GetObject",
         "--context-entries", f"file://{tmp_path / 'ctx.json'}", "--query", "EvaluationResults[].EvalDecision"],
        ["iam", "create-user", "--cli-input-json", '{"UserName": "d", "Path": "/json/"}', "--path", "/cli/",
         "--query", "User.Path"],
        ["iam", "tag-user", "--user-name", "a", "--tags", f"file://{tmp_path / 'tags.json'}"],
        ["iam", "tag-user", "--user-name", "b", "--tags", "Key='x y',Value=\"a:b\"", "Key=k2,Value=v"],
        ["iam", "list-user-tags", "--user-name", "a", "--query", "Tags"],
        ["iam", "list-user-tags", "--user-name", "b", "--query", "Tags"],
        ["iam", "create-user", "--generate-cli-skeleton", "input"],
    ]  # fmt: skip
    tags = "Error parsing parameter '--tags': "
    refusals = [
        (["iam", "list-users", "--no-paginate", "--page-size", "1"], "Cannot specify --no-paginate along with"),
        (["iam", "create-user", "--cli-input-json", '{"UserName": "e", "Nope": 1}'], "Unknown parameter in input"),
        (["iam", "create-user", "--user-name", "f", "--tags", '[{"Key":'], tags + "Invalid JSON"),
        (["iam", "create-user", "--user-name", "g", "--tags", "Key"], tags + "Expected: '='"),
    ]  # fmt: skip
    with serving(StoreHolder(lambda: open_for_serving(store_url))) as url:
        endpoint = Endpoint(url, key["AccessKeyId"], key["SecretAccessKey"], store_url)
        for name in ("a", "b", "c"):
            assert aws(endpoint, "iam", "create-user", "--user-name", name).returncode == 0
        for line in answers:
            theirs = aws(endpoint, *line)
            assert theirs.returncode == 0, (line, theirs.stderr)
            # A write happens once each: under its own name.
            again = [part.replace('"d"', '"d2"') for part in line] if line[1] == "create-user" else line
            ours = run(capsys, "--db", store_url, *again)
            assert ours.exit_code == 0, (line, ours.stderr)
            assert json.loads(ours.stdout or "null") == json.loads(theirs.stdout or "null"), line
        for line, message in refusals:
            theirs = aws(endpoint, *line)
            ours = run(capsys, "--db", store_url, *line)
            assert (theirs.returncode, ours.exit_code) == (255, 255), line
            assert message in theirs.stderr, theirs.stderr
            assert message in ours.stderr, ours.stderr
        listed = run(capsys, "--db", store_url, "iam", "list-users", "--query", "Users[].UserName")
        assert json.loads(listed.stdout) == ["a", "b", "c", "d", "d2"]  # the refused ones changed nothing
