//! The map and the code cannot drift apart: every `crate::` path in `src/` (outside unit tests)
//! must point to a lower layer of the order written in `docs/architecture.md`, so the house has
//! no import cycle and points one way.
//!
//! The order is the fenced `layers` block of the map: one layer a line, the top first; a line
//! lists the modules of that layer (a top-level module of `src/`, or `module::sub` where a
//! submodule sits apart from its parent). A module may use the modules of any lower line, never
//! one of its own line or above. Unit tests (`#[cfg(test)]` at the start of a line, and
//! everything after it in the file) may reach up: they build their inputs with the code above
//! (a configuration, a fixture release), and nothing of them ships.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layers of `docs/architecture.md`, top first.
fn layers() -> Vec<Vec<String>> {
    let map = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let block = map
        .split("```layers\n")
        .nth(1)
        .expect("docs/architecture.md has a ```layers block")
        .split("```")
        .next()
        .unwrap();
    block
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|layer| !layer.is_empty())
        .collect()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The shipped code of a file: before its first `#[cfg(test)]`, without `//` comments.
fn shipped_code(text: &str) -> String {
    text.lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segments of every `crate::` path in `code`, `crate::{a::x, b}` giving `a::x` and
/// `b`: each as `module` and, when it has one, `module::sub`.
fn used_paths(code: &str) -> BTreeSet<(String, Option<String>)> {
    let mut used = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let paths: Vec<&str> = if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += i32::from(c == '{') - i32::from(c == '}');
                    depth < 0
                })
                .map_or(group.len(), |(i, _)| i);
            let mut items = Vec::new();
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group[..end].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&group[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&group[start..end]);
            items
        } else {
            vec![after]
        };
        for path in paths {
            let segments: Vec<&str> = path
                .trim()
                .split("::")
                .map(|s| {
                    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap()
                })
                .take(2)
                .collect();
            let module = segments[0].to_string();
            if module.is_empty() || !module.starts_with(|c: char| c.is_ascii_lowercase()) {
                continue;
            }
            let sub = segments
                .get(1)
                .filter(|s| !s.is_empty())
                .map(|s| format!("{module}::{s}"));
            used.insert((module, sub));
        }
        rest = &after[1.min(after.len())..];
    }
    used
}

#[test]
fn every_import_points_down_the_layers_of_the_map() {
    let layers = layers();
    let rank: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, layer)| layer.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    // Every module of the crate is on the map.
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(name) = line.strip_prefix("pub mod ").or(line.strip_prefix("mod ")) {
            let name = name.trim_end_matches(';');
            assert!(rank.contains_key(name), "`{name}` is not on the map");
        }
    }
    let unit_of = |path: &Path| -> String {
        let relative = path.strip_prefix(&src).unwrap().with_extension("");
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.len() > 1 {
            let sub = format!("{}::{}", parts[0], parts[1]);
            if rank.contains_key(sub.as_str()) {
                return sub;
            }
        }
        parts[0].clone()
    };
    let mut wrong = Vec::new();
    for file in &files {
        let unit = unit_of(file);
        if unit == "lib" || unit == "main" {
            continue;
        }
        let from = rank[unit.as_str()];
        let code = shipped_code(&std::fs::read_to_string(file).unwrap());
        for (module, sub) in used_paths(&code) {
            let target = sub
                .filter(|s| rank.contains_key(s.as_str()))
                .unwrap_or(module);
            if target == unit || unit.starts_with(&format!("{target}::")) {
                continue;
            }
            let Some(&to) = rank.get(target.as_str()) else {
                wrong.push(format!(
                    "{}: `crate::{target}` is not on the map",
                    file.display()
                ));
                continue;
            };
            if to > from {
                continue;
            }
            wrong.push(format!(
                "{}: `{unit}` (layer {}) uses `{target}` (layer {}), which is not below it",
                file.strip_prefix(root()).unwrap().display(),
                from + 1,
                to + 1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the map:\n{}",
        wrong.join("\n")
    );
}

/// The modules that compute something from people's data, or drive those that do: the release
/// contract (`release/`) may import none of them. `dp::budget`, the (ε, δ) ↔ zCDP arithmetic,
/// sits apart from `dp/` on the map and is not an engine.
const ENGINES: [&str; 12] = [
    "cli",
    "pipeline",
    "publish",
    "verify",
    "config",
    "anonymize",
    "tabulate",
    "dp",
    "risk",
    "sample",
    "select",
    "extract",
];

#[test]
fn the_release_contract_imports_no_engine() {
    let layers = layers();
    let rank = |module: &str| {
        layers
            .iter()
            .position(|layer| layer.iter().any(|m| m == module))
            .unwrap_or_else(|| panic!("`{module}` is not on the map"))
    };
    // On the map: every engine lies above the contract, so the first test forbids the imports.
    for engine in ENGINES {
        assert!(
            rank(engine) < rank("release"),
            "`{engine}` must lie above `release` on the map"
        );
    }
    // In the code, named directly, for a clear message.
    let mut files = Vec::new();
    rust_files(&root().join("src/release"), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let code = shipped_code(&std::fs::read_to_string(file).unwrap());
        for (module, sub) in used_paths(&code) {
            if ENGINES.contains(&module.as_str()) && sub.as_deref() != Some("dp::budget") {
                wrong.push(format!(
                    "{}: uses `{}`",
                    file.strip_prefix(root()).unwrap().display(),
                    sub.unwrap_or(module)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the release contract imports an engine:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_path_reader_sees_groups_and_nested_paths() {
    let used = used_paths("use crate::{a::x, b::{c, d}};\nlet v = crate::e::f(1);\n");
    let modules: Vec<&str> = used.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(modules, ["a", "b", "e"]);
    assert!(used.contains(&("a".into(), Some("a::x".into()))));
    assert_eq!(shipped_code("x // crate::z\n#[cfg(test)]\ncrate::y"), "x ");
}
