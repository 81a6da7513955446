//! Writes `schemas/json/*.schema.json` from the types; `--check` fails when they are stale.
use std::path::PathBuf;

fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json");
    let mut stale = Vec::new();
    for (name, text) in schemas::json_schemas() {
        let path = dir.join(name);
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(&dir).expect("create schemas/json");
            std::fs::write(&path, text).expect("write schema");
            println!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        eprintln!(
            "stale JSON Schema files (run `cargo run -p schemas --bin export-schemas`): {}",
            stale.join(", ")
        );
        std::process::exit(1);
    }
}
