//! Method + path pattern to handler, with `{param}` segments.
//!
//! Patterns are split into segments once, at registration. A pattern without
//! params matches by one string comparison; one with params walks the path
//! segment by segment, writing the values into an array on the stack: no
//! regex, no allocation. Routes are tried in registration order and the first
//! match wins, so register `/api/orders/new` before `/api/orders/{id}`. A few
//! dozen routes make a linear scan cheaper than any tree.

use super::handler::Handler;
use super::request::Request;
use super::response::Response;

/// A pattern may have at most this many segments.
pub const SEGMENTS_MAX: usize = 16;

/// A pattern may have at most this many `{param}` segments.
pub const PARAMS_MAX: usize = 8;

/// A bound on the linear scan; far above what an application registers.
const ROUTES_MAX: usize = 1024;

pub type RouteHandler = dyn Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync;

/// The `{param}` values of a matched path, borrowed from the path (not
/// percent-decoded); the names are the route's.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    names: &'a [String],
    values: [&'a str; PARAMS_MAX],
}

impl<'a> Params<'a> {
    pub fn empty() -> Params<'a> {
        Params {
            names: &[],
            values: [""; PARAMS_MAX],
        }
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        let index = self.names.iter().position(|candidate| candidate == name)?;
        Some(self.values[index])
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// (name, value) pairs in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        let names = self.names;
        names
            .iter()
            .map(String::as_str)
            .zip(self.values[..names.len()].iter().copied())
    }
}

pub enum RouteMatch<'a> {
    Found {
        handler: &'a RouteHandler,
        params: Params<'a>,
    },
    /// Some route has this path, none has this method.
    MethodNotAllowed,
    NotFound,
}

/// What `lookup` found; the param values are in the caller's array.
enum Lookup<'a> {
    Found(&'a Route),
    MethodNotAllowed,
    NotFound,
}

#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// The name is in `Route::param_names`, in pattern order.
    Param,
}

/// A method of up to 8 bytes packed into an integer, so that matching a
/// route's method is one comparison instead of a `memcmp` call. `None` for a
/// longer method, which no route has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MethodKey(u64);

impl MethodKey {
    const BYTES_MAX: usize = 8;
    const GET: Option<MethodKey> = MethodKey::of("GET");
    const HEAD: Option<MethodKey> = MethodKey::of("HEAD");

    const fn of(method: &str) -> Option<MethodKey> {
        let bytes = method.as_bytes();
        if bytes.len() > MethodKey::BYTES_MAX {
            return None;
        }
        let mut key = 0u64;
        let mut index = 0;
        while index < bytes.len() {
            key |= (bytes[index] as u64) << (8 * index);
            index += 1;
        }
        Some(MethodKey(key))
    }
}

struct Route {
    method: String,
    method_key: MethodKey,
    pattern: String,
    segments: Vec<Segment>,
    param_names: Vec<String>,
    handler: Box<RouteHandler>,
}

impl Route {
    fn found<'a>(&'a self, values: [&'a str; PARAMS_MAX]) -> RouteMatch<'a> {
        RouteMatch::Found {
            handler: &*self.handler,
            params: Params {
                names: &self.param_names,
                values,
            },
        }
    }

    /// Whether the path matches; the param values go to `values` (which
    /// holds garbage after a mismatch). Filling the caller's array instead of
    /// returning one saves copying it per route tried.
    fn matches<'p>(&self, path: &'p str, values: &mut [&'p str; PARAMS_MAX]) -> bool {
        if self.param_names.is_empty() {
            return path == self.pattern;
        }
        let Some(mut rest) = path.strip_prefix('/') else {
            return false;
        };
        let mut count = 0;
        for (index, segment) in self.segments.iter().enumerate() {
            let last = index + 1 == self.segments.len();
            let value = match rest.split_once('/') {
                Some(_) if last => return false,
                Some((value, tail)) => {
                    rest = tail;
                    value
                }
                None if last => rest,
                None => return false,
            };
            match segment {
                Segment::Literal(literal) if literal == value => {}
                Segment::Param if !value.is_empty() => {
                    values[count] = value;
                    count += 1;
                }
                _ => return false,
            }
        }
        assert_eq!(count, self.param_names.len());
        true
    }
}

#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds a route. `method` is an uppercase token of at most 8 bytes such as
    /// `GET` (every standard method fits); `pattern`
    /// starts with `/` and may have `{name}` segments. Duplicate routes and
    /// malformed patterns are programmer errors and panic here, at startup.
    pub fn route<F>(mut self, method: &str, pattern: &str, handler: F) -> Router
    where
        F: Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static,
    {
        assert!(
            self.routes.len() < ROUTES_MAX,
            "more than {ROUTES_MAX} routes"
        );
        assert!(
            !method.is_empty() && method.bytes().all(|byte| byte.is_ascii_uppercase()),
            "method {method:?} is not an uppercase token"
        );
        let method_key = MethodKey::of(method)
            .unwrap_or_else(|| panic!("method {method:?} is longer than 8 bytes"));
        assert!(
            !self
                .routes
                .iter()
                .any(|route| route.method == method && route.pattern == pattern),
            "route {method} {pattern} is registered twice"
        );
        let (segments, param_names) = parse_pattern(pattern);
        self.routes.push(Route {
            method: method.to_owned(),
            method_key,
            pattern: pattern.to_owned(),
            segments,
            param_names,
            handler: Box::new(handler),
        });
        self
    }

