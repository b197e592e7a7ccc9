"""The validation report of a contact list before it is imported: every row's problems with their reasons (bad
phone numbers, time zones and consents, rows of the wrong width, script variables missing, duplicates, numbers on
the do-not-call list or already in the campaign, contacts the policy of the campaign's purpose forbids to call),
read exactly as the importer will read the rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.consent import PurposePolicy, blocked_reason
from bot.contacts.importer import ContactTable, RawContact, parse_consent, parse_contact
from bot.core.phones import PhoneError, PhoneNormalizer
from bot.privacy.person import phone_hash
from bot.storage.models import Contact, DoNotCall


class IssueKind(StrEnum):
    """What is wrong with a row; the first four keep the row out of the import."""

    BAD_PHONE = "bad_phone"
    BAD_TIMEZONE = "bad_timezone"
    BAD_CONSENT = "bad_consent"  # a consent without its date or channel, or one that cannot be read
    WRONG_COLUMNS = "wrong_columns"
    MISSING_VARIABLES = "missing_variables"  # imported, but the script cannot say what it needs
    DUPLICATE = "duplicate"  # merged into the earlier row with the same number
    ALREADY_IN_CAMPAIGN = "already_in_campaign"  # merged into the campaign's contact
    DO_NOT_CALL = "do_not_call"  # imported as `dnc`: never dialled
    PURPOSE_FORBIDS_ROBOT = "purpose_forbids_robot"  # imported as `blocked`: no robot calls for the purpose
    CONSENT_MISSING = "consent_missing"  # imported as `blocked`: the purpose requires a consent
    ALREADY_LISTED = "already_listed"  # a do-not-call upload's number that is on the list already


SKIPPING = frozenset(
    {IssueKind.BAD_PHONE, IssueKind.BAD_TIMEZONE, IssueKind.BAD_CONSENT, IssueKind.WRONG_COLUMNS}
)


@dataclass(frozen=True)
class Issue:
    row: int  # line of the file, the header being 1
    kind: IssueKind
    value: str  # what the row holds (the number, the zone), the missing variables, or the earlier row


@dataclass
class CheckReport:
    rows: int = 0  # data rows, blank ones left out
    imported: int = 0  # rows that will become or update a contact
    issues: list[Issue] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return dict(Counter(issue.kind.value for issue in self.issues))


@dataclass(frozen=True)
class CampaignFacts:
    """What a row is checked against: the script's required variables, the campaign's own values, the numbers
    already in the campaign (and those of them with a consent), those on its do-not-call lists (global and its
    own) and the policy of the campaign's purpose (None: not checked)."""

    required: frozenset[str] = frozenset()
    campaign_variables: frozenset[str] = frozenset()
    existing: frozenset[str] = frozenset()
    blocked: frozenset[str] = frozenset()
    consented: frozenset[str] = frozenset()
    policy: PurposePolicy | None = None


