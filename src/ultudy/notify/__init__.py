"""Email notifications for long-running jobs (the application's, not the framework's).

`Notifier.job_ended` is the worker's hook on every job that ends: a cheap check of the
job's age, and for the few that qualify, a row in the `notifications` ledger and, once
per burst, a `notification` digest job on its own queue. The digest's processor
(`ultudy.processors.notification`) composes one email (`mail`) and hands it to a
transport (`transport`): SMTP, or on embedded defaults an outbox of `.eml` files.
"""

from ultudy.notify.hook import Notifier

__all__ = ["Notifier"]
