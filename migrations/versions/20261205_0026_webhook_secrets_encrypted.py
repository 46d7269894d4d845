"""Webhook signing secrets are stored encrypted (``service/encryption.py``, Fernet under
``MEIELINN_ENCRYPTION_KEYS``): the column ``secret`` becomes ``secret_encrypted`` and every
existing secret is encrypted in place; ``secret_hint`` keeps what admins are shown of it
(prefix and four characters). Needs the encryption keys of the environment it runs in, as
the API and the worker do (in production the settings refuse to load without them).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.config import get_settings
from service.encryption import decrypt, encrypt

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The hint as service.notifications.webhooks.signing.hint_of cuts it ("whsec_" and four).
HINT_LENGTH = 10


def upgrade() -> None:
    op.alter_column(
        "webhook_endpoint",
        "secret",
        new_column_name="secret_encrypted",
        type_=sa.String(length=500),
        existing_nullable=False,
    )
    op.add_column("webhook_endpoint", sa.Column("secret_hint", sa.String(length=16)))
    settings = get_settings()
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, secret_encrypted FROM webhook_endpoint"))
    for webhook_id, secret in rows.all():
        connection.execute(
            sa.text(
                "UPDATE webhook_endpoint SET secret_encrypted = :encrypted, secret_hint = :hint "
                "WHERE id = :id"
            ),
            {
                "encrypted": encrypt(settings, secret),
                "hint": secret[:HINT_LENGTH],
                "id": webhook_id,
            },
        )
    op.alter_column("webhook_endpoint", "secret_hint", nullable=False)


def downgrade() -> None:
    settings = get_settings()
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, secret_encrypted FROM webhook_endpoint"))
    for webhook_id, token in rows.all():
        connection.execute(
            sa.text("UPDATE webhook_endpoint SET secret_encrypted = :secret WHERE id = :id"),
            {"secret": decrypt(settings, token), "id": webhook_id},
        )
    op.drop_column("webhook_endpoint", "secret_hint")
    op.alter_column(
        "webhook_endpoint",
        "secret_encrypted",
        new_column_name="secret",
        type_=sa.String(length=100),
        existing_nullable=False,
    )
