//! Everything two functions need, in layers. A module uses only the modules
//! listed above it (the `layers` test below checks it): values and rules
//! first, the AWS adapters (store, mail, app) in the middle, the use-case
//! steps and the HTTP edge last.

pub mod error; // every way a request fails: status, the contract's code, a sentence
pub mod clock; // "now" is an input; instants written as RFC 3339
pub mod config; // the settings read once at cold start
pub mod aws; // SDK timeouts and retries; which AWS errors are a 503
pub mod domain; // accounts, second factors, sessions and token lifetimes, the audit vocabulary, the client
pub mod crypto; // data keys and sealing, RS256 signing keys, random bytes and ids
pub mod factors; // what a user proves: password (argon2id), TOTP, backup codes
pub mod tokens; // the three token kinds: claims, signing, verification
pub mod store; // the DynamoDB table: records, reads, attempt counters, conditional writes
pub mod mail; // SES: link mails and security notices
pub mod app; // what a container builds once: config, clients, the keyring's cache, the clock
pub mod flows; // steps several routes share: accounts, second factor, sessions, operator commands
pub mod http; // requests, responses, cookies, bodies, views, authentication, the runner

pub use app::App;
pub use error::ApiError;
pub use http::serve;

/// The map above, checked on the sources: every module uses only what
/// `MAY_USE` allows, no two files import each other, and the pure layers name
/// no AWS SDK and no `lambda_http`.
#[cfg(test)]
mod layers {
    use std::collections::{BTreeMap, BTreeSet};
    use std::ops::Range;
    use std::path::Path;

    /// Each top-level module, in the order of `lib.rs`, and the modules it may
    /// use. Only modules listed before it; siblings of one layer not each other.
    const MAY_USE: [(&str, &[&str]); 13] = [
        ("error", &[]),
        ("clock", &[]),
        ("config", &[]),
        ("aws", &["error"]),
        ("domain", &["error"]),
        ("crypto", &["error", "domain"]),
        ("factors", &["error", "domain", "crypto"]),
        ("tokens", &["error", "domain", "crypto"]),
        ("store", &["error", "aws", "domain", "crypto"]),
        ("mail", &["error", "config", "aws", "domain", "crypto"]),
        ("app", &["error", "clock", "config", "aws", "domain", "crypto", "factors", "tokens", "store", "mail"]),
        (
            "flows",
            &["error", "clock", "config", "aws", "domain", "crypto", "factors", "tokens", "store", "mail", "app"],
        ),
        (
            "http",
            &[
                "error", "clock", "config", "aws", "domain", "crypto", "factors", "tokens", "store", "mail", "app",
                "flows",
            ],
        ),
    ];

    /// Values and rules: no AWS SDK, no `lambda_http`.
    const PURE: [&str; 7] = ["error", "clock", "config", "domain", "crypto", "factors", "tokens"];
    const NOT_IN_PURE: [&str; 4] = ["aws_sdk", "aws_smithy", "aws_config", "lambda_http"];
    /// The one exception: an error owns its status code, a value of the `http` crate.
    const PURE_EXCEPTION: (&str, &str) = ("error.rs", "lambda_http::http::StatusCode");

    struct File {
        /// Relative to `src/`: `store/repo.rs`.
        name: String,
        /// `["store", "repo"]`; a folder's `mod.rs` is the folder.
        module: Vec<String>,
        /// The source with comments, strings and char literals blanked out.
        code: Vec<char>,
        tests: Vec<Range<usize>>,
    }

