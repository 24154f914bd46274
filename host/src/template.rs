//! `bpfhost plugin new`: a decoder project that builds on the first try, in
//! Rust, Python, JavaScript or C, with a matching BPF program, a manifest,
//! a map dump to test it offline and a native unit test of its logic.
//!
//! The files live in `host/template/` and are compiled into the agent.
//! Inside this repository's `plugins/` folder a Rust crate joins the
//! workspace (and `cargo xtask build`); anywhere else it is a workspace of
//! its own pointing at the SDK with `--sdk`. The other languages get the
//! agent's WIT world in `wit/`, which their bindings are generated from.

use std::path::{Path, PathBuf};

use crate::plugin_language::Language;

/// `(path, contents)`; `{{snake}}` in a path is replaced too.
type File = (&'static str, &'static str);

/// Every project's: the BPF program, its manifest and a map dump.
const COMMON: [File; 3] = [
    ("{{snake}}.bpf.c", include_str!("../template/bpf.c.tmpl")),
    (
        "manifest.yaml",
        include_str!("../template/manifest.yaml.tmpl"),
    ),
    (
        "testdata/dump.json",
        include_str!("../template/testdata/dump.json.tmpl"),
    ),
];

const RUST: [File; 2] = [
    ("Cargo.toml", include_str!("../template/Cargo.toml.tmpl")),
    ("src/lib.rs", include_str!("../template/src/lib.rs.tmpl")),
];

const PYTHON: [File; 2] = [
    ("app.py", include_str!("../template/python/app.py.tmpl")),
    (
        "test_app.py",
        include_str!("../template/python/test_app.py.tmpl"),
    ),
];

const JAVASCRIPT: [File; 4] = [
    ("app.js", include_str!("../template/javascript/app.js.tmpl")),
    (
        "app.test.mjs",
        include_str!("../template/javascript/app.test.mjs.tmpl"),
    ),
    (
        "build.mjs",
        include_str!("../template/javascript/build.mjs.tmpl"),
    ),
    (
        "package.json",
        include_str!("../template/javascript/package.json.tmpl"),
    ),
];

const C: [File; 4] = [
    ("app.c", include_str!("../template/c/app.c.tmpl")),
    ("decode.c", include_str!("../template/c/decode.c.tmpl")),
    ("decode.h", include_str!("../template/c/decode.h.tmpl")),
    ("test.c", include_str!("../template/c/test.c.tmpl")),
];

/// What the non-Rust projects need besides their code: the WIT world the
/// agent's bindings are generated from (Rust gets it through the SDK), and
/// a `.gitignore` for what their builds leave.
const NOT_RUST: [File; 2] = [
    (
        "wit/decoder.wit",
        include_str!("../../wit/0.3.0/decoder.wit"),
    ),
    (
        ".gitignore",
        "build/\nnode_modules/\n__pycache__/\n*.wasm\n",
    ),
];

/// The files of a project in `language`.
fn files(language: Language) -> Vec<File> {
    let own: &[File] = match language {
        Language::Rust => &RUST,
        Language::Python => &PYTHON,
        Language::Javascript => &JAVASCRIPT,
        Language::C => &C,
    };
    let wit: &[File] = if language == Language::Rust {
        &[]
    } else {
        &NOT_RUST
    };
    [own, wit, &COMMON].concat()
}

/// Why a plugin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "`{0}` is not a usable plugin name: use lowercase letters, digits and `-`, starting with a letter"
    )]
    Name(String),
    #[error("{} already exists", .0.display())]
    Exists(PathBuf),
    #[error(
        "{} has no line `# Test fixtures and the benchmark's decoder.` in `members`: \
         add the new crate to the workspace by hand",
        .0.display()
    )]
    Workspace(PathBuf),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Creates `<parent>/<name>/`, a project in `language`. `sdk` (Rust only)
/// is the SDK's path as the new `Cargo.toml` should name it (relative to
/// the new crate, or absolute).
pub fn create(
    name: &str,
    parent: &Path,
    sdk: Option<&Path>,
    language: Language,
) -> Result<PathBuf, TemplateError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.len() <= 48
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(TemplateError::Name(name.to_owned()));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(TemplateError::Exists(dir));
    }
    // This repository's plugins folder: a crate joins the workspace, so it
    // builds with the others (`cargo xtask build` finds the other languages).
    let workspace_manifest = parent.join("../Cargo.toml");
    let in_repo = language == Language::Rust
        && parent.file_name().is_some_and(|n| n == "plugins")
        && parent.join("../plugin-sdk/Cargo.toml").is_file()
        && workspace_manifest.is_file();
    let snake = name.replace('-', "_");
    let sdk = sdk.map_or_else(
        || "../../plugin-sdk".to_owned(),
        |p| p.display().to_string(),
    );
    let (crate_name, workspace) = if in_repo {
        (format!("bpfhost-plugin-{name}"), "")
    } else {
        (
            name.to_owned(),
            "\n# A workspace of its own.\n[workspace]\n",
        )
    };
    let fill = |text: &str| {
        text.replace("{{crate}}", &crate_name)
            .replace("{{name}}", name)
            .replace("{{snake}}", &snake)
            .replace("{{map}}", &format!("{snake}_events"))
            .replace("{{sdk}}", &sdk)
            .replace("{{workspace}}", workspace)
    };
    for (path, text) in files(language) {
        let path = dir.join(fill(path));
        let write = || -> std::io::Result<()> {
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)?;
            }
            std::fs::write(&path, fill(text))
        };
        write().map_err(|source| TemplateError::Write {
            path: path.clone(),
            source,
        })?;
    }
    if in_repo {
        join_workspace(&workspace_manifest, name)?;
    }
    Ok(dir)
}

