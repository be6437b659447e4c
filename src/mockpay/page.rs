//! The payment page: what the buyer sees at the provider.

use askama::Template;

use super::session::ProviderSession;

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>MockPay: pay {{ amount }} {{ currency }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; padding: 0 1rem; }
form { display: inline; } button { font-size: 1rem; padding: .6rem 1.2rem; margin: .3rem; }
.succeed { background: #1a7f37; color: #fff; } .fail { background: #cf222e; color: #fff; }
</style></head>
<body>
<h1>MockPay</h1>
<p>A test payment provider: no money moves.</p>
<p>Pay <strong>{{ amount }} {{ currency }}</strong> for order <code>{{ reference }}</code>
(receipt to {{ email }}).</p>
{% if let Some(outcome) = outcome %}
<p>This payment was already answered: <strong>{{ outcome }}</strong>.
Choosing again sends the same answer.</p>
{% endif %}
<form method="post" action="/mockpay/{{ token }}/succeed"><button class="succeed">Succeed</button></form>
<form method="post" action="/mockpay/{{ token }}/fail"><button class="fail">Fail</button></form>
<form method="post" action="/mockpay/{{ token }}/cancel"><button>Cancel</button></form>
</body></html>
"#
)]
struct PaymentPage<'a> {
    token: &'a str,
    reference: &'a str,
    amount: String,
    currency: &'a str,
    email: &'a str,
    outcome: Option<&'static str>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MockPay: no such payment</title></head>
<body><h1>MockPay</h1><p>This payment does not exist, has expired or was completed.</p></body></html>
"#
)]
struct MissingPage;

/// `6500` cents as `65.00`.
pub fn format_cents(amount_cents: u64) -> String {
    format!("{}.{:02}", amount_cents / 100, amount_cents % 100)
}

pub fn render(session: &ProviderSession) -> String {
    let page = PaymentPage {
        token: &session.token,
        reference: &session.reference,
        amount: format_cents(session.amount_cents),
        currency: &session.currency,
        email: &session.email,
        outcome: session.outcome.map(|o| o.event_type()),
    };
    page.render().expect("the payment page renders")
}

pub fn render_missing() -> String {
    MissingPage.render().expect("the missing page renders")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_the_buyer_typed() {
        let session = ProviderSession {
            token: "cs_00".into(),
            reference: "ref".into(),
            amount_cents: 6500,
            currency: "EUR".into(),
            email: "<script>@x.y".into(),
            success_url: "/".into(),
            cancel_url: "/".into(),
            expires_at_s: 10,
            outcome: None,
        };
        let html = render(&session);
        assert!(html.contains("65.00 EUR"));
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains(r#"action="/mockpay/cs_00/succeed""#));
    }
}
