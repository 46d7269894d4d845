"""A version token of the working calendars: one row in ``calendar_version`` whose token a
trigger renews on every change to ``calendar`` or ``calendar_exception`` (rows or TRUNCATE).
Filing reads the token in the statement that reads the reason and keeps the city's working
calendar cached per process until the token changes. A random token, not a counter: a
rolled-back change or a cloned database never brings back a token cached for other data.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE calendar_version (
            id integer NOT NULL DEFAULT 1,
            token uuid NOT NULL,
            CONSTRAINT pk_calendar_version PRIMARY KEY (id),
            CONSTRAINT ck_calendar_version_single_row CHECK (id = 1)
        )
        """
    )
    op.execute("INSERT INTO calendar_version (id, token) VALUES (1, gen_random_uuid())")
    op.execute(
        """
        CREATE FUNCTION calendar_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE calendar_version SET token = gen_random_uuid() WHERE id = 1;
            RETURN NULL;
        END
        $$
        """
    )
    for table in ("calendar", "calendar_exception"):
        op.execute(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION calendar_version_bump()"
        )


def downgrade() -> None:
    for table in ("calendar", "calendar_exception"):
        op.execute(f"DROP TRIGGER {table}_version ON {table}")
    op.execute("DROP FUNCTION calendar_version_bump()")
    op.execute("DROP TABLE calendar_version")
