"""The `srm` command: a thin face over the same services the console uses.

One module per command group; what they share (the common options, the command's Session,
the mapping of failures to exit codes, the progress bar) is in ``common``. The customer
action commands are generated from the action registry (``actions``). A group's further
modules (``segments_saved``, ``offer_files``, ``offer_groups``, ``actions``) add their
commands to it when imported; the top-level commands are attached to ``main`` here.
"""

from __future__ import annotations

from srm_tui.cli import (
    actions,  # noqa: F401  (the customer actions join the customer group)
    api,
    bulk,
    customers,
    imports,
    offer_files,  # noqa: F401
    offer_groups,  # noqa: F401
    offers,
    outbox,
    playbook,
    rates,
    retention,
    sandbox,
    schedules,
    segments,
    segments_saved,  # noqa: F401
    sync,
    team,
    webhooks,
)
from srm_tui.cli.root import main

for _command in (
    sandbox.sandbox,
    sync.sync,
    sync.fetch,
    customers.search,
    customers.customer,
    outbox.outbox_group,
    webhooks.webhooks,
    segments.segment_group,
    schedules.schedules_group,
    offers.offers,
    api.api_group,
    imports.import_,
    rates.rates_group,
    playbook.playbook_group,
    bulk.bulk_group,
    team.team_group,
):
    main.add_command(_command)

# The cancel with the retention playbook's step takes the generated cancel's place.
retention.install(customers.customer)

__all__ = ["main"]
