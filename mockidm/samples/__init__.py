"""The sample workflows `mockidm serve` deploys: BPMN files written for mockidm.

- 01/02 `contractorOnboarding`, versions 1 and 2: a manager approves (a form with an enum
  decision); version 2 goes on through an exclusive gateway to an HR task or to a rejection.
- 03 `roleRequest`: security and a manager review in parallel; granted only if both approve.
- 04 `accountActivation`: waits for the `activationConfirmed` message, then a welcome task.
"""

from __future__ import annotations

from pathlib import Path

from ..engine import Engine, ProcessDefinition

SAMPLES_DIR = Path(__file__).parent


def deploy_samples(engine: Engine) -> list[ProcessDefinition]:
    """Deploy the sample files in file-name order, as IDM deploys its workflow directory."""
    return engine.deploy_folder(SAMPLES_DIR, strict=True).definitions
