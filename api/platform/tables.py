"""The tables of `api.models` as typed SQLAlchemy Core tables.

SQLModel types a model's attributes as their Python values (`Signal.case_id` is a `UUID`),
which is right for an instance and wrong inside a Core expression. Code that builds
statements reads the columns from here instead: `tables.signal.c.case_id` is a
`Column[Any]`, so comparisons, `in_` and `select` type-check as SQL expressions.
"""

import sqlalchemy as sa
from sqlmodel import SQLModel

from api import models


def _table(model: type[SQLModel]) -> sa.Table:
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table)
    return table


municipality = _table(models.Municipality)
staff_user = _table(models.StaffUser)
login_throttle = _table(models.LoginThrottle)
partner_client = _table(models.PartnerClient)
device = _table(models.Device)
device_holding = _table(models.DeviceHolding)
refresh_token = _table(models.RefreshToken)
console_session = _table(models.ConsoleSession)
household = _table(models.Household)
case = _table(models.Case)
signal = _table(models.Signal)
visit_event = _table(models.VisitEvent)
conflict = _table(models.Conflict)
creditor_agreement = _table(models.CreditorAgreement)
signal_import = _table(models.SignalImport)
quarantined_row = _table(models.QuarantinedRow)
trajectory = _table(models.Trajectory)
bkr_registration = _table(models.BkrRegistration)
bkr_attempt = _table(models.BkrAttempt)
audit_entry = _table(models.AuditEntry)
resident_request = _table(models.ResidentRequest)
erased_subject = _table(models.ErasedSubject)
tenant_sequence = _table(models.TenantSequence)
