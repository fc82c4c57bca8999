"""Build ``iamledger/data/findings-catalogue.json``, the action lists of ``iamledger audit findings``.

Run with Cloudsplaining 0.9.1 and policy_sentry installed (``pip install -e '.[compare]'``)::

    python tools/build_findings_catalogue.py > iamledger/data/findings-catalogue.json

The privilege-escalation methods, the data-exfiltration and the credentials-exposure actions are Cloudsplaining
0.9.1's (``cloudsplaining/shared/constants.py``, BSD-3-Clause); the access levels are policy_sentry's database (MIT):
resource exposure is every ``Permissions management`` action, infrastructure modification the ``Write`` actions of
the services in :data:`WRITE_SERVICES` only (see docs/findings.md).
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version

WRITE_SERVICES = (
    "iam",
    "sts",
    "organizations",
    "s3",
    "ec2",
    "lambda",
    "kms",
    "secretsmanager",
    "ssm",
    "rds",
    "dynamodb",
    "cloudformation",
    "cloudtrail",
    "ecs",
    "eks",
)


def main() -> None:
    from cloudsplaining.shared import constants
    from policy_sentry.querying.actions import remove_actions_not_matching_access_level
    from policy_sentry.querying.all import get_all_actions

    every = sorted(get_all_actions())
    exposure = sorted(remove_actions_not_matching_access_level(every, "Permissions management"))
    writes = [a for a in every if a.split(":", 1)[0] in WRITE_SERVICES]
    catalogue = {
        "Version": 1,
        "Sources": {"cloudsplaining": version("cloudsplaining"), "policy_sentry": version("policy_sentry")},
        "PrivilegeEscalation": constants.PRIVILEGE_ESCALATION_METHODS,
        "DataExfiltration": sorted(constants.READ_ONLY_DATA_EXFILTRATION_ACTIONS),
        "CredentialsExposure": sorted(constants.ACTIONS_THAT_RETURN_CREDENTIALS),
        "ResourceExposure": exposure,
        "InfrastructureModification": {
            "Services": list(WRITE_SERVICES),
            "Actions": sorted(remove_actions_not_matching_access_level(writes, "Write")),
        },
    }
    json.dump(catalogue, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
