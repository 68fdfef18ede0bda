//! BMTK manifest variables (sonata-bmtk.md §3.2): `$VAR` / `${VAR}` references, the built-in
//! variables, iterative resolution with cycle detection, and typed substitution.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::error::ConfigError;

/// Variable name -> value, after the manifest has been fully resolved.
pub type Vars = BTreeMap<String, Value>;

/// One `$NAME` / `${NAME}` reference inside a string: byte range and name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VarRef {
    pub start: usize,
    pub end: usize,
    pub name: String,
}

/// Find the variable references of `s`. A name is `[A-Za-z0-9_]+` (BMTK's `\$\{?[\w]+\}?`);
/// the braced form needs its closing brace.
pub(crate) fn find_refs(s: &str) -> Vec<VarRef> {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let braced = b.get(i + 1) == Some(&b'{');
        let name_start = if braced { i + 2 } else { i + 1 };
        let mut j = name_start;
        while j < b.len() && word(b[j]) {
            j += 1;
        }
        if j == name_start || (braced && b.get(j) != Some(&b'}')) {
            i += 1;
            continue;
        }
        let end = if braced { j + 1 } else { j };
        out.push(VarRef {
            start: i,
            end,
            name: s[name_start..j].to_string(),
        });
        i = end;
    }
    out
}

/// Text of a variable value when it is spliced into a longer string.
fn splice_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Longest string a substitution may produce (bytes): far beyond any path, small enough that
/// variables doubling each other (`"$B": "$A$A"`, …) are refused before they exhaust memory.
pub const MAX_EXPANDED_LEN: usize = 1 << 20;

/// Substitute the known variables in `s`. A string that is exactly one reference to a non-string
/// variable becomes that typed value (BMTK: `"$FLAG"` with `FLAG = true` gives `true`).
/// Unknown variables are left verbatim, as in BMTK. `Err(length)` when the result would be
/// longer than [`MAX_EXPANDED_LEN`] (nothing is built then).
pub(crate) fn substitute_str(s: &str, vars: &Vars) -> Result<Value, usize> {
    let refs = find_refs(s);
    if refs.is_empty() {
        return Ok(Value::String(s.to_string()));
    }
    if refs.len() == 1 && refs[0].start == 0 && refs[0].end == s.len() {
        if let Some(v) = vars.get(&refs[0].name) {
            return Ok(v.clone());
        }
    }
    let len = refs.iter().fold(s.len(), |n, r| {
        let with = match vars.get(&r.name) {
            Some(Value::String(v)) => v.len(),
            Some(other) => other.to_string().len(),
            None => r.end - r.start,
        };
        n.saturating_add(with).saturating_sub(r.end - r.start)
    });
    if len > MAX_EXPANDED_LEN {
        return Err(len);
    }
    let mut out = String::with_capacity(len);
    let mut last = 0;
    for r in &refs {
        out.push_str(&s[last..r.start]);
        match vars.get(&r.name) {
            Some(v) => out.push_str(&splice_text(v)),
            None => out.push_str(&s[r.start..r.end]),
        }
        last = r.end;
    }
    out.push_str(&s[last..]);
    Ok(Value::String(out))
}

/// The error for a substitution of `s` (at `field` of `file`) that would be `len` bytes long.
fn too_long(file: &Path, field: &str, s: &str, len: usize) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_path_buf(),
        field: field.to_string(),
        value: format!("\"{}\"", crate::limits::clip(s)),
        reason: format!(
            "manifest substitution would make a string of {len} bytes (at most {MAX_EXPANDED_LEN}); do variables repeat each other?"
        ),
    }
}

