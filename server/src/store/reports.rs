//! Reports at the relay: any period's report in a user's scope, and the register of reports the
//! town office issued (their figures frozen as handed over, shared by every relay on one
//! database; docs/reports.md).

use gridsafe_core::clock::{now_ms, today};
use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};

use super::{RelayError, RelayStore, Result};
use crate::report::{self, Issued, Period, Report, Span};
use crate::vals;

/// The longest document number a report takes.
const NUMBER_MAX: usize = 40;

impl RelayStore {
    /// The reports the town office issued for periods of `span`, in the order of their periods.
    pub fn issued_reports(&mut self, span: Span) -> Result<Vec<Report>> {
        let mut out = Vec::new();
        for row in self
            .db()
            .query("SELECT report FROM issued_reports ORDER BY period_key", &[])?
        {
            let r: Report = serde_json::from_str(&row.text(0)?)
                .map_err(|e| RelayError::Storage(format!("issued report: {e}")))?;
            if r.period.span == span {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The period a key names (the report month holding today when `None`).
    pub fn report_period(&self, key: Option<&str>) -> Result<Period> {
        let cutoff = report::cutoff_day(&self.conn)?;
        match key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => Period::parse(k, cutoff),
            None => Period::containing(today(), cutoff),
        }
    }

    /// The report for the period `key` names in `user_id`'s scope, as the dashboard shows it
    /// (`gridsafe-server admin report`): the issued one where the town office issued it.
    pub fn report(&mut self, user_id: &str, key: Option<&str>) -> Result<Report> {
        self.refresh_directory()?;
        self.catch_up()?;
        let period = self.report_period(key)?;
        let user = self.known_user(user_id)?;
        let issued = self.issued_reports(period.span)?;
        let dir = self.dir.as_ref().expect("known_user found the directory");
        report::report(&self.conn, dir, &user, &period, today(), &issued)
    }

    fn known_user(&self, user_id: &str) -> Result<User> {
        let dir = self
            .dir
            .as_ref()
            .ok_or_else(|| RelayError::BadRequest("no directory installed".into()))?;
        dir.user(user_id)
            .cloned()
            .ok_or_else(|| RelayError::BadRequest(format!("unknown user {user_id:?}")))
    }

    /// Issues the town's report for the period `key` names under the document `number`: its
    /// figures are frozen as they are now, and the report is shown as issued from then on.
    pub fn issue_report(&mut self, user: &User, key: &str, number: &str) -> Result<Report> {
        policy::check(user, Capability::IssueReports).map_err(RelayError::Forbidden)?;
        self.refresh_directory()?;
        self.catch_up()?;
        let period = self.report_period(Some(key))?;
        let number = number.trim();
        if number.is_empty() || number.chars().count() > NUMBER_MAX {
            return Err(RelayError::Refused(format!(
                "请填写报告文号（1–{NUMBER_MAX} 个字），如 吕安委办〔2026〕12号 / enter the report's document number (1–{NUMBER_MAX} characters)"
            )));
        }
        if period.to >= gridsafe_core::clock::format_date(today()) {
            return Err(RelayError::Refused(format!(
                "统计期至 {} 结束，结束后方可签发 / the period runs to {}; issue its report after that day",
                period.to, period.to
            )));
        }
        let issued = self.issued_reports(period.span)?;
        if issued.iter().any(|r| r.period.key == period.key) {
            return Err(RelayError::Refused(format!(
                "{}的报告已签发，不能再次签发 / the report for {} was issued already",
                period.title(false),
                period.title(true)
            )));
        }
        let taken = self
            .db()
            .one(
                "SELECT 1 FROM issued_reports WHERE number = ?1",
                vals![number],
            )?
            .is_some();
        if taken {
            return Err(RelayError::Refused(format!(
                "文号 {number} 已用于另一份报告，请换一个 / the number {number} is on another report; enter another"
            )));
        }
        let user_id = user.id.clone();
        let dir = self.dir.as_ref().expect("refreshed above");
        let mut r = report::report(&self.conn, dir, user, &period, today(), &issued)?;
        let year: i64 = period.year_month().0.into();
        let n = self
            .db()
            .one(
                "SELECT coalesce(max(n), 0) + 1 FROM issued_reports WHERE year = ?1",
                vals![year],
            )?
            .map_or(Ok(1), |r| r.int(0))?;
        r.issued = Some(Issued {
            number: number.to_owned(),
            issued_ms: now_ms(),
            issued_by: user_id.clone(),
        });
        let json = serde_json::to_string(&r).map_err(|e| RelayError::Storage(e.to_string()))?;
        let written = self.db().exec(
            "INSERT INTO issued_reports (period_key, year, n, number, issued_ms, issued_by, report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            vals![&period.key, year, n, number, now_ms(), &user_id, json],
        )?;
        if written == 0 {
            return Err(RelayError::Refused(format!(
                "{}的报告刚由他人签发 / the report for {} was issued by someone else just now",
                period.title(false),
                period.title(true)
            )));
        }
        self.audit(&user_id, "report.issue", &period.key, number)?;
        Ok(r)
    }
}
