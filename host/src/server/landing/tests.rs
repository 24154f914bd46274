use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::Landing;
use crate::agent::{Agent, SlotStatus};
use crate::server::{Options, router};

fn status(name: &str, state: &'static str, error: Option<&str>) -> SlotStatus {
    SlotStatus {
        name: name.into(),
        state,
        error: error.map(Into::into),
        reload_error: None,
        programs: Vec::new(),
        programs_attached: (state == "running").then_some(2),
        series: (state == "running").then_some(17),
    }
}

fn render(exporters: &[SlotStatus], manifest_errors: &[String], dump: bool) -> String {
    Landing {
        version: "1.2.3",
        node: "node-a",
        exporters,
        manifest_errors,
        dump,
    }
    .render()
}

#[test]
fn hostile_names_and_errors_are_shown_as_text() {
    let mut hostile = status(
        "<script>alert('name')</script>",
        "running",
        Some("decoder said \"><script>alert(1)</script>"),
    );
    hostile.reload_error = Some("<img src=x onerror=alert(2)>".into());
    // A program left out under attachPolicy: BestEffort, named by the ELF.
    hostile.programs = vec![crate::agent::ProgramStatus {
        name: "<svg onload=alert(4)>".into(),
        section: "kprobe/x".into(),
        state: crate::agent::ProgramState::Failed,
        target: None,
        error: Some("no <such> function".into()),
    }];
    let failed = status(
        "x\" onmouseover=\"alert(3)",
        "failed",
        Some("</td><script>"),
    );
    let html = Landing {
        version: "1.2.3 (<b>)",
        node: "<iframe>",
        exporters: &[hostile, failed],
        manifest_errors: &["a.yaml: <script src=//evil></script>".into()],
        dump: true,
    }
    .render();

    for raw in [
        "<script",
        "<img",
        "<iframe",
        "<svg",
        "<b>",
        "onmouseover=\"",
        "'name'",
    ] {
        assert!(!html.contains(raw), "{raw:?} reached the page:\n{html}");
    }
    for shown in [
        "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;",
        "decoder said &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
        "reload failed, the previous version serves: &lt;img src=x onerror=alert(2)&gt;",
        "&lt;/td&gt;&lt;script&gt;",
        "<br>program &lt;svg onload=alert(4)&gt; not attached: no &lt;such&gt; function",
        "a.yaml: &lt;script src=//evil&gt;&lt;/script&gt;",
        "on node <strong>&lt;iframe&gt;</strong>",
        "version 1.2.3 (&lt;b&gt;)",
        "href=\"/debug/dump/%3Cscript%3Ealert%28%27name%27%29%3C%2Fscript%3E\"",
    ] {
        assert!(html.contains(shown), "{shown:?} missing:\n{html}");
    }
}

#[test]
fn running_exporters_link_their_dump_only_when_dumps_are_served() {
    let exporters = [
        status("writes", "running", None),
        status("broken", "failed", Some("invalid ELF")),
    ];
    let with = render(&exporters, &[], true);
    assert!(with.contains("<a href=\"/debug/dump/writes\">map dump</a>"));
    assert!(!with.contains("/debug/dump/broken"));
    let without = render(&exporters, &[], false);
    assert!(!without.contains("/debug/dump/"));
    assert!(without.contains("<a href=\"/metrics\">"));
    assert!(without.contains("<a href=\"/status\">"));
}

#[test]
fn each_exporter_shows_state_programs_series_and_error() {
    let html = render(
        &[
            status("writes", "running", None),
            status("broken", "failed", Some("invalid ELF")),
        ],
        &[],
        false,
    );
    assert!(html.contains("<h2>Exporters (2)</h2>"));
    assert!(html.contains(
        "<tr><td>writes</td><td class=\"running\">running</td><td class=\"n\">2</td>\
         <td class=\"n\">17</td><td class=\"error\">none</td></tr>"
    ));
    assert!(html.contains(
        "<tr><td>broken</td><td class=\"failed\">failed</td><td class=\"n\">–</td>\
         <td class=\"n\">–</td><td class=\"error\">invalid ELF</td></tr>"
    ));
    assert!(!html.contains("Manifest errors"));
    let empty = render(&[], &["bad.yaml: no kind".into()], false);
    assert!(empty.contains("No exporters are loaded."));
    assert!(empty.contains("<li class=\"error\">bad.yaml: no kind</li>"));
}

#[tokio::test]
async fn the_root_serves_the_page_without_scripts_allowed() {
    let agent = Arc::new(Agent::new("node-b"));
    agent.insert_failed("<script>", "boom");
    let response = router(agent, Options::default())
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let html = String::from_utf8(body.to_vec()).expect("utf-8");
    assert!(html.contains("<title>bpfhost on node-b</title>"));
    assert!(html.contains(&format!("version {}", crate::version::LONG)));
    assert!(html.contains("<td>&lt;script&gt;</td><td class=\"failed\">failed</td>"));
}
