//! The mock payment provider, written as if it were an external service.
//!
//! It shares nothing with the shop but the webhook signing key (as a real
//! provider shares an endpoint secret): its own session table in its own
//! memory, its own key to make session tokens, its own HTTP client to
//! deliver webhooks. The shop calls [`MockPay::create_session`] as it would
//! call a provider's API; the buyer then visits the payment page, chooses
//! Succeed, Fail or Cancel, the provider delivers the signed webhook and
//! redirects the buyer back to the shop.
//!
//! Only the buyer holds the session token (it is in the payment URL and is
//! a keyed hash nobody else can compute), so nobody else can pay, fail or
//! cancel an order.
//!
//! - [`session`]: the provider's session table;
//! - [`delivery`]: signed webhook delivery with retries;
//! - [`page`]: the payment page.

pub mod delivery;
pub mod page;
pub mod session;

use std::sync::Arc;

use serde::Serialize;

use crate::clock::unix_now_s;
use crate::http::Response;
use crate::signature::SigningKey;
use delivery::{Courier, Delivered, DeliveryPolicy, WebhookTarget};
pub use session::Outcome;
use session::{ProviderSession, SessionTable};

#[derive(Clone, Debug)]
pub struct MockPayConfig {
    /// Base of payment URLs, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Where webhooks go, e.g. `http://127.0.0.1:8080/payments/webhook`.
    pub webhook_url: String,
    /// Signs webhooks; the shop verifies with the same key.
    pub webhook_key: SigningKey,
    /// The provider's own secret for session tokens.
    pub token_key: SigningKey,
    pub sessions_max: usize,
    pub delivery: DeliveryPolicy,
}

/// What the shop asks the provider for.
#[derive(Clone, Debug)]
pub struct CreateSession {
    /// The shop's order id; a second request with the same reference gets
    /// the same session (idempotent creation).
    pub reference: String,
    pub amount_cents: u64,
    pub currency: String,
    pub email: String,
    pub success_url: String,
    pub cancel_url: String,
    pub expires_in_s: u64,
}

#[derive(Clone, Debug)]
pub struct SessionCreated {
    pub token: String,
    pub payment_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MockPayError {
    #[error("the payment provider has too many open sessions; try again shortly")]
    Full,
}

/// The webhook body, as the shop receives it.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct PaymentEvent {
    /// Unique per payment result: the shop's idempotency key.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub session: String,
    pub reference: String,
    pub amount_cents: u64,
    pub currency: String,
    pub email: String,
    pub created: u64,
}

pub struct MockPay {
    config: MockPayConfig,
    sessions: Arc<SessionTable>,
    courier: Arc<Courier>,
}

impl MockPay {
    pub fn new(config: MockPayConfig) -> Result<MockPay, String> {
        let target = WebhookTarget::parse(&config.webhook_url)?;
        let courier = Courier::new(target, config.webhook_key.clone(), config.delivery.clone());
        Ok(MockPay {
            sessions: Arc::new(SessionTable::new(config.sessions_max)),
            courier: Arc::new(courier),
            config,
        })
    }

    /// The provider's "create checkout session" API.
    pub fn create_session(&self, request: CreateSession) -> Result<SessionCreated, MockPayError> {
        let token = self.token_for(&request.reference);
        let session = ProviderSession {
            token: token.clone(),
            reference: request.reference,
            amount_cents: request.amount_cents,
            currency: request.currency,
            email: request.email,
            success_url: request.success_url,
            cancel_url: request.cancel_url,
            expires_at_s: unix_now_s() + request.expires_in_s,
            outcome: None,
        };
        if !self.sessions.insert(session, unix_now_s()) {
            return Err(MockPayError::Full);
        }
        Ok(SessionCreated {
            payment_url: format!("{}/mockpay/{token}", self.config.public_url),
            token,
        })
    }

    fn token_for(&self, reference: &str) -> String {
        let tag = self.config.token_key.keyed_hash(&[reference.as_bytes()]);
        format!("cs_{}", hex::encode(&tag[..16]))
    }

    /// `GET /mockpay/{session}`: the payment page.
    pub fn page(&self, token: &str) -> Response {
        match self.sessions.get(token, unix_now_s()) {
            Some(session) => Response::html(200, page::render(&session)),
            None => Response::html(404, page::render_missing()),
        }
    }

    /// `POST /mockpay/{session}/{outcome}`: records the buyer's choice,
    /// delivers the webhook and sends the buyer back to the shop.
    pub fn choose(&self, token: &str, outcome_segment: &str) -> Response {
        let Some(outcome) = Outcome::from_segment(outcome_segment) else {
            return Response::error(404, "the outcome must be succeed, fail or cancel");
        };
        let Some(session) = self.sessions.choose(token, outcome, unix_now_s()) else {
            return Response::html(404, page::render_missing());
        };
        let outcome = session.outcome.expect("choose() sets the outcome");
        let sessions = self.sessions.clone();
        let token_done = session.token.clone();
        let delivered = self
            .courier
            .deliver(webhook_body(&session, outcome), move || {
                sessions.remove(&token_done)
            });
        match delivered {
            Delivered::Accepted | Delivered::Retrying => {
                let back = match outcome {
                    Outcome::Succeeded => &session.success_url,
                    Outcome::Failed | Outcome::Canceled => &session.cancel_url,
                };
                Response::redirect(303, back.clone())
            }
            Delivered::Refused(status) => Response::error(
                502,
                &format!("the shop refused the payment result with HTTP {status}"),
            ),
            Delivered::Dropped => Response::error(503, "the payment provider is overloaded")
                .with_header("Retry-After", "5"),
        }
    }

    pub fn open_sessions_count(&self) -> usize {
        self.sessions.len()
    }
}

/// The webhook body of a session's outcome. The event id is a function of
/// the session and the outcome, so every redelivery carries the same id.
fn webhook_body(session: &ProviderSession, outcome: Outcome) -> Vec<u8> {
    let event = PaymentEvent {
        id: format!("evt_{}_{}", &session.token[3..], outcome.event_type()),
        event_type: outcome.event_type().into(),
        session: session.token.clone(),
        reference: session.reference.clone(),
        amount_cents: session.amount_cents,
        currency: session.currency.clone(),
        email: session.email.clone(),
        created: unix_now_s(),
    };
    serde_json::to_vec(&event).expect("a payment event serialises")
}
