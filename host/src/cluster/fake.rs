//! An in-memory Kubernetes API server for the controller's tests, served to
//! a real [`kube::Client`] as a tower `Service`.
//!
//! It speaks as much of the API as the agent uses: list and watch (with
//! resource versions, replay from a version, and `labelSelector` equality
//! and existence), get, server-side apply of `BpfExporter` status with the
//! list-map merge of `status.nodes` by field manager, and Event create and
//! patch. Every request is recorded; faults can be injected per method and
//! path.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, Response, StatusCode};
use futures::StreamExt as _;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use serde_json::{Value, json};

/// The resources the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Exporter,
    ConfigMap,
    Node,
    Event,
}

impl Kind {
    fn api_version(self) -> &'static str {
        match self {
            Kind::Exporter => "bpfhost.dev/v1alpha1",
            Kind::ConfigMap | Kind::Node => "v1",
            Kind::Event => "events.k8s.io/v1",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Kind::Exporter => "BpfExporter",
            Kind::ConfigMap => "ConfigMap",
            Kind::Node => "Node",
            Kind::Event => "Event",
        }
    }

    fn from_plural(plural: &str) -> Option<Self> {
        Some(match plural {
            "bpfexporters" => Kind::Exporter,
            "configmaps" => Kind::ConfigMap,
            "nodes" => Kind::Node,
            "events" => Kind::Event,
            _ => return None,
        })
    }
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: Value,
    /// The status code answered.
    pub status: u16,
}

/// Answer `status` to the next `times` requests with `method` whose path
/// contains `path`.
#[derive(Debug)]
struct Fault {
    method: Method,
    path: String,
    status: u16,
    times: usize,
}

type Key = (Kind, String, String);

struct Watch {
    kind: Kind,
    selector: Vec<(String, Option<String>)>,
    tx: UnboundedSender<Bytes>,
}

#[derive(Default)]
struct State {
    version: u64,
    objects: BTreeMap<Key, Value>,
    /// Every change, for watches that start from an older version.
    log: Vec<(u64, Kind, &'static str, Value)>,
    watches: Vec<Watch>,
    requests: Vec<Recorded>,
    faults: Vec<Fault>,
    /// Status entries of each exporter, by field manager.
    owners: BTreeMap<(String, String), BTreeMap<String, Vec<Value>>>,
}

/// The fake API server; clones share it.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FakeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApi").finish_non_exhaustive()
    }
}

impl FakeApi {
    pub fn new() -> Self {
        Self::default()
    }

