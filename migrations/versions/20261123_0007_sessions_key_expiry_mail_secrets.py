"""Sessions end with a password change; API keys may expire; no one-time secrets in stored mail.

* ``user_account.sessions_valid_after``: access tokens issued before it are refused.
* ``api_key.expires_at``: an optional end of a key's life.
* ``email_message.email_token_id`` and ``link_path``: a message carrying a one-time code
  stores placeholders; the code is minted at delivery. Bodies stored before this revision
  held codes in clear: they are blanked, and those still waiting are given up (the person
  asks for a new email).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRET_TEMPLATES = "('verify_email', 'password_reset')"


def upgrade() -> None:
    op.add_column(
        "user_account",
        sa.Column("sessions_valid_after", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("api_key", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("email_message", sa.Column("email_token_id", sa.Uuid(), nullable=True))
    op.add_column(
        "email_message",
        sa.Column("link_path", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )
    op.create_index(
        op.f("ix_email_message_email_token_id"), "email_message", ["email_token_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_email_message_email_token_id_email_token"),
        "email_message",
        "email_token",
        ["email_token_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.execute(
        f"""
        UPDATE email_message
        SET body_text = '(removed: this message carried a one-time code)',
            status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
            last_error = CASE WHEN status = 'pending'
                              THEN 'given up when stored codes were removed' ELSE last_error END
        WHERE template IN {SECRET_TEMPLATES}
        """
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_email_message_email_token_id_email_token"), "email_message", type_="foreignkey"
    )
    op.drop_index(op.f("ix_email_message_email_token_id"), table_name="email_message")
    op.drop_column("email_message", "link_path")
    op.drop_column("email_message", "email_token_id")
    op.drop_column("api_key", "expires_at")
    op.drop_column("user_account", "sessions_valid_after")
