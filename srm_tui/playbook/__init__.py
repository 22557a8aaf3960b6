"""The retention playbook: rules (a segment -> offers) proposed when a subscription is
cancelled (``model``: the file; ``service``: versions, matching, outcomes, the report)."""
