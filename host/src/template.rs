//! `bpfhost plugin new`: a decoder crate that builds on the first try, with
//! a matching BPF program, a manifest and a map dump to test it offline.
//!
//! The files live in `plugin-sdk/template/` and are compiled into the
//! agent. Inside this repository's `plugins/` folder the crate joins the
//! workspace (and `cargo xtask build`); anywhere else it is a workspace of
//! its own pointing at the SDK with `--sdk`.

use std::path::{Path, PathBuf};

/// `(path, contents)`; `{{snake}}` in a path is replaced too.
const FILES: [(&str, &str); 5] = [
    (
        "Cargo.toml",
        include_str!("../../plugin-sdk/template/Cargo.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../plugin-sdk/template/src/lib.rs.tmpl"),
    ),
    (
        "{{snake}}.bpf.c",
        include_str!("../../plugin-sdk/template/bpf.c.tmpl"),
    ),
    (
        "manifest.yaml",
        include_str!("../../plugin-sdk/template/manifest.yaml.tmpl"),
    ),
    (
        "testdata/dump.json",
        include_str!("../../plugin-sdk/template/testdata/dump.json.tmpl"),
    ),
];

/// Why a plugin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "`{0}` is not a usable plugin name: use lowercase letters, digits and `-`, starting with a letter"
    )]
    Name(String),
    #[error("{} already exists", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Creates `<parent>/<name>/`. `sdk` is the SDK's path as the new
/// `Cargo.toml` should name it (relative to the new crate, or absolute).
pub fn create(name: &str, parent: &Path, sdk: Option<&Path>) -> Result<PathBuf, TemplateError> {
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
    // This repository's plugins folder: join the workspace, so the crate
    // builds with the others.
    let in_repo = parent.file_name().is_some_and(|n| n == "plugins")
        && parent.join("../plugin-sdk/template").is_dir();
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
    for (path, text) in FILES {
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
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_placeholder() {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = create("open-counts", parent.path(), Some(Path::new("/sdk"))).expect("create");
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
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(cargo.contains("name = \"open-counts\""), "{cargo}");
        assert!(cargo.contains("path = \"/sdk\""), "{cargo}");
        assert!(cargo.contains("[workspace]"), "standalone: {cargo}");
        let again = create("open-counts", parent.path(), None).expect_err("exists");
        assert!(matches!(again, TemplateError::Exists(_)), "{again}");
    }

    #[test]
    fn bad_names_are_refused() {
        let parent = tempfile::tempdir().expect("tempdir");
        for bad in ["", "Caps", "1st", "trailing-", "under_score", "a/b"] {
            assert!(
                matches!(
                    create(bad, parent.path(), None),
                    Err(TemplateError::Name(_))
                ),
                "{bad}"
            );
        }
    }
}