    /// A client whose every request this fake answers.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.clone(), "default")
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sys::lock(&self.state)
    }

    /// Creates or replaces an object as a client would (`metadata.name`
    /// and, for namespaced kinds, `metadata.namespace` set). Changing an
    /// exporter's spec bumps its generation; its status is kept.
    pub fn put(&self, kind: Kind, mut object: Value) {
        let mut state = self.lock();
        let key = key_of(kind, &object);
        object["apiVersion"] = json!(kind.api_version());
        object["kind"] = json!(kind.kind());
        let old = state.objects.get(&key).cloned();
        let generation = match &old {
            Some(old) if old["spec"] == object["spec"] => old["metadata"]["generation"].clone(),
            Some(old) => json!(old["metadata"]["generation"].as_i64().unwrap_or(0) + 1),
            None => json!(1),
        };
        object["metadata"]["generation"] = generation;
        if let Some(old) = &old
            && kind == Kind::Exporter
        {
            object["status"] = old["status"].clone();
        }
        let verb = if old.is_some() { "MODIFIED" } else { "ADDED" };
        state.store(key, object, verb);
    }

    /// Deletes an object (and its status).
    pub fn delete(&self, kind: Kind, namespace: &str, name: &str) {
        let mut state = self.lock();
        let key = (kind, namespace.to_owned(), name.to_owned());
        if let Some(object) = state.objects.remove(&key) {
            state
                .owners
                .remove(&(namespace.to_owned(), name.to_owned()));
            state.version += 1;
            let version = state.version;
            state.emit(version, kind, "DELETED", object);
        }
    }

    /// The object as stored.
    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<Value> {
        let key = (kind, namespace.to_owned(), name.to_owned());
        self.lock().objects.get(&key).cloned()
    }

    /// Every object of a kind.
    pub fn list(&self, kind: Kind) -> Vec<Value> {
        let state = self.lock();
        state
            .objects
            .iter()
            .filter(|((k, _, _), _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Sets an exporter's status entries as if `manager` had applied them.
    pub fn apply_status(&self, namespace: &str, name: &str, manager: &str, entries: Vec<Value>) {
        let mut state = self.lock();
        state.apply_status(namespace, name, manager, entries);
    }

    /// Fails the next `times` requests of `method` on a path containing
    /// `path` with HTTP `status`.
    pub fn fail(&self, method: Method, path: &str, status: u16, times: usize) {
        self.lock().faults.push(Fault {
            method,
            path: path.to_owned(),
            status,
            times,
        });
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Waits until `check` holds, or panics naming `what` after `timeout`.
    pub async fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&FakeApi) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !check(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; requests:\n{}",
                self.requests()
                    .iter()
                    .map(|r| format!("{} {} {}", r.method, r.path, r.status))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn handle(self, request: Request<kube::client::Body>) -> Response<ResponseBody> {
        let (parts, body) = request.into_parts();
        let body = body.collect_bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let path = parts.uri.path().to_owned();
        let query = parse_query(parts.uri.query().unwrap_or(""));
        let mut state = self.lock();
        let (status, response) = match state.fault(&parts.method, &path) {
            Some(code) => (code, Reply::Json(status_body(code, "injected fault"))),
            None => state.serve(&parts.method, &path, &query, &body),
        };
        state.requests.push(Recorded {
            method: parts.method,
            path,
            query,
            body,
            status,
        });
        let builder = Response::builder()
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header("content-type", "application/json");
        let body = match response {
            Reply::Json(value) => Full::new(Bytes::from(value.to_string()))
                .map_err(|never| match never {})
                .boxed_unsync(),
            Reply::Stream(rx) => {
                StreamBody::new(rx.map(|bytes| Ok(http_body::Frame::data(bytes)))).boxed_unsync()
            }
        };
        builder.body(body).expect("valid response")
    }
}

type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

enum Reply {
    Json(Value),
    Stream(futures::channel::mpsc::UnboundedReceiver<Bytes>),
}

impl State {
    fn store(&mut self, key: Key, mut object: Value, verb: &'static str) {
        self.version += 1;
        object["metadata"]["resourceVersion"] = json!(self.version.to_string());
        if object["metadata"]["uid"].is_null() {
            object["metadata"]["uid"] = json!(format!("uid-{}", self.version));
        }
        let (kind, version) = (key.0, self.version);
        self.objects.insert(key, object.clone());
        self.emit(version, kind, verb, object);
    }

    fn emit(&mut self, version: u64, kind: Kind, verb: &'static str, object: Value) {
        let line = Bytes::from(format!("{}\n", json!({"type": verb, "object": object})));
        self.watches.retain(|w| {
            w.kind != kind
                || !selected(&w.selector, &object)
                || w.tx.unbounded_send(line.clone()).is_ok()
        });
        self.log.push((version, kind, verb, object));
    }

    fn fault(&mut self, method: &Method, path: &str) -> Option<u16> {
        let fault = self
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && path.contains(&f.path))?;
        fault.times -= 1;
        Some(fault.status)
    }

    fn serve(
        &mut self,
        method: &Method,
        path: &str,
        query: &BTreeMap<String, String>,
        body: &Value,
    ) -> (u16, Reply) {
        let Some(route) = Route::parse(path) else {
            return not_found("no such path");
        };
        let selector = parse_selector(query.get("labelSelector").map_or("", String::as_str));
        let watch = query.get("watch").is_some_and(|w| w == "true");
        let namespace = route.namespace.clone().unwrap_or_default();
        match (
            method.as_str(),
            route.kind,
            route.name,
            route.subresource.as_deref(),
        ) {
            ("GET", kind, None, _) if watch => {
                let from = query.get("resourceVersion").and_then(|v| v.parse().ok());
                (
                    200,
                    Reply::Stream(self.watch(kind, selector, from.unwrap_or(0))),
                )
            }
            ("GET", kind, None, _) => (
                200,
                Reply::Json(self.list(kind, route.namespace.as_deref(), &selector)),
            ),
            ("GET", kind, Some(name), _) => {
                match self.objects.get(&(kind, namespace, name.clone())) {
                    Some(object) => (200, Reply::Json(object.clone())),
                    None => not_found(&format!("{name} not found")),
                }
            }
            ("PATCH", Kind::Exporter, Some(name), Some("status")) => {
                let Some(manager) = query.get("fieldManager") else {
                    return (
                        422,
                        Reply::Json(status_body(422, "fieldManager is required")),
                    );
                };
                if !self
                    .objects
                    .contains_key(&(Kind::Exporter, namespace.clone(), name.clone()))
                {
                    return not_found(&format!("{name} not found"));
                }
                let entries = body["status"]["nodes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                (
                    200,
                    Reply::Json(self.apply_status(&namespace, &name, manager, entries)),
                )
            }
            ("POST", Kind::Event, None, _) => {
                let mut event = body.clone();
                event["metadata"]["namespace"] = json!(namespace);
                self.store(key_of(Kind::Event, &event), event.clone(), "ADDED");
                (201, Reply::Json(event))
            }
            ("PATCH", Kind::Event, Some(name), None) => {
                let key = (Kind::Event, namespace, name);
                let Some(mut event) = self.objects.get(&key).cloned() else {
                    return not_found("no such event");
                };
                merge(&mut event, body);
                self.store(key, event.clone(), "MODIFIED");
                (200, Reply::Json(event))
            }
            _ => (405, Reply::Json(status_body(405, "not served by the fake"))),
        }
    }

    /// A watch from version `from`: the changes since, then every new one.
    fn watch(
        &mut self,
        kind: Kind,
        selector: Vec<(String, Option<String>)>,
        from: u64,
    ) -> futures::channel::mpsc::UnboundedReceiver<Bytes> {
        let (tx, rx) = unbounded();
        for (version, k, verb, object) in &self.log {
            if *version > from && *k == kind && selected(&selector, object) {
                let line = format!("{}\n", json!({"type": verb, "object": object}));
                let _ = tx.unbounded_send(Bytes::from(line));
            }
        }
        self.watches.push(Watch { kind, selector, tx });
        rx
    }

    fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: &[(String, Option<String>)],
    ) -> Value {
        let items: Vec<&Value> = self
            .objects
            .iter()
            .filter(|((k, ns, _), v)| {
                *k == kind && namespace.is_none_or(|n| n == ns) && selected(selector, v)
            })
            .map(|(_, v)| v)
            .collect();
        json!({
            "apiVersion": kind.api_version(),
            "kind": format!("{}List", kind.kind()),
            "metadata": {"resourceVersion": self.version.to_string()},
            "items": items,
        })
    }

    /// Server-side apply of `status.nodes` by `manager`: its entries
    /// replace those it applied before; other managers' entries stay.
    fn apply_status(
        &mut self,
        namespace: &str,
        name: &str,
        manager: &str,
        entries: Vec<Value>,
    ) -> Value {
        let owners = self
            .owners
            .entry((namespace.to_owned(), name.to_owned()))
            .or_default();
        owners.insert(manager.to_owned(), entries);
        let mut nodes: BTreeMap<String, Value> = BTreeMap::new();
        for entry in owners.values().flatten() {
            nodes.insert(
                entry["node"].as_str().unwrap_or_default().to_owned(),
                entry.clone(),
            );
        }
        let key = (Kind::Exporter, namespace.to_owned(), name.to_owned());
        let Some(mut object) = self.objects.get(&key).cloned() else {
            return Value::Null;
        };
        let status = json!({"nodes": nodes.into_values().collect::<Vec<_>>()});
        if object["status"] != status {
            object["status"] = status;
            self.store(key, object.clone(), "MODIFIED");
        }
        object
    }
}

impl tower::Service<Request<kube::client::Body>> for FakeApi {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}

/// A parsed API path: `/api/v1/...` or `/apis/GROUP/VERSION/...`, then
/// `[namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE]]`.
#[derive(Debug)]
struct Route {
    kind: Kind,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

impl Route {
    fn parse(path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let rest = match *segments.first()? {
            "api" => &segments[2..],
            "apis" => &segments[3..],
            _ => return None,
        };
        let (namespace, rest) = match rest {
            ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
            rest => (None, rest),
        };
        Some(Route {
            kind: Kind::from_plural(rest.first()?)?,
            namespace,
            name: rest.get(1).map(|s| (*s).to_owned()),
            subresource: rest.get(2).map(|s| (*s).to_owned()),
        })
    }
}

fn key_of(kind: Kind, object: &Value) -> Key {
    let meta = &object["metadata"];
    (
        kind,
        meta["namespace"].as_str().unwrap_or_default().to_owned(),
        meta["name"]
            .as_str()
            .expect("objects have a name")
            .to_owned(),
    )
}

fn not_found(message: &str) -> (u16, Reply) {
    (404, Reply::Json(status_body(404, message)))
}

fn status_body(code: u16, message: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Status", "status": "Failure",
        "message": message, "reason": if code == 404 { "NotFound" } else { "InternalError" },
        "code": code,
    })
}

/// `labelSelector` terms: `key` (exists) and `key=value`.
fn parse_selector(text: &str) -> Vec<(String, Option<String>)> {
    text.split(',')
        .filter(|t| !t.is_empty())
        .map(|term| match term.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (term.to_owned(), None),
        })
        .collect()
}

fn selected(selector: &[(String, Option<String>)], object: &Value) -> bool {
    let labels = &object["metadata"]["labels"];
    selector.iter().all(|(key, value)| match value {
        Some(v) => labels[key].as_str() == Some(v),
        None => !labels[key].is_null(),
    })
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// Percent-decoding of a query component.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, byte) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// JSON merge patch (RFC 7386).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}
