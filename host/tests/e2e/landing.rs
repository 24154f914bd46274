//! The landing page at `/` as a person sees it: loaded in headless
//! Chromium (Debian `chromium`), the rendered DOM read back.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, run_ok_within};

/// How long Chromium may take to load and print one page.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);

/// Runs headless Chromium with `args` then `url`, returns its standard
/// output. Panics when Chromium is missing: the browser test must not pass
/// by skipping (.ci/install installs it).
pub fn chromium(args: &[&str], url: &str) -> String {
    let installed = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        installed.is_ok_and(|s| s.success()),
        "chromium is not installed: install the Debian package chromium (.ci/install)"
    );
    let profile = tempfile::tempdir().expect("profile dir");
    run_ok_within(
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url),
        BROWSER_DEADLINE,
    )
}

/// The text a person reads in an element's content: tags dropped,
/// character references of the page's escaping decoded, whitespace
/// collapsed.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The table's body rows, each as the visible text of its cells.
fn rows(dom: &str) -> Vec<Vec<String>> {
    let body = dom
        .split_once("<tbody>")
        .and_then(|(_, rest)| rest.split_once("</tbody>"))
        .map_or("", |(body, _)| body);
    body.split("</tr>")
        .filter(|row| row.contains("<td"))
        .map(|row| {
            row.split("</td>")
                .filter_map(|cell| cell.split_once("<td").map(|(_, c)| c))
                .map(|cell| visible_text(cell.split_once('>').map_or("", |(_, c)| c)))
                .collect()
        })
        .collect()
}

/// Exporters that fail to load (an ELF that is not one, a missing file
/// with markup in its name) and a manifest that names none.
fn write_broken(dir: &ManifestDir) {
    let exporter = |name: &str, object: &str| {
        format!(
            "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: {name}}}\n\
             spec:\n  object: {object}\n  decoder: {{path: {}}}\n",
            artifact("plugins/writes.wasm").display()
        )
    };
    // base64 of "\x7fELF but not really".
    dir.write(
        "broken.yaml",
        &exporter("broken", "{inline: f0VMRiBidXQgbm90IHJlYWxseQ==}"),
    );
    dir.write(
        "missing.yaml",
        &exporter("missing", "{path: '<script>alert(1)</script>.bpf.o'}"),
    );
    dir.write("invalid.yaml", &exporter("'Not<Valid>'", "{path: x.bpf.o}"));
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn the_landing_page_shows_each_exporter_in_a_browser() {
    require_kernel();
    let dir = ManifestDir::new();
    dir.example("writes.yaml");
    dir.example("packets.yaml");
    write_broken(&dir);
    let agent = Agent::start(&[dir.path()]).await;
    // One scrape, so the page has series counts to show.
    assert_eq!(agent.scrape().await.status, 200);
    let url = format!("http://{}/", agent.addr());
    let dom = tokio::task::spawn_blocking(move || chromium(&["--dump-dom"], &url))
        .await
        .expect("browser task");

    let title = dom
        .split_once("<title>")
        .and_then(|(_, t)| t.split_once("</title>"))
        .map(|(t, _)| t);
    assert_eq!(title, Some("bpfhost on test-node"), "{dom}");
    let page = visible_text(&dom);
    assert!(
        page.contains(&format!(
            "version {}, on node test-node",
            bpfhost::version::LONG
        )),
        "{page}"
    );
    assert!(page.contains("Exporters (4)"), "{page}");
    for link in ["/metrics", "/status", "/healthz", "/debug/dump/writes"] {
        assert!(
            dom.contains(&format!("href=\"{link}\"")),
            "no link to {link}:\n{dom}"
        );
    }
    assert!(!dom.contains("<script"), "{dom}");

    let rows = rows(&dom);
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.first().is_some_and(|n| n == name))
            .unwrap_or_else(|| panic!("no row for {name}: {rows:?}"))
    };
    for name in ["writes", "packets"] {
        let cells = row(name);
        assert_eq!(cells[1], "running", "{cells:?}");
        assert_eq!(cells[4], "none", "{cells:?}");
        assert_eq!(cells[5], "map dump", "{cells:?}");
        let programs: usize = cells[2].parse().expect("programs attached");
        assert!(programs >= 1, "{cells:?}");
        cells[3].parse::<usize>().expect("a series count");
    }
    let broken = row("broken");
    assert_eq!(broken[1], "failed", "{broken:?}");
    assert!(!broken[4].is_empty() && broken[4] != "none", "{broken:?}");
    assert_eq!(&broken[2..4], ["–", "–"], "{broken:?}");
    assert_eq!(broken[5], "–", "no dump of a failed exporter: {broken:?}");
    let missing = row("missing");
    assert_eq!(missing[1], "failed", "{missing:?}");
    assert!(
        missing[4].contains("/<script>alert(1)</script>.bpf.o does not exist"),
        "the error is shown as text: {missing:?}"
    );
    assert!(page.contains("Manifest errors (1)"), "{page}");
    assert!(page.contains("Not<Valid>"), "{page}");

    if let Some(shot) = std::env::var_os("BPFHOST_LANDING_SCREENSHOT") {
        let shot = Path::new(&shot).to_path_buf();
        let url = format!("http://{}/", agent.addr());
        tokio::task::spawn_blocking(move || {
            chromium(
                &[
                    &format!("--screenshot={}", shot.display()),
                    "--window-size=1200,900",
                ],
                &url,
            )
        })
        .await
        .expect("browser task");
    }
    agent.stop().await;
}
