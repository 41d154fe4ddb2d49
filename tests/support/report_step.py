"""The environment of `rollway-step report`, the pipeline's exit handler, for tests that run it
in-process: each test starts from none of its settings, whatever the machine's environment."""

from __future__ import annotations

#: Every variable the step reads, unset unless a test sets it.
UNSET: dict[str, str | None] = {
    name: None
    for name in (
        "ROLLWAY_CALLBACK_URL", "ROLLWAY_KEYCLOAK_URL", "ROLLWAY_KEYCLOAK_REALM",
        "ROLLWAY_CALLBACK_CLIENT_ID", "ROLLWAY_CALLBACK_CLIENT_ID_FILE",
        "ROLLWAY_CALLBACK_CLIENT_SECRET", "ROLLWAY_CALLBACK_CLIENT_SECRET_FILE",
        "ROLLWAY_NOTIFY_WEBHOOKS",
    )
}  # fmt: skip