    pub fn get<F>(self, pattern: &str, handler: F) -> Router
    where
        F: Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static,
    {
        self.route("GET", pattern, handler)
    }

    pub fn post<F>(self, pattern: &str, handler: F) -> Router
    where
        F: Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static,
    {
        self.route("POST", pattern, handler)
    }

    pub fn put<F>(self, pattern: &str, handler: F) -> Router
    where
        F: Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static,
    {
        self.route("PUT", pattern, handler)
    }

    pub fn delete<F>(self, pattern: &str, handler: F) -> Router
    where
        F: Fn(&Request<'_>, &Params<'_>) -> Response + Send + Sync + 'static,
    {
        self.route("DELETE", pattern, handler)
    }

    /// The route for `method` and `path`. `HEAD` falls back to the `GET`
    /// route (the connection then sends the head without the body).
    pub fn find<'a>(&'a self, method: &str, path: &'a str) -> RouteMatch<'a> {
        let mut values = [""; PARAMS_MAX];
        match self.lookup(method, path, &mut values) {
            Lookup::Found(route) => route.found(values),
            Lookup::MethodNotAllowed => RouteMatch::MethodNotAllowed,
            Lookup::NotFound => RouteMatch::NotFound,
        }
    }

    /// `find` with the param values left in the caller's array, so that
    /// `handle` builds the handler's `Params` in place instead of moving a
    /// `RouteMatch` out (which profiled as a `memcpy` call per request).
    fn lookup<'a>(
        &'a self,
        method: &str,
        path: &'a str,
        values: &mut [&'a str; PARAMS_MAX],
    ) -> Lookup<'a> {
        let mut path_known = false;
        let mut head_fallback = None;
        let method_key = MethodKey::of(method);
        let is_head = method_key == MethodKey::HEAD;
        for route in &self.routes {
            if !route.matches(path, values) {
                continue;
            }
            path_known = true;
            if Some(route.method_key) == method_key {
                return Lookup::Found(route);
            }
            if is_head && Some(route.method_key) == MethodKey::GET && head_fallback.is_none() {
                head_fallback = Some(route);
            }
        }
        match head_fallback {
            Some(route) => {
                assert!(route.matches(path, values));
                Lookup::Found(route)
            }
            None if path_known => Lookup::MethodNotAllowed,
            None => Lookup::NotFound,
        }
    }

    /// The `Allow` header value for a path: "GET, HEAD, POST". Only built on
    /// the 405 path, so it may allocate.
    pub fn allowed_methods(&self, path: &str) -> String {
        let mut values = [""; PARAMS_MAX];
        let mut methods: Vec<&str> = self
            .routes
            .iter()
            .filter(|route| route.matches(path, &mut values))
            .map(|route| route.method.as_str())
            .collect();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        methods.sort_unstable();
        methods.dedup();
        methods.join(", ")
    }
}

impl Handler for Router {
    fn handle(&self, request: &Request<'_>) -> Response {
        let mut values = [""; PARAMS_MAX];
        match self.lookup(request.method(), request.path(), &mut values) {
            Lookup::Found(route) => {
                let params = Params {
                    names: &route.param_names,
                    values,
                };
                (route.handler)(request, &params)
            }
            Lookup::MethodNotAllowed => Response::error(405, "method not allowed")
                .with_header("Allow", self.allowed_methods(request.path())),
            Lookup::NotFound => Response::error(404, "not found"),
        }
    }
}

/// Splits a pattern into `segments` and returns how many: "/" is none;
/// "/a/b" is ["a", "b"]; "/a/" is ["a", ""]. `None` for a pattern that does
/// not start with "/" or has more than `SEGMENTS_MAX` segments.
fn split_path<'p>(path: &'p str, segments: &mut [&'p str; SEGMENTS_MAX]) -> Option<usize> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(0);
    }
    let mut count = 0;
    for segment in rest.split('/') {
        if count == SEGMENTS_MAX {
            return None;
        }
        segments[count] = segment;
        count += 1;
    }
    Some(count)
}

/// The segments of a pattern and the names of its params, in order.
fn parse_pattern(pattern: &str) -> (Vec<Segment>, Vec<String>) {
    let mut texts = [""; SEGMENTS_MAX];
    let count = split_path(pattern, &mut texts)
        .unwrap_or_else(|| panic!("pattern {pattern:?} must start with / and have <= 16 segments"));
    let mut segments = Vec::with_capacity(count);
    let mut param_names: Vec<String> = Vec::new();
    for text in &texts[..count] {
        let Some(name) = param_name(text) else {
            segments.push(Segment::Literal((*text).to_owned()));
            continue;
        };
        assert!(
            !param_names.iter().any(|earlier| earlier == name),
            "pattern {pattern:?} repeats param {name:?}"
        );
        param_names.push(name.to_owned());
        segments.push(Segment::Param);
    }
    assert!(
        param_names.len() <= PARAMS_MAX,
        "pattern {pattern:?} has more than {PARAMS_MAX} params"
    );
    (segments, param_names)
}