    fn sources() -> Vec<File> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<File>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let name = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                    if name == "lib.rs" {
                        continue;
                    }
                    let mut module: Vec<String> = name.trim_end_matches(".rs").split('/').map(String::from).collect();
                    if module.last().is_some_and(|m| m == "mod") {
                        module.pop();
                    }
                    let code = blank(&std::fs::read_to_string(&path).unwrap());
                    let tests = test_blocks(&code);
                    out.push(File { name, module, code, tests });
                }
            }
        }
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
        let mut files = Vec::new();
        walk(root, root, &mut files);
        files.sort_by(|a, b| a.name.cmp(&b.name));
        files
    }

    /// Comments, string and char literals become spaces (lines stay where they were).
    fn blank(text: &str) -> Vec<char> {
        let mut c: Vec<char> = text.chars().collect();
        let wipe = |c: &mut Vec<char>, range: Range<usize>| {
            for k in range.start..range.end.min(c.len()) {
                if c[k] != '\n' {
                    c[k] = ' ';
                }
            }
        };
        let find = |c: &[char], from: usize, pattern: &str| {
            let p: Vec<char> = pattern.chars().collect();
            (from..c.len()).find(|&k| c[k..].starts_with(&p)).map_or(c.len(), |k| k + p.len())
        };
        let mut i = 0;
        while i < c.len() {
            let ident_before = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
            let end = match c[i] {
                '/' if c.get(i + 1) == Some(&'/') => (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len()),
                '/' if c.get(i + 1) == Some(&'*') => find(&c, i + 2, "*/"),
                'r' if !ident_before || (c[i - 1] == 'b' && (i < 2 || !c[i - 2].is_alphanumeric())) => {
                    let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
                    if c.get(i + 1 + hashes) == Some(&'"') {
                        find(&c, i + 2 + hashes, &format!("\"{}", "#".repeat(hashes)))
                    } else {
                        i + 1
                    }
                }
                '"' => {
                    let mut k = i + 1;
                    while k < c.len() && c[k] != '"' {
                        k += if c[k] == '\\' { 2 } else { 1 };
                    }
                    k + 1
                }
                '\'' if c.get(i + 1) == Some(&'\\') => find(&c, i + 3, "'"),
                '\'' if c.get(i + 2) == Some(&'\'') => i + 3,
                _ => i + 1,
            };
            if end > i + 1 {
                wipe(&mut c, i..end);
            }
            i = end.max(i + 1);
        }
        c
    }

    /// The ranges of `#[cfg(test)] mod name { ... }` blocks.
    fn test_blocks(code: &[char]) -> Vec<Range<usize>> {
        let text: String = code.iter().collect();
        let mut blocks = Vec::new();
        for (start, _) in text.match_indices("#[cfg(test)]") {
            let rest = text[start + 12..].trim_start();
            if !rest.starts_with("mod ") {
                continue;
            }
            let Some(open) = text[start..].find('{').map(|o| start + o) else { continue };
            let (mut depth, mut end) = (0, open);
            for (k, ch) in text[open..].char_indices() {
                depth += match ch {
                    '{' => 1,
                    '}' => -1,
                    _ => 0,
                };
                if depth == 0 {
                    end = open + k;
                    break;
                }
            }
            // Byte offsets to char offsets.
            blocks.push(text[..start].chars().count()..text[..end].chars().count());
        }
        blocks
    }

    fn is_ident(ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_'
    }

    fn ident_at(code: &[char], i: usize) -> Option<(String, usize)> {
        let len = code[i..].iter().take_while(|&&ch| is_ident(ch)).count();
        (len > 0).then(|| (code[i..i + len].iter().collect(), i + len))
    }

    fn skip_space(code: &[char], mut i: usize) -> usize {
        while i < code.len() && code[i].is_whitespace() {
            i += 1;
        }
        i
    }

    /// Parses a path or use tree at `i` (`a::b::{c, d::{self, E as F}, *}`) into
    /// the paths it names (`*` and `self` name the module before them).
    fn use_tree(code: &[char], i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
        let mut path = prefix;
        let mut i = skip_space(code, i);
        loop {
            if code.get(i) == Some(&'{') {
                i += 1;
                loop {
                    i = skip_space(code, i);
                    if code.get(i) == Some(&'}') {
                        return i + 1;
                    }
                    i = skip_space(code, use_tree(code, i, path.clone(), out));
                    if code[i..].starts_with(&['a', 's', ' ']) {
                        i = skip_space(code, i + 3);
                        i += code[i..].iter().take_while(|&&ch| is_ident(ch)).count();
                        i = skip_space(code, i);
                    }
                    match code.get(i) {
                        Some(',') => i += 1,
                        Some('}') => return i + 1,
                        _ => return i,
                    }
                }
            }
            if code.get(i) == Some(&'*') {
                out.push(path);
                return i + 1;
            }
            let Some((ident, end)) = ident_at(code, i) else {
                out.push(path);
                return i;
            };
            if ident != "self" || path.is_empty() {
                path.push(ident);
            }
            i = end;
            if code[i..].starts_with(&[':', ':']) {
                i = skip_space(code, i + 2);
            } else {
                out.push(path);
                return i;
            }
        }
    }

    /// Every module path `file` names through `crate::`, `super::`, `self::` or
    /// a child module's name, from the crate root.
    fn refs(file: &File, children: &BTreeSet<String>) -> Vec<Vec<String>> {
        let code = &file.code;
        let mut paths = Vec::new();
        let mut i = 0;
        while i < code.len() {
            if !is_ident(code[i]) || (i > 0 && (is_ident(code[i - 1]) || code[i - 1] == ':')) {
                i += 1;
                continue;
            }
            let (first, end) = ident_at(code, i).unwrap();
            if !code[end..].starts_with(&[':', ':']) {
                i = end;
                continue;
            }
            let in_test = file.tests.iter().any(|t| t.contains(&i));
            let mut scope = file.module.clone();
            if in_test {
                scope.push("tests".into());
            }
            let (base, start) = match first.as_str() {
                "crate" => (Vec::new(), end + 2),
                "self" => (scope, end + 2),
                "super" => {
                    let (mut base, mut at) = (scope, end + 2);
                    base.pop();
                    while code[at..].starts_with(&['s', 'u', 'p', 'e', 'r', ':', ':']) {
                        base.pop();
                        at += 7;
                    }
                    (base, at)
                }
                child if !in_test && children.contains(child) => (file.module.clone(), i),
                _ => {
                    i = end;
                    continue;
                }
            };
            i = use_tree(code, start, base, &mut paths).max(end);
        }
        paths
    }

    /// The file a module path lands in: the deepest module file it names (`None`: the crate root).
    fn resolve<'a>(path: &[String], modules: &'a BTreeMap<Vec<String>, String>) -> Option<&'a String> {
        (1..=path.len()).rev().find_map(|k| modules.get(&path[..k]))
    }

    fn rule(module: &str) -> &'static [&'static str] {
        MAY_USE.iter().find(|(name, _)| *name == module).map_or(&[], |(_, may)| *may)
    }

    struct Graph {
        files: Vec<File>,
        edges: BTreeMap<String, BTreeSet<String>>,
        violations: Vec<String>,
    }

    fn graph() -> Graph {
        let files = sources();
        let modules: BTreeMap<Vec<String>, String> = files.iter().map(|f| (f.module.clone(), f.name.clone())).collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut violations = Vec::new();
        for file in &files {
            let children: BTreeSet<String> = if file.name.ends_with("mod.rs") {
                modules
                    .keys()
                    .filter(|m| m.len() == file.module.len() + 1 && m.starts_with(&file.module))
                    .map(|m| m.last().unwrap().clone())
                    .collect()
            } else {
                BTreeSet::new()
            };
            let from = &file.module[0];
            for path in refs(file, &children) {
                let written = format!("crate::{}", path.join("::"));
                let Some(target) = resolve(&path, &modules) else {
                    violations.push(format!(
                        "shared/src/{}: `{written}` names the crate root; inside the crate, name the module it \
                         lives in (the arrow must show)",
                        file.name
                    ));
                    continue;
                };
                if *target != file.name {
                    edges.entry(file.name.clone()).or_default().insert(target.clone());
                }
                let to = &path[0];
                if to != from && !rule(from).contains(&to.as_str()) {
                    violations.push(format!(
                        "shared/src/{}: `{written}` is an arrow {from} -> {to}, and {from} may use only [{}] \
                         (a layer uses only the layers above it in lib.rs: MAY_USE)",
                        file.name,
                        rule(from).join(", ")
                    ));
                }
            }
        }
        Graph { files, edges, violations }
    }

    #[test]
    fn lib_rs_lists_the_layers_in_order_and_each_uses_only_earlier_ones() {
        let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
        let listed: Vec<&str> =
            lib.lines().filter_map(|line| line.strip_prefix("pub mod ")?.split(';').next()).collect();
        let layers: Vec<&str> = MAY_USE.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed, layers, "lib.rs's `pub mod` lines and MAY_USE list the layers in the same order");
        for (k, (module, may)) in MAY_USE.iter().enumerate() {
            for used in *may {
                assert!(layers[..k].contains(used), "MAY_USE lets {module} use {used}, which is not listed before it");
            }
        }
    }

    #[test]
    fn every_module_uses_only_what_may_use_allows() {
        let graph = graph();
        for file in &graph.files {
            assert!(
                MAY_USE.iter().any(|(module, _)| *module == file.module[0]),
                "shared/src/{}: its module {} is in no layer: add it to lib.rs and MAY_USE",
                file.name,
                file.module[0]
            );
        }
        assert!(graph.violations.is_empty(), "upward or sideways imports:\n  {}", graph.violations.join("\n  "));
    }

    #[test]
    fn no_import_circle_between_files() {
        let graph = graph();
        // Tarjan's strongly connected components.
        struct State<'a> {
            edges: &'a BTreeMap<String, BTreeSet<String>>,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            circles: Vec<Vec<&'a str>>,
        }
        fn visit<'a>(s: &mut State<'a>, v: &'a str) {
            let n = s.index.len();
            s.index.insert(v, n);
            s.low.insert(v, n);
            s.stack.push(v);
            let edges = s.edges;
            for w in edges.get(v).into_iter().flatten() {
                if !s.index.contains_key(w.as_str()) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w.as_str()]);
                    s.low.insert(v, low);
                } else if s.stack.contains(&w.as_str()) {
                    let low = s.low[v].min(s.index[w.as_str()]);
                    s.low.insert(v, low);
                }
            }
            if s.low[v] == s.index[v] {
                let at = s.stack.iter().position(|x| *x == v).unwrap();
                let component: Vec<&str> = s.stack.split_off(at);
                if component.len() > 1 {
                    s.circles.push(component);
                }
            }
        }
        let mut state = State {
            edges: &graph.edges,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            circles: vec![],
        };
        for file in &graph.files {
            if !state.index.contains_key(file.name.as_str()) {
                visit(&mut state, &file.name);
            }
        }
        // Each circle as its shortest loop: `a.rs -> b.rs -> a.rs`.
        let circles: Vec<String> = state
            .circles
            .iter()
            .map(|circle| {
                let inside = |from: &str| {
                    graph.edges[from].iter().map(String::as_str).filter(|to| circle.contains(to)).collect::<Vec<_>>()
                };
                let shortest = circle
                    .iter()
                    .filter_map(|start| {
                        let mut paths = vec![vec![*start]];
                        let mut seen = BTreeSet::new();
                        while !paths.is_empty() {
                            let mut next = Vec::new();
                            for path in paths {
                                for to in inside(path.last().unwrap()) {
                                    let mut longer = path.clone();
                                    longer.push(to);
                                    if to == *start {
                                        return Some(longer);
                                    }
                                    if seen.insert(to) {
                                        next.push(longer);
                                    }
                                }
                            }
                            paths = next;
                        }
                        None
                    })
                    .min_by_key(Vec::len)
                    .unwrap_or_default();
                let more = circle.len() + 1 - shortest.len();
                let others = match more {
                    0 => String::new(),
                    1 => " (and 1 more file in the same circle)".into(),
                    _ => format!(" (and {more} more files in the same circle)"),
                };
                format!("{}{others}", shortest.join(" -> "))
            })
            .collect();
        assert!(
            circles.is_empty(),
            "files that import each other (no two may: move what both need into a file below both):\n  {}",
            circles.join("\n  ")
        );
    }

    #[test]
    fn nothing_pure_names_an_aws_sdk_or_lambda_http() {
        let mut named = Vec::new();
        for file in sources().iter().filter(|f| PURE.contains(&f.module[0].as_str())) {
            let code = &file.code;
            for i in 0..code.len() {
                if i > 0 && is_ident(code[i - 1]) {
                    continue;
                }
                let Some((ident, _)) = ident_at(code, i) else { continue };
                if !NOT_IN_PURE.iter().any(|c| ident.starts_with(c)) {
                    continue;
                }
                let path: String = code[i..].iter().take_while(|&&ch| is_ident(ch) || ch == ':').collect();
                if (file.name.as_str(), path.as_str()) != PURE_EXCEPTION {
                    named.push(format!(
                        "shared/src/{}: `{path}` in {}, a pure layer (no AWS SDK, no lambda_http: those belong in \
                         store, mail, app or http)",
                        file.name, file.module[0]
                    ));
                }
            }
        }
        assert!(named.is_empty(), "pure layers that name AWS or lambda_http:\n  {}", named.join("\n  "));
    }
}