/// The line of the workspace's `Cargo.toml` before which example crates are
/// listed.
const MEMBERS_END: &str = "    # Test fixtures and the benchmark's decoder.";

/// Adds `plugins/<name>` to the workspace's `members`, before the fixtures.
fn join_workspace(manifest: &Path, name: &str) -> Result<(), TemplateError> {
    let write_error = |source| TemplateError::Write {
        path: manifest.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(manifest).map_err(write_error)?;
    let Some(at) = text.find(MEMBERS_END) else {
        return Err(TemplateError::Workspace(manifest.to_path_buf()));
    };
    let mut out = text.clone();
    out.insert_str(at, &format!("    \"plugins/{name}\",\n"));
    std::fs::write(manifest, out).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_placeholder() {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = create(
            "open-counts",
            parent.path(),
            Some(Path::new("/sdk")),
            Language::Rust,
        )
        .expect("create");
        for file in [
            "Cargo.toml",
            "src/lib.rs",
            "open_counts.bpf.c",
            "manifest.yaml",
            "testdata/dump.json",
        ] {
            let text = std::fs::read_to_string(dir.join(file)).expect(file);
            assert!(!text.contains("{{"), "{file} keeps a placeholder:\n{text}");
        }
        assert!(
            !dir.join("wit").exists(),
            "Rust gets its WIT through the SDK"
        );
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(cargo.contains("name = \"open-counts\""), "{cargo}");
        assert!(cargo.contains("path = \"/sdk\""), "{cargo}");
        assert!(cargo.contains("[workspace]"), "standalone: {cargo}");
        let again = create("open-counts", parent.path(), None, Language::C).expect_err("exists");
        assert!(matches!(again, TemplateError::Exists(_)), "{again}");
    }

    #[test]
    fn inside_the_repository_the_crate_joins_the_workspace() {
        let repo = tempfile::tempdir().expect("tempdir");
        let root = repo.path();
        std::fs::create_dir_all(root.join("plugin-sdk")).expect("sdk dir");
        std::fs::create_dir_all(root.join("plugins")).expect("plugins dir");
        std::fs::write(root.join("plugin-sdk/Cargo.toml"), "").expect("sdk");
        let members = format!(
            "[workspace]\nmembers = [\n    \"host\",\n{MEMBERS_END}\n    \"plugins/fixtures/*\",\n]\n"
        );
        std::fs::write(root.join("Cargo.toml"), &members).expect("workspace");
        let dir =
            create("open-counts", &root.join("plugins"), None, Language::Rust).expect("create");
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(
            cargo.contains("name = \"bpfhost-plugin-open-counts\""),
            "{cargo}"
        );
        assert!(
            !cargo.contains("[workspace]"),
            "joins the repository's: {cargo}"
        );
        let workspace = std::fs::read_to_string(root.join("Cargo.toml")).expect("workspace");
        assert!(
            workspace.contains(&format!("    \"plugins/open-counts\",\n{MEMBERS_END}")),
            "{workspace}"
        );
    }

    #[test]
    fn bad_names_are_refused() {
        let parent = tempfile::tempdir().expect("tempdir");
        for bad in ["", "Caps", "1st", "trailing-", "under_score", "a/b"] {
            assert!(
                matches!(
                    create(bad, parent.path(), None, Language::Python),
                    Err(TemplateError::Name(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_language_gets_its_code_the_wit_world_and_the_common_files() {
        let parent = tempfile::tempdir().expect("tempdir");
        for (language, code) in [
            (Language::Python, &["app.py", "test_app.py"][..]),
            (
                Language::Javascript,
                &["app.js", "app.test.mjs", "build.mjs", "package.json"][..],
            ),
            (
                Language::C,
                &["app.c", "decode.c", "decode.h", "test.c"][..],
            ),
        ] {
            let name = format!("open-{}", format!("{language}").to_lowercase());
            let dir = create(&name, parent.path(), None, language).expect("create");
            let snake = name.replace('-', "_");
            let bpf = format!("{snake}.bpf.c");
            let common = [
                "wit/decoder.wit",
                ".gitignore",
                &bpf,
                "manifest.yaml",
                "testdata/dump.json",
            ];
            for file in code.iter().chain(&common) {
                let text = std::fs::read_to_string(dir.join(file)).expect(file);
                assert!(
                    !text.contains("{{"),
                    "{language}: {file} keeps a placeholder:\n{text}"
                );
            }
            // The project is told apart by its files, as `plugin build` does.
            assert_eq!(Language::of(&dir), Some(language), "{}", dir.display());
            let app = std::fs::read_to_string(dir.join(code[0])).expect("app");
            assert!(
                app.contains(&format!("{snake}_events")),
                "{language}: {app}"
            );
            assert!(!dir.join("Cargo.toml").exists(), "{language}");
        }
    }
}
