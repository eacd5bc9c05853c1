"""Typed models. Alembic migrations (migrations/versions) are the only source of the schema."""

from .accounts import (
    AHP_PROFESSIONS,
    CATEGORIES,
    CATEGORY_LABELS,
    CATEGORY_PLURALS,
    OTHER_PROFESSIONS,
    PROFESSION_LABELS,
    PROFESSIONS,
    STAFF_ROLES,
    TOKEN_PURPOSES,
    VERIFIED_VIA,
    AccountToken,
    LoginSession,
    ParticipantProfile,
    RateCounter,
    User,
)
from .audit import RUN_STATES, AnalysisRun, AuditEvent
from .base import Base, utcnow
from .codebook import (
    THEME_STATES,
    Codebook,
    CodebookChange,
    CodebookMember,
    CodebookReviewed,
    CodebookSample,
    CodebookTheme,
    HeardPage,
    HeardTheme,
    Statement,
)
from .consultations import (
    ASSIGNMENT_ROLES,
    PHASE_STATES,
    Consultation,
    ConsultationAssignment,
    Phase,
    PhaseAudience,
    PhaseTransition,
    Topic,
)
from .contributions import (
    CHANNELS,
    COMMENT_BODY_MAX,
    GATHERED,
    IDEA_BODY_MAX,
    MODERATION_STATES,
    TITLE_MAX,
    Comment,
    Idea,
    Impression,
    Vote,
    VoteEvent,
)
from .equality import (
    PREFER_NOT,
    EqualityQuestionOff,
    EqualityResponse,
    OfflineContribution,
    OfflineEvent,
    OfflineSettings,
    ReferenceShare,
)
from .moderation import (
    ANOMALY_KINDS,
    CASE_REASONS,
    REPORT_REASONS,
    AnomalyFlag,
    AnomalyScan,
    ContributionRevision,
    ModerationCase,
    NetworkSighting,
    Report,
    VoteExclusion,
    WorkerBeat,
)

__all__ = [
    "AHP_PROFESSIONS", "ASSIGNMENT_ROLES", "CATEGORIES", "CATEGORY_LABELS", "CATEGORY_PLURALS", "CHANNELS", "GATHERED",
    "COMMENT_BODY_MAX",
    "IDEA_BODY_MAX",
    "MODERATION_STATES", "OTHER_PROFESSIONS", "PHASE_STATES", "PROFESSIONS", "PROFESSION_LABELS",
    "RUN_STATES", "STAFF_ROLES", "TITLE_MAX", "TOKEN_PURPOSES", "VERIFIED_VIA",
    "AccountToken", "AnalysisRun", "AuditEvent", "Base", "Comment", "Consultation", "ConsultationAssignment",
    "Idea", "Impression", "LoginSession",
    "ParticipantProfile", "Phase", "PhaseAudience", "PhaseTransition", "RateCounter", "Topic", "User", "Vote",
    "VoteEvent", "utcnow",
    "ANOMALY_KINDS", "CASE_REASONS", "REPORT_REASONS", "AnomalyFlag", "AnomalyScan", "ContributionRevision",
    "ModerationCase", "NetworkSighting", "Report", "VoteExclusion", "WorkerBeat",
    "PREFER_NOT", "EqualityQuestionOff", "EqualityResponse", "OfflineContribution", "OfflineEvent",
    "OfflineSettings", "ReferenceShare",
    "THEME_STATES", "Codebook", "CodebookChange", "CodebookMember", "CodebookReviewed", "CodebookSample",
    "CodebookTheme",
    "HeardPage", "HeardTheme", "Statement",
]
