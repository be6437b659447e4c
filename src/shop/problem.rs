//! What the shop answers when a request cannot be served: the right HTTP
//! status and a JSON body saying what is wrong, naming the field where one
//! is at fault.

use serde::Serialize;

use crate::http::Response;
use crate::ledger::LedgerError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub message: String,
    /// The request field at fault, if any.
    pub field: Option<&'static str>,
    /// Extra advice for the client (e.g. held tickets may be released).
    pub hint: Option<String>,
    /// Seconds after which a retry may succeed (503 and 409).
    pub retry_after_s: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
}

impl Problem {
    pub fn new(status: u16, message: impl Into<String>) -> Problem {
        assert!((400..600).contains(&status), "a problem is a 4xx or 5xx");
        Problem {
            status,
            message: message.into(),
            field: None,
            hint: None,
            retry_after_s: None,
        }
    }

    /// 400: the request cannot be read (malformed JSON, bad header).
    pub fn bad_request(message: impl Into<String>) -> Problem {
        Problem::new(400, message)
    }

    /// 422: the request reads fine but a field's value is wrong.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            field: Some(field),
            ..Problem::new(422, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Problem {
        Problem::new(404, message)
    }

    /// 503 with `Retry-After`: a dependency is down or a queue is full.
    pub fn unavailable(message: impl Into<String>, retry_after_s: u32) -> Problem {
        Problem {
            retry_after_s: Some(retry_after_s),
            ..Problem::new(503, message)
        }
    }

    pub fn internal(message: impl Into<String>) -> Problem {
        Problem::new(500, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }

    pub fn into_response(self) -> Response {
        let body = Body {
            error: &self.message,
            field: self.field,
            hint: self.hint.as_deref(),
        };
        let response = Response::json(self.status, &body);
        match self.retry_after_s {
            Some(seconds) => response.with_header("Retry-After", seconds.to_string()),
            None => response,
        }
    }
}

impl From<LedgerError> for Problem {
    fn from(error: LedgerError) -> Problem {
        match error {
            LedgerError::Overloaded { .. } => Problem::unavailable(error.to_string(), 1),
            LedgerError::Timeout { .. } | LedgerError::Send { .. } | LedgerError::Stopped => {
                Problem::unavailable(format!("the ticket ledger is unavailable: {error}"), 5)
            }
            other => Problem::internal(other.to_string()),
        }
    }
}

/// Handlers return `Result<Response, Problem>`; this folds it.
pub fn respond(result: Result<Response, Problem>) -> Response {
    result.unwrap_or_else(Problem::into_response)
}
