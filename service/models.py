"""Every table of the application, imported in one place for alembic and the tests."""

from service.ops.models import WorkerHeartbeat

__all__ = ["WorkerHeartbeat"]