/// `Some("id")` for "{id}", `None` for a literal segment.
fn param_name(segment: &str) -> Option<&str> {
    if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "param {segment:?} needs a name of letters, digits and _"
        );
        return Some(name);
    }
    assert!(
        !segment.contains(['{', '}']),
        "segment {segment:?} mixes a param with text"
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::new()
            .get("/", |_: &Request<'_>, _: &Params<'_>| {
                Response::text(200, "root")
            })
            .get("/api/orders/new", |_: &Request<'_>, _: &Params<'_>| {
                Response::text(200, "new")
            })
            .get(
                "/api/orders/{id}",
                |_: &Request<'_>, params: &Params<'_>| {
                    Response::text(200, params.get("id").unwrap().to_owned())
                },
            )
            .post(
                "/mockpay/{session}/{outcome}",
                |_: &Request<'_>, params: &Params<'_>| {
                    let session = params.get("session").unwrap();
                    let outcome = params.get("outcome").unwrap();
                    Response::text(200, format!("{session}:{outcome}"))
                },
            )
    }

    fn body(router: &Router, method: &str, path: &str) -> Option<String> {
        match router.find(method, path) {
            RouteMatch::Found { handler, params } => {
                let request = Request::new(method, path, &[], &[]);
                let response = handler(&request, &params);
                Some(String::from_utf8(response.body().to_vec()).unwrap())
            }
            _ => None,
        }
    }

    #[test]
    fn params_are_extracted_and_literals_registered_first_win() {
        let router = router();
        assert_eq!(body(&router, "GET", "/").as_deref(), Some("root"));
        assert_eq!(
            body(&router, "GET", "/api/orders/new").as_deref(),
            Some("new")
        );
        assert_eq!(
            body(&router, "GET", "/api/orders/42").as_deref(),
            Some("42")
        );
        assert_eq!(
            body(&router, "HEAD", "/api/orders/42").as_deref(),
            Some("42")
        );
        assert_eq!(
            body(&router, "POST", "/mockpay/s1/paid").as_deref(),
            Some("s1:paid")
        );
    }

    #[test]
    fn empty_params_trailing_slashes_and_deep_paths_do_not_match() {
        let router = router();
        assert!(matches!(
            router.find("GET", "/api/orders/"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            router.find("GET", "/api/orders"),
            RouteMatch::NotFound
        ));
        assert!(matches!(router.find("GET", "api"), RouteMatch::NotFound));
        let deep = "/a".repeat(SEGMENTS_MAX + 1);
        assert!(matches!(router.find("GET", &deep), RouteMatch::NotFound));
    }

    #[test]
    fn params_between_literals_match_whole_segments_only() {
        let router = Router::new().get("/a/{x}/b/{y}", |_: &Request<'_>, params: &Params<'_>| {
            let pairs: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
            Response::text(200, pairs.join("&"))
        });
        assert_eq!(body(&router, "GET", "/a/1/b/2").as_deref(), Some("x=1&y=2"));
        for path in [
            "/a/1/b",
            "/a/1/c/2",
            "/a/1/b/2/",
            "/a//b/2",
            "a/1/b/2",
            "/a/1/b/2/3",
        ] {
            assert!(
                matches!(router.find("GET", path), RouteMatch::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn a_known_path_with_another_method_is_not_allowed() {
        let router = router();
        assert!(matches!(
            router.find("DELETE", "/api/orders/7"),
            RouteMatch::MethodNotAllowed
        ));
        assert_eq!(router.allowed_methods("/api/orders/7"), "GET, HEAD");
        assert_eq!(router.allowed_methods("/mockpay/a/b"), "POST");
    }

    #[test]
    fn methods_match_exactly_whatever_their_length() {
        let router = router().route("PROPFIND", "/dav", |_: &Request<'_>, _: &Params<'_>| {
            Response::text(200, "dav")
        });
        assert_eq!(body(&router, "PROPFIND", "/dav").as_deref(), Some("dav"));
        for method in [
            "PROPFINDX",
            "PROPFIN",
            "propfind",
            "GET",
            "PROPFINDPROPFIND",
        ] {
            assert!(
                matches!(router.find(method, "/dav"), RouteMatch::MethodNotAllowed),
                "{method}"
            );
        }
        assert!(matches!(
            router.find("GETX", "/"),
            RouteMatch::MethodNotAllowed
        ));
    }

    #[test]
    #[should_panic(expected = "longer than 8 bytes")]
    fn a_method_longer_than_8_bytes_is_refused_at_registration() {
        let _ = Router::new().route("PROPPATCHX", "/dav", |_: &Request<'_>, _: &Params<'_>| {
            Response::empty(204)
        });
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn a_duplicate_route_is_refused() {
        let _ = router().get("/", |_: &Request<'_>, _: &Params<'_>| Response::empty(204));
    }
}
