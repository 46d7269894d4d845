"""Every table of the application, imported in one place for alembic and the tests."""

from service.audit.models import AuditEvent
from service.auth.models import ApiKey, EmailToken, RefreshToken, RoleGrant, User
from service.catalog.models import Category, ObjectType, Reason
from service.city.models import (
    Building,
    Calendar,
    CalendarException,
    Department,
    District,
    RoutingRule,
)
from service.feedback.models import ReportRating, ReportResponse, ResponseTemplate
from service.ideas.models import (
    Idea,
    IdeaArea,
    IdeaAttachment,
    IdeaEvent,
    IdeaExpert,
    IdeaReview,
    IdeaSupport,
)
from service.idempotency import IdempotencyRecord
from service.lab.models import (
    Answer,
    Draw,
    PanelMember,
    Participation,
    Pilot,
    Question,
    Task,
    TaskResponse,
)
from service.mail.models import EmailMessage
from service.notifications.models import (
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
    WebhookEndpoint,
)
from service.ops.models import WorkerHeartbeat
from service.outbox.models import OutboxJob
from service.queues.models import ExtensionRequest, ResponsePriority, TransferRequest
from service.reports.models import (
    Report,
    ReportEvent,
    ReportPhoto,
    ReportRound,
    ReportSubscription,
    ReportSupport,
)
from service.sla.models import SlaTimer
from service.training.models import (
    Ambassador,
    Attendance,
    Diploma,
    Enrolment,
    MailingListMember,
    Programme,
    ProgrammeBuilding,
    ProgrammeCoordinator,
    ReportConfirmation,
    TrainingSession,
)

__all__ = [
    "Ambassador",
    "Answer",
    "ApiKey",
    "Attendance",
    "AuditEvent",
    "Building",
    "Calendar",
    "CalendarException",
    "Category",
    "Department",
    "Diploma",
    "District",
    "Draw",
    "EmailMessage",
    "EmailToken",
    "Enrolment",
    "ExtensionRequest",
    "Idea",
    "IdeaArea",
    "IdeaAttachment",
    "IdeaEvent",
    "IdeaExpert",
    "IdeaReview",
    "IdeaSupport",
    "IdempotencyRecord",
    "MailingListMember",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationPreference",
    "ObjectType",
    "OutboxJob",
    "PanelMember",
    "Participation",
    "Pilot",
    "Programme",
    "ProgrammeBuilding",
    "ProgrammeCoordinator",
    "Question",
    "Reason",
    "RefreshToken",
    "Report",
    "ReportConfirmation",
    "ReportEvent",
    "ReportPhoto",
    "ReportRating",
    "ReportResponse",
    "ReportRound",
    "ReportSubscription",
    "ReportSupport",
    "ResponsePriority",
    "ResponseTemplate",
    "RoleGrant",
    "RoutingRule",
    "SlaTimer",
    "Task",
    "TaskResponse",
    "TrainingSession",
    "TransferRequest",
    "User",
    "WebhookEndpoint",
    "WorkerHeartbeat",
]
