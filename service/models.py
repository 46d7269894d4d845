"""Every table of the application, imported in one place for alembic and the tests."""

from service.audit.models import AuditEvent
from service.auth.models import ApiKey, EmailToken, RefreshToken, RoleGrant, User
from service.city.models import Department
from service.notifications.models import EmailMessage
from service.ops.models import WorkerHeartbeat
from service.outbox.models import OutboxJob

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Department",
    "EmailMessage",
    "EmailToken",
    "OutboxJob",
    "RefreshToken",
    "RoleGrant",
    "User",
    "WorkerHeartbeat",
]
