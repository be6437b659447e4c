//! Typed results of ledger operations, mapped from TigerBeetle's result
//! codes so that no caller ever matches on a string.

use std::fmt;

/// What TigerBeetle answered for one transfer.
///
/// The mapping follows `TB_CREATE_TRANSFER_RESULT` of the 0.16.78 C client
/// (`tb_client.h`); codes are stable across the 0.16 series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferOutcome {
    /// The transfer was applied now.
    Created,
    /// A transfer with this id and the same fields exists: a retry of work
    /// already done. Safe to treat as success.
    AlreadyExists,
    /// The budget cannot cover the amount (`exceeds_credits`).
    SoldOut,
    /// The pending transfer timed out before it was posted or voided.
    Expired,
    /// The pending transfer was posted by a different transfer.
    AlreadyPosted,
    /// The pending transfer was voided by a different transfer.
    AlreadyVoided,
    /// No pending transfer with that id exists.
    HoldNotFound,
    /// Another event of the same linked chain failed, so this one did not
    /// apply either.
    LinkedEventFailed,
    /// An earlier attempt with this id failed; TigerBeetle remembers the
    /// failure forever (since 0.16.4), so a new attempt needs a new id.
    IdAlreadyFailed,
    /// The id exists with different fields: a programming or data error.
    ExistsWithDifferentFields(u32),
    /// Any other rejection, by its TigerBeetle result code.
    Rejected(u32),
}

impl TransferOutcome {
    /// Maps a raw `create_transfers` result code.
    pub fn from_code(code: u32) -> TransferOutcome {
        match code {
            0 => TransferOutcome::Created,
            1 => TransferOutcome::LinkedEventFailed,
            25 => TransferOutcome::HoldNotFound,
            33 => TransferOutcome::AlreadyPosted,
            34 => TransferOutcome::AlreadyVoided,
            35 => TransferOutcome::Expired,
            36..=45 | 67 => TransferOutcome::ExistsWithDifferentFields(code),
            46 => TransferOutcome::AlreadyExists,
            54 => TransferOutcome::SoldOut,
            68 => TransferOutcome::IdAlreadyFailed,
            other => TransferOutcome::Rejected(other),
        }
    }

    /// True when the transfer's effect is in the ledger, now or from an
    /// earlier attempt with the same id.
    pub fn is_applied(self) -> bool {
        matches!(
            self,
            TransferOutcome::Created | TransferOutcome::AlreadyExists
        )
    }
}

impl fmt::Display for TransferOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferOutcome::Created => write!(f, "created"),
            TransferOutcome::AlreadyExists => write!(f, "already exists"),
            TransferOutcome::SoldOut => write!(f, "sold out"),
            TransferOutcome::Expired => write!(f, "hold expired"),
            TransferOutcome::AlreadyPosted => write!(f, "hold already posted"),
            TransferOutcome::AlreadyVoided => write!(f, "hold already voided"),
            TransferOutcome::HoldNotFound => write!(f, "hold not found"),
            TransferOutcome::LinkedEventFailed => write!(f, "linked event failed"),
            TransferOutcome::IdAlreadyFailed => write!(f, "id already failed"),
            TransferOutcome::ExistsWithDifferentFields(code) => {
                write!(f, "exists with different fields (code {code})")
            }
            TransferOutcome::Rejected(code) => write!(f, "rejected (code {code})"),
        }
    }
}

/// What TigerBeetle answered for one account creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountOutcome {
    Created,
    /// Same id, same fields: start-up ran before. Success.
    AlreadyExists,
    /// Same id, different fields (flags, ledger, code, user data).
    ExistsWithDifferentFields(u32),
    Rejected(u32),
}

impl AccountOutcome {
    /// Maps a raw `create_accounts` result code (`TB_CREATE_ACCOUNT_RESULT`).
    pub fn from_code(code: u32) -> AccountOutcome {
        match code {
            0 => AccountOutcome::Created,
            21 => AccountOutcome::AlreadyExists,
            15..=20 => AccountOutcome::ExistsWithDifferentFields(code),
            other => AccountOutcome::Rejected(other),
        }
    }

    pub fn is_applied(self) -> bool {
        matches!(
            self,
            AccountOutcome::Created | AccountOutcome::AlreadyExists
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tigerbeetle_codes_map_to_ticket_outcomes() {
        assert_eq!(TransferOutcome::from_code(0), TransferOutcome::Created);
        assert_eq!(
            TransferOutcome::from_code(46),
            TransferOutcome::AlreadyExists
        );
        assert_eq!(TransferOutcome::from_code(54), TransferOutcome::SoldOut);
        assert_eq!(TransferOutcome::from_code(35), TransferOutcome::Expired);
        assert_eq!(
            TransferOutcome::from_code(33),
            TransferOutcome::AlreadyPosted
        );
        assert_eq!(
            TransferOutcome::from_code(34),
            TransferOutcome::AlreadyVoided
        );
        assert_eq!(
            TransferOutcome::from_code(68),
            TransferOutcome::IdAlreadyFailed
        );
        assert_eq!(
            TransferOutcome::from_code(55),
            TransferOutcome::Rejected(55)
        );
    }
}