/// Substitute variables in every string of `v`, recursively (object keys are left alone);
/// `field` names `v` in errors.
pub(crate) fn substitute_value(
    v: &mut Value,
    vars: &Vars,
    file: &Path,
    field: &str,
) -> Result<(), ConfigError> {
    match v {
        Value::String(s) => {
            *v = substitute_str(s, vars).map_err(|len| too_long(file, field, s, len))?
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                substitute_value(x, vars, file, &format!("{field}[{i}]"))?;
            }
        }
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                substitute_value(x, vars, file, &format!("{field}.{k}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The built-in variables of one config file: `workingdir`, `configdir`, `configfname`, `date`,
/// `time`, `datetime` (formats of BMTK: `%Y-%m-%d`, `%H-%M-%S`, `%Y-%m-%d_%H-%M-%S`).
pub(crate) fn builtins(config_file: &Path, cwd: &Path) -> Vars {
    let now = chrono::Local::now();
    let dir = config_file.parent().unwrap_or(Path::new("."));
    let fname = config_file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut v = Vars::new();
    let s = |x: String| Value::String(x);
    v.insert("workingdir".into(), s(cwd.display().to_string()));
    v.insert("configdir".into(), s(dir.display().to_string()));
    v.insert("configfname".into(), s(fname));
    v.insert("date".into(), s(now.format("%Y-%m-%d").to_string()));
    v.insert("time".into(), s(now.format("%H-%M-%S").to_string()));
    v.insert(
        "datetime".into(),
        s(now.format("%Y-%m-%d_%H-%M-%S").to_string()),
    );
    v
}

/// Resolve a `manifest` object into variables. Keys lose a leading `$`. Values may reference
/// each other and the built-ins; resolution repeats until nothing changes. A manifest variable
/// whose value still references a manifest variable at that point is part of a cycle.
/// `user` variables take precedence over manifest entries and built-ins.
pub(crate) fn resolve_manifest(
    manifest: Option<&Value>,
    file: &Path,
    builtins: Vars,
    user: &Vars,
) -> Result<Vars, ConfigError> {
    let mut own = Vars::new();
    match manifest {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                own.insert(k.trim_start_matches('$').to_string(), v.clone());
            }
        }
        Some(other) => {
            return Err(ConfigError::invalid(
                file,
                "manifest",
                other,
                "expected an object of variables",
            ))
        }
    }
    for k in user.keys() {
        own.remove(k);
    }
    let mut vars = builtins;
    for (k, v) in user {
        vars.insert(k.clone(), v.clone());
    }
    // Iterate: substitute every manifest value with the current table (built-ins, user variables
    // and manifest values as they stand). Each pass resolves at least one level of nesting.
    let max_passes = own.len() + 2;
    for _ in 0..max_passes {
        let mut table = vars.clone();
        table.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut changed = false;
        for (k, v) in own.iter_mut() {
            if let Value::String(s) = v {
                let nv = substitute_str(s, &table)
                    .map_err(|len| too_long(file, &format!("manifest.${k}"), s, len))?;
                if &nv != v {
                    *v = nv;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let stuck: Vec<String> = own
        .iter()
        .filter(|(_, v)| match v {
            Value::String(s) => find_refs(s).iter().any(|r| own.contains_key(&r.name)),
            _ => false,
        })
        .map(|(k, _)| format!("${k}"))
        .collect();
    if !stuck.is_empty() {
        return Err(ConfigError::ManifestCycle {
            file: file.to_path_buf(),
            vars: stuck.join(", "),
        });
    }
    vars.extend(own);
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_plain_and_braced() {
        let r = find_refs("$A/x/${B_2}y$ $");
        let names: Vec<_> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["A", "B_2"]);
    }

    #[test]
    fn typed_and_spliced() {
        let mut v = Vars::new();
        v.insert("N".into(), json!(5));
        v.insert("D".into(), json!("/d"));
        assert_eq!(substitute_str("$N", &v), Ok(json!(5)));
        assert_eq!(substitute_str("${N}_x", &v), Ok(json!("5_x")));
        assert_eq!(substitute_str("$D/$UNK", &v), Ok(json!("/d/$UNK")));
    }

    #[test]
    fn builtin_formats() {
        let b = builtins(Path::new("/c/d/sim.json"), Path::new("/w"));
        let s = |k: &str| b[k].as_str().unwrap().to_string();
        assert_eq!(
            (s("configdir"), s("configfname"), s("workingdir")),
            ("/c/d".into(), "sim.json".into(), "/w".into())
        );
        let digits = |x: &str, pat: &str| {
            x.len() == pat.len()
                && x.chars().zip(pat.chars()).all(|(c, p)| {
                    if p == 'd' {
                        c.is_ascii_digit()
                    } else {
                        c == p
                    }
                })
        };
        assert!(digits(&s("date"), "dddd-dd-dd"), "{}", s("date"));
        assert!(digits(&s("time"), "dd-dd-dd"), "{}", s("time"));
        assert!(
            digits(&s("datetime"), "dddd-dd-dd_dd-dd-dd"),
            "{}",
            s("datetime")
        );
    }

    #[test]
    fn manifest_nested_and_cycle() {
        let f = Path::new("/c/config.json");
        let m = json!({"$BASE": "${configdir}", "$NET": "$BASE/net", "$DEEP": "$NET/x"});
        let vars =
            resolve_manifest(Some(&m), f, builtins(f, Path::new("/w")), &Vars::new()).unwrap();
        assert_eq!(vars["DEEP"], json!("/c/net/x"));
        let m = json!({"$A": "$B/x", "$B": "$A/y", "$C": "ok"});
        let e = resolve_manifest(Some(&m), f, Vars::new(), &Vars::new()).unwrap_err();
        assert!(e.to_string().contains("$A, $B"), "{e}");
    }
}
