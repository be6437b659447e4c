//! The shop's router: every URL the server answers, in one place.

use std::sync::Arc;

use super::problem::respond;
use super::{accounting, checkout, events, metrics, order_status, pages, webhook, Shop};
use crate::http::{self, Params, Request, Response, Router};

/// Routes for `shop`; the accounting-only endpoints only when enabled.
pub fn router(shop: Arc<Shop>) -> Router {
    let router = Router::new()
        .get("/noop", http::noop)
        .get(
            "/",
            with(&shop, |shop, request, _| pages::landing(shop, request)),
        )
        .get(
            "/orders/{id}",
            with(&shop, |shop, _, params| {
                pages::order(shop, param(params, "id"))
            }),
        )
        .get(
            "/api/events",
            with(&shop, |shop, _, _| respond(events::events(shop))),
        )
        .post(
            "/api/checkout",
            with(&shop, |shop, request, _| {
                respond(checkout::checkout(shop, request))
            }),
        )
        .get(
            "/api/orders/{id}",
            with(&shop, |shop, _, params| {
                respond(order_status::order_status(shop, param(params, "id")))
            }),
        )
        .post(
            "/payments/webhook",
            with(&shop, |shop, request, _| {
                respond(webhook::webhook(shop, request))
            }),
        )
        .get(
            "/mockpay/{session}",
            with(&shop, |shop, _, params| {
                shop.provider.page(param(params, "session"))
            }),
        )
        .post(
            "/mockpay/{session}/{outcome}",
            with(&shop, |shop, _, params| {
                shop.provider
                    .choose(param(params, "session"), param(params, "outcome"))
            }),
        )
        .get("/metrics", with(&shop, |shop, _, _| metrics::metrics(shop)));
    if !shop.config.benchmark_endpoints {
        return router;
    }
    router
        .post(
            "/bench/reserve",
            with(&shop, |shop, request, _| {
                respond(accounting::reserve(shop, request))
            }),
        )
        .post(
            "/bench/commit",
            with(&shop, |shop, request, _| {
                respond(accounting::commit(shop, request))
            }),
        )
}

/// A route handler with the shop at hand.
fn with(
    shop: &Arc<Shop>,
    handler: impl Fn(&Shop, &Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static,
) -> impl Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static {
    let shop = shop.clone();
    move |request, params| handler(&shop, request, params)
}

fn param<'a>(params: &Params<'a>, name: &str) -> &'a str {
    params
        .get(name)
        .expect("the route pattern names this parameter")
}
