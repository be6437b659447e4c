//! The provider's own checkout sessions, kept in its memory.
//!
//! The provider is a separate service in spirit: it does not share the
//! shop's Redis, so flushing the shop's sessions leaves the provider able to
//! deliver its webhook (which is what a real provider does). Sessions live
//! until their payment is delivered or they expire; the store is bounded and
//! sharded so that two worker threads rarely wait on the same lock.

use std::collections::HashMap;

use parking_lot::Mutex;

const SHARDS_COUNT: usize = 16;

/// What the buyer chose on the payment page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    Canceled,
}

impl Outcome {
    /// From the URL segment of `POST /mockpay/{session}/{outcome}`.
    pub fn from_segment(segment: &str) -> Option<Outcome> {
        match segment {
            "succeed" => Some(Outcome::Succeeded),
            "fail" => Some(Outcome::Failed),
            "cancel" => Some(Outcome::Canceled),
            _ => None,
        }
    }

    /// The webhook event type.
    pub fn event_type(self) -> &'static str {
        match self {
            Outcome::Succeeded => "payment.succeeded",
            Outcome::Failed => "payment.failed",
            Outcome::Canceled => "payment.canceled",
        }
    }

    pub fn from_event_type(event_type: &str) -> Option<Outcome> {
        match event_type {
            "payment.succeeded" => Some(Outcome::Succeeded),
            "payment.failed" => Some(Outcome::Failed),
            "payment.canceled" => Some(Outcome::Canceled),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProviderSession {
    pub token: String,
    /// The merchant's reference: the shop's order id.
    pub reference: String,
    pub amount_cents: u64,
    pub currency: String,
    pub email: String,
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at_s: u64,
    /// Set by the first choice; later choices cannot change it.
    pub outcome: Option<Outcome>,
}

pub struct SessionTable {
    shards: Vec<Mutex<HashMap<String, ProviderSession>>>,
    sessions_per_shard_max: usize,
}

impl SessionTable {
    pub fn new(sessions_max: usize) -> SessionTable {
        assert!(sessions_max >= SHARDS_COUNT);
        SessionTable {
            shards: (0..SHARDS_COUNT)
                .map(|_| Mutex::new(HashMap::new()))
                .collect(),
            sessions_per_shard_max: sessions_max / SHARDS_COUNT,
        }
    }

    fn shard(&self, token: &str) -> &Mutex<HashMap<String, ProviderSession>> {
        // Tokens are hex of a keyed hash: their last digits are uniform.
        let digit = token.bytes().last().map_or(0, |b| b as usize);
        &self.shards[digit % SHARDS_COUNT]
    }

    /// Inserts `session` unless its token exists (same reference, same
    /// token: creation is idempotent). False when the store is full even
    /// after dropping expired sessions.
    pub fn insert(&self, session: ProviderSession, now_s: u64) -> bool {
        let mut shard = self.shard(&session.token).lock();
        if shard.contains_key(&session.token) {
            return true;
        }
        if shard.len() >= self.sessions_per_shard_max {
            shard.retain(|_, s| s.expires_at_s > now_s);
            if shard.len() >= self.sessions_per_shard_max {
                return false;
            }
        }
        shard.insert(session.token.clone(), session);
        true
    }

    /// The live session with `token`, if any.
    pub fn get(&self, token: &str, now_s: u64) -> Option<ProviderSession> {
        let shard = self.shard(token).lock();
        shard.get(token).filter(|s| s.expires_at_s > now_s).cloned()
    }

    /// Records the buyer's choice; the first one wins. Returns the session
    /// with the outcome that holds.
    pub fn choose(&self, token: &str, outcome: Outcome, now_s: u64) -> Option<ProviderSession> {
        let mut shard = self.shard(token).lock();
        let session = shard.get_mut(token).filter(|s| s.expires_at_s > now_s)?;
        session.outcome.get_or_insert(outcome);
        Some(session.clone())
    }

    /// Forgets a session whose payment was delivered.
    pub fn remove(&self, token: &str) {
        self.shard(token).lock().remove(token);
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(token: &str, expires_at_s: u64) -> ProviderSession {
        ProviderSession {
            token: token.into(),
            reference: "order".into(),
            amount_cents: 100,
            currency: "EUR".into(),
            email: "a@example.com".into(),
            success_url: "/ok".into(),
            cancel_url: "/".into(),
            expires_at_s,
            outcome: None,
        }
    }

    #[test]
    fn the_first_choice_wins() {
        let table = SessionTable::new(64);
        assert!(table.insert(session("ab", 100), 0));
        assert_eq!(
            table.choose("ab", Outcome::Failed, 1).unwrap().outcome,
            Some(Outcome::Failed)
        );
        assert_eq!(
            table.choose("ab", Outcome::Succeeded, 1).unwrap().outcome,
            Some(Outcome::Failed)
        );
        assert!(table.get("ab", 100).is_none(), "expired at 100");
    }

    #[test]
    fn a_full_table_makes_room_from_expired_sessions_only() {
        let table = SessionTable::new(16);
        // Every token ending in '0' lands in one shard of capacity 1.
        assert!(table.insert(session("10", 5), 0));
        assert!(!table.insert(session("20", 50), 1));
        assert!(table.insert(session("20", 50), 6));
        assert_eq!(table.len(), 1);
    }
}
