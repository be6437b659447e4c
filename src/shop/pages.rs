//! The buyer's pages: the landing page with its checkout form, and the
//! order page the payment provider sends the buyer back to, which polls
//! `GET /api/orders/{id}` until the order is final.
//!
//! Both are thin: the data comes from the JSON API, so the pages add no
//! second way of reading the ledger.

use askama::Template;

use super::Shop;
use crate::http::{Request, Response};
use crate::ids::OrderId;

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>boxoffice</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.4rem 0} .error{color:#cf222e}</style></head>
<body>
<h1>boxoffice</h1>
{% for event in events %}
<section>
<h2>{{ event.name }}</h2>
<ul>{% for class in event.classes %}
<li>{{ class.code }}: {{ class.name }}, {{ class.price }} {{ event.currency }}</li>
{% endfor %}</ul>
<form class="checkout" data-event="{{ event.slug }}">
<label>Class <select name="class">{% for class in event.classes %}<option>{{ class.code }}</option>{% endfor %}</select></label>
<label>Quantity <input name="quantity" type="number" min="1" max="{{ quantity_max }}" value="1"></label>
<label>E-mail <input name="email" type="email" required></label>
<button>Buy</button> <span class="error"></span>
</form>
</section>
{% endfor %}
<p><a href="/api/events">Live availability (JSON)</a></p>
<script>
for (const form of document.querySelectorAll("form.checkout")) {
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const data = new FormData(form);
    const response = await fetch("/api/checkout", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({event: form.dataset.event, class: data.get("class"),
        quantity: Number(data.get("quantity")), email: data.get("email")})});
    const answer = await response.json();
    if (response.status === 201) { location.href = answer.payment_url; }
    else { form.querySelector(".error").textContent = answer.error + (answer.hint ? " (" + answer.hint + ")" : ""); }
  });
}
</script>
</body></html>
"#
)]
struct Landing<'a> {
    events: Vec<EventItem<'a>>,
    quantity_max: u16,
}

struct EventItem<'a> {
    slug: &'a str,
    name: &'a str,
    currency: &'a str,
    classes: Vec<ClassItem<'a>>,
}

struct ClassItem<'a> {
    code: &'a str,
    name: &'a str,
    price: String,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your order</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}</style></head>
<body>
<h1>Your order</h1>
<p>Order <code>{{ order_id }}</code>: <strong id="status">checking…</strong></p>
<ul id="tickets"></ul>
<p id="goodie"></p>
<p><a href="/">Back to the shop</a></p>
<script>
const final = ["PAID", "PAID_UNFULFILLED", "FAILED", "CANCELED", "EXPIRED"];
async function poll(attempt) {
  const response = await fetch("/api/orders/{{ order_id }}");
  const order = await response.json();
  document.getElementById("status").textContent = order.status || order.error;
  if (order.tickets) {
    document.getElementById("tickets").innerHTML = "";
    for (const code of order.tickets) {
      const item = document.createElement("li"); item.textContent = "Ticket " + code;
      document.getElementById("tickets").appendChild(item);
    }
  }
  if (order.goodie) { document.getElementById("goodie").textContent = "You get a goodie!"; }
  if (order.refund_owed) { document.getElementById("goodie").textContent = "Sold out before your payment arrived: you will be refunded."; }
  if (!final.includes(order.status) && response.status !== 404 && attempt < 120) {
    setTimeout(() => poll(attempt + 1), 500);
  }
}
poll(0);
</script>
</body></html>
"#
)]
struct OrderPage {
    order_id: String,
}

pub fn landing(shop: &Shop, _request: &Request<'_>) -> Response {
    let events = shop
        .catalog
        .events()
        .iter()
        .map(|event| EventItem {
            slug: &event.slug,
            name: &event.name,
            currency: &event.currency,
            classes: event
                .classes
                .iter()
                .map(|class| ClassItem {
                    code: &class.code,
                    name: &class.name,
                    price: crate::mockpay::page::format_cents(class.price_cents),
                })
                .collect(),
        })
        .collect();
    let page = Landing {
        events,
        quantity_max: shop.config.tickets_per_order_max,
    };
    Response::html(200, page.render().expect("the landing page renders"))
}

pub fn order(_shop: &Shop, id: &str) -> Response {
    match OrderId::parse(id) {
        Some(order_id) => {
            let page = OrderPage {
                order_id: order_id.to_string(),
            };
            Response::html(200, page.render().expect("the order page renders"))
        }
        None => Response::error(404, "there is no such order"),
    }
}