def check_table(table: ContactTable, normalizer: PhoneNormalizer, facts: CampaignFacts) -> CheckReport:
    """The report of every row of `table` (CPU work: run it off the event loop)."""
    report = CheckReport()
    first_row: dict[str, int] = {}
    wanted = facts.required - facts.campaign_variables
    for index, row in enumerate(table.rows):
        line = index + 2
        if not any(cell.strip() for cell in row):
            continue  # blank, as the importer skips it
        report.rows += 1
        if len(row) != table.width:
            report.issues.append(Issue(line, IssueKind.WRONG_COLUMNS, f"{len(row)}/{table.width}"))
            continue
        name = row[table.name_col].strip() if table.name_col is not None else ""
        consent_at, consent_channel, consent_source = (
            row[c] if c is not None else "" for c in table.consent_cols
        )
        raw = RawContact(
            phone=row[table.phone_col],
            name=name,
            timezone=row[table.tz_col] if table.tz_col is not None else "",
            region=row[table.region_col] if table.region_col is not None else "",
            variables={var: value for var, col in table.var_cols if (value := row[col].strip())},
            consent_at=consent_at,
            consent_channel=consent_channel,
            consent_source=consent_source,
        )
        try:
            contact = parse_contact(raw, normalizer.normalize)
        except PhoneError:
            report.issues.append(Issue(line, IssueKind.BAD_PHONE, raw.phone.strip()))
            continue
        except ValueError:
            try:
                parse_consent(raw)
            except ValueError:
                given = (raw.consent_at, raw.consent_channel, raw.consent_source)
                report.issues.append(Issue(line, IssueKind.BAD_CONSENT, " / ".join(c.strip() for c in given)))
                continue
            report.issues.append(Issue(line, IssueKind.BAD_TIMEZONE, raw.timezone.strip()))
            continue
        report.imported += 1
        phone = contact["phone"]
        missing = sorted(wanted - raw.variables.keys() - ({"name"} if name else set()))
        if missing:
            report.issues.append(Issue(line, IssueKind.MISSING_VARIABLES, ", ".join(missing)))
        if phone in first_row:
            report.issues.append(Issue(line, IssueKind.DUPLICATE, str(first_row[phone])))
        else:
            first_row[phone] = line
            if phone in facts.existing:
                report.issues.append(Issue(line, IssueKind.ALREADY_IN_CAMPAIGN, phone))
        if phone in facts.blocked or phone_hash(phone) in facts.blocked:  # a forgotten person's entry: a hash
            report.issues.append(Issue(line, IssueKind.DO_NOT_CALL, phone))
        elif facts.policy is not None:
            consented = contact["consent_given_at"] is not None or phone in facts.consented
            reason = blocked_reason(facts.policy, consented)
            if reason is not None:
                report.issues.append(Issue(line, IssueKind(reason.value), phone))
    return report


def campaign_facts(
    session: Session,
    campaign_id: int,
    required: set[str],
    campaign_variables: set[str],
    policy: PurposePolicy | None = None,
) -> CampaignFacts:
    """The facts of a campaign from the database; with `policy` (of the campaign's purpose) rows are also checked
    against it."""
    existing = session.scalars(select(Contact.phone).where(Contact.campaign_id == campaign_id))
    consented = session.scalars(
        select(Contact.phone).where(Contact.campaign_id == campaign_id, Contact.consent_given_at.is_not(None))
    )
    blocked = session.scalars(
        select(DoNotCall.phone).where(
            or_(DoNotCall.campaign_id.is_(None), DoNotCall.campaign_id == campaign_id)
        )
    )
    return CampaignFacts(
        frozenset(required),
        frozenset(campaign_variables),
        frozenset(existing),
        frozenset(blocked),
        frozenset(consented),
        policy,
    )


def check_numbers(
    rows: list[list[str]], column: int, normalizer: PhoneNormalizer, listed: frozenset[str]
) -> CheckReport:
    """The report of a do-not-call file: bad numbers (skipped), repeats, numbers listed already."""
    report = CheckReport()
    first_row: dict[str, int] = {}
    for index, row in enumerate(rows):
        if not any(cell.strip() for cell in row):
            continue
        report.rows += 1
        line = index + 2
        raw = row[column].strip() if column < len(row) else ""
        try:
            phone = normalizer.normalize(raw).e164
        except PhoneError:
            report.issues.append(Issue(line, IssueKind.BAD_PHONE, raw))
            continue
        report.imported += 1
        if phone in first_row:
            report.issues.append(Issue(line, IssueKind.DUPLICATE, str(first_row[phone])))
            continue
        first_row[phone] = line
        if phone in listed or phone_hash(phone) in listed:
            report.issues.append(Issue(line, IssueKind.ALREADY_LISTED, phone))
    return report


def listed_numbers(session: Session, campaign_id: int | None) -> frozenset[str]:
    """The numbers of one do-not-call scope: the global list (None) or a campaign's own."""
    scope = DoNotCall.campaign_id.is_(None) if campaign_id is None else DoNotCall.campaign_id == campaign_id
    return frozenset(session.scalars(select(DoNotCall.phone).where(scope)))
