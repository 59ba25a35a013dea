//! Bundles every checklist template under `templates/` into the library, so a new template
//! version is a new data file and nothing else.
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("templates");
    println!("cargo:rerun-if-changed=templates");
    let mut files = Vec::new();
    for t in fs::read_dir(dir).expect("core/templates exists") {
        let t = t.expect("readable templates dir").path();
        if !t.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", t.display());
        for f in fs::read_dir(&t).expect("readable template dir") {
            let f = f.expect("readable template file").path();
            if f.extension().is_some_and(|e| e == "json") {
                files.push(f);
            }
        }
    }
    files.sort();
    let mut out = String::from(
        "/// (file name, contents) of every bundled template version.\npub static BUNDLED: &[(&str, &[u8])] = &[\n",
    );
    for f in &files {
        let rel = f
            .strip_prefix(dir)
            .expect("under templates")
            .display()
            .to_string();
        let abs = fs::canonicalize(f).expect("template path");
        out.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("bundled_templates.rs"),
        out,
    )
    .expect("write bundle list");
}
