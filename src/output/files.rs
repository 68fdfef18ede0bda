//! A run's output files as one transaction (issue #22): nothing lost, nothing stale.
//!
//! * **Planned when the config is read.** Every file the run will write is known before the
//!   network is loaded: two outputs with the same path, or an output that is one of the run's
//!   inputs, is an error naming both fields.
//! * **Checked before simulating.** Folders are created, a target that is a folder is refused,
//!   and each file's staging name is created once, so an unwritable folder fails in seconds,
//!   not after the simulation.
//! * **Staged, then committed.** Writers write to a hidden staging name beside the target
//!   (`.NAME.tmp-PID.EXT`); only when every output is complete are they renamed over the old
//!   files. A failure removes the staging files and leaves the previous results untouched.
//! * **Only glifnet's own files are removed.** A manifest (`.glifnet-outputs`) in the output
//!   folder lists what the last run wrote; a rerun removes exactly the files of that list it did
//!   not write again (a `raster.png` after `--no-plot`, an old report), never anything else.
//!   Staging files left by a killed run (glifnet's temp pattern, a PID that no longer runs)
//!   are removed when the next run prepares the folder.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::OutputError;

/// The manifest of the files the last run wrote into its output folder.
pub const MANIFEST: &str = ".glifnet-outputs";

/// One planned output: the config field that names it and where it goes.
#[derive(Debug, Clone)]
struct Entry {
    field: String,
    path: PathBuf,
    staging: PathBuf,
}

/// What a commit did, for the log.
#[derive(Debug, Default, Clone)]
pub struct Committed {
    /// Files written by this run.
    pub written: Vec<PathBuf>,
    /// Of those, the ones that replaced a file of the same name.
    pub replaced: Vec<PathBuf>,
    /// Files of the previous run (from its manifest) that this run did not write again.
    pub removed: Vec<PathBuf>,
}

/// The planned outputs of a run; dropping it without [`OutputFiles::commit`] removes every
/// staging file and the folders it created (when they are empty).
#[derive(Debug)]
pub struct OutputFiles {
    dir: PathBuf,
    entries: Vec<Entry>,
    created: Vec<PathBuf>,
    committed: bool,
}

/// `p` made absolute (from the working directory) with `.` and `..` resolved lexically, and
/// through symlinks where its folder exists, so two spellings of one file compare equal.
pub fn normalize(p: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let out = crate::config::absolutize(p, &cwd);
    match (out.parent().map(std::fs::canonicalize), out.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => out,
    }
}

/// The staging name of `path`: hidden, beside it, keeping its extension (the plot writers pick
/// the format from it).
fn staging_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}{ext}", std::process::id()))
}

/// The PID in a glifnet temporary file name (`.NAME.tmp-PID`, `.NAME.tmp-PID.EXT`,
/// `.NAME.tmpPID`), or None for any other name.
pub fn temp_owner(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let at = name.rfind(".tmp")?;
    let rest = &name[at + 4..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || at == 0 {
        return None;
    }
    let tail = &rest[digits..];
    // nothing after the PID, or one extension made of letters and digits
    let ext_ok = tail.is_empty()
        || (tail.len() <= 9
            && tail.starts_with('.')
            && tail[1..].chars().all(|c| c.is_ascii_alphanumeric())
            && tail.len() > 1);
    if !ext_ok {
        return None;
    }
    rest[..digits].parse().ok()
}

/// Whether a process with this PID runs (the temp files of a live run are never touched).
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for the process; no signal is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Remove glifnet temp files of runs that no longer exist from `dir`; returns their paths.
pub fn remove_stale_temps(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = temp_owner(&name) else {
            continue;
        };
        let is_file = e.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && !alive(pid) && std::fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

fn io_err(path: &Path, msg: impl std::fmt::Display) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

impl OutputFiles {
    /// Plan the outputs `(config field, path)` of a run whose output folder is `dir`. Two
    /// outputs at one path, or an output at the path of one of `inputs` `(field, path)`, are
    /// refused with both fields named.
    pub fn plan(
        dir: &Path,
        outputs: Vec<(String, PathBuf)>,
        inputs: &[(String, PathBuf)],
    ) -> Result<OutputFiles, OutputError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut seen: Vec<(PathBuf, String)> = Vec::new();
        for (field, path) in outputs {
            let key = normalize(&path);
            if path.file_name().is_none() {
                return Err(io_err(&path, format!("{field}: not a file name")));
            }
            if let Some((_, other)) = seen.iter().find(|(k, _)| *k == key) {
                return Err(OutputError::Collision {
                    path,
                    first: other.clone(),
                    second: field,
                });
            }
            if let Some((input, _)) = inputs.iter().find(|(_, p)| normalize(p) == key) {
                return Err(OutputError::Collision {
                    path,
                    first: input.clone(),
                    second: field,
                });
            }
            seen.push((key, field.clone()));
            entries.push(Entry {
                field,
                staging: staging_for(&path),
                path,
            });
        }
        Ok(OutputFiles {
            dir: dir.to_path_buf(),
            entries,
            created: Vec::new(),
            committed: false,
        })
    }

    /// Before simulating: create the folders, refuse targets that are folders, prove each
    /// staging file can be created, and remove temp files of dead glifnet runs. Returns the
    /// stale temp files removed.
    pub fn prepare(&mut self) -> Result<Vec<PathBuf>, OutputError> {
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        dirs.insert(self.dir.clone());
        for e in &self.entries {
            if let Some(p) = e.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                dirs.insert(p.to_path_buf());
            }
        }
        for d in &dirs {
            if d.exists() && !d.is_dir() {
                return Err(io_err(d, "output folder exists and is not a folder"));
            }
            self.create_dir(d)?;
        }
        let mut stale = Vec::new();
        for d in &dirs {
            stale.extend(remove_stale_temps(d));
        }
        for e in &self.entries {
            if e.path.is_dir() {
                return Err(io_err(
                    &e.path,
                    format!(
                        "{} is a folder; glifnet will not replace a folder with a file",
                        e.field
                    ),
                ));
            }
            std::fs::File::create(&e.staging)
                .map_err(|err| io_err(&e.path, format!("{}: cannot write here: {err}", e.field)))?;
            let _ = std::fs::remove_file(&e.staging);
        }
        Ok(stale)
    }

    /// `create_dir_all`, remembering the folders it made (removed again if the run fails).
    fn create_dir(&mut self, d: &Path) -> Result<(), OutputError> {
        let mut missing = Vec::new();
        let mut cur = Some(d);
        while let Some(c) = cur.filter(|c| !c.as_os_str().is_empty() && !c.exists()) {
            missing.push(c.to_path_buf());
            cur = c.parent();
        }
        std::fs::create_dir_all(d).map_err(|e| io_err(d, format!("cannot create folder: {e}")))?;
        self.created.extend(missing);
        Ok(())
    }

    /// Where the writer of `path` writes (its staging name); `path` must have been planned.
    pub fn staging(&self, path: &Path) -> PathBuf {
        self.entries
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.staging.clone())
            .unwrap_or_else(|| staging_for(path))
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What [`OutputFiles::commit`] will do now: the files staged, those of them that will
    /// replace a file, and the previous run's files that will be removed.
    pub fn preview(&self) -> Committed {
        let mut done = Committed::default();
        for e in self.entries.iter().filter(|e| e.staging.is_file()) {
            if e.path.exists() {
                done.replaced.push(e.path.clone());
            }
            done.written.push(e.path.clone());
        }
        let now: BTreeSet<PathBuf> = done.written.iter().map(|p| normalize(p)).collect();
        done.removed = self
            .read_manifest()
            .into_iter()
            .filter(|old| {
                !now.contains(&normalize(old))
                    && std::fs::symlink_metadata(old).is_ok_and(|m| m.is_file())
            })
            .collect();
        done
    }

    /// Rename every staging file that was written over its target, then remove the previous
    /// run's files that this run did not write, and record this run's files in the manifest.
    pub fn commit(mut self) -> Result<Committed, OutputError> {
        let plan = self.preview();
        for e in self
            .entries
            .iter()
            .filter(|e| plan.written.contains(&e.path))
        {
            std::fs::rename(&e.staging, &e.path).map_err(|err| {
                io_err(&e.path, format!("cannot move the new file in place: {err}"))
            })?;
        }
        self.committed = true;
        let mut done = plan;
        done.removed.retain(|old| std::fs::remove_file(old).is_ok());
        self.write_manifest(&done.written)?;
        Ok(done)
    }

    /// The files listed by the previous run's manifest (paths relative to the folder, or
    /// absolute for outputs outside it).
    fn read_manifest(&self) -> Vec<PathBuf> {
        let Ok(text) = std::fs::read_to_string(self.dir.join(MANIFEST)) else {
            return Vec::new();
        };
        text.lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| self.dir.join(l))
            .collect()
    }

    fn write_manifest(&self, written: &[PathBuf]) -> Result<(), OutputError> {
        let mut s = String::from("# files written by the last glifnet run in this folder\n");
        let dir = normalize(&self.dir);
        for p in written {
            let n = normalize(p);
            let shown = n.strip_prefix(&dir).map(Path::to_path_buf).unwrap_or(n);
            s.push_str(&shown.to_string_lossy());
            s.push('\n');
        }
        super::write_atomic(&self.dir.join(MANIFEST), s.as_bytes())
    }
}

impl Drop for OutputFiles {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for e in &self.entries {
            let _ = std::fs::remove_file(&e.staging);
        }
        // deepest first; remove_dir fails on a folder that is not empty
        let mut dirs = std::mem::take(&mut self.created);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_and_nothing_else() {
        assert_eq!(temp_owner(".spikes.h5.tmp-123"), Some(123));
        assert_eq!(temp_owner(".raster.tmp-77.png"), Some(77));
        assert_eq!(temp_owner(".log.txt.tmp9"), Some(9));
        assert_eq!(temp_owner("..spikes.h5.tmp-5.h5.tmp-5"), Some(5));
        assert_eq!(temp_owner("spikes.h5.tmp-123"), None); // not hidden: not ours
        assert_eq!(temp_owner(".notes.tmp"), None);
        assert_eq!(temp_owner(".tmp-12"), None);
        assert_eq!(temp_owner(".a.tmp-12.tar.gz"), None);
        assert_eq!(temp_owner(".a.tmp-12x"), None);
    }

    #[test]
    fn collisions_name_both_fields() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let e = OutputFiles::plan(
            &out,
            vec![
                ("output.spikes_file".into(), out.join("spikes.h5")),
                ("output.log_file".into(), out.join("./sub/../spikes.h5")),
            ],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("output.spikes_file") && e.contains("output.log_file"),
            "{e}"
        );
        let e = OutputFiles::plan(
            &out,
            vec![("output.log_file".into(), d.path().join("config.json"))],
            &[("the config file".into(), d.path().join("config.json"))],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("the config file"), "{e}");
    }

    #[test]
    fn a_failed_run_keeps_old_results_and_a_rerun_removes_only_its_own_stale_files() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let plan = |names: &[&str]| {
            OutputFiles::plan(
                &out,
                names
                    .iter()
                    .map(|n| (format!("field {n}"), out.join(n)))
                    .collect(),
                &[],
            )
            .unwrap()
        };
        // first run: a.txt and b.txt
        let mut o = plan(&["a.txt", "b.txt"]);
        o.prepare().unwrap();
        for n in ["a.txt", "b.txt"] {
            std::fs::write(o.staging(&out.join(n)), "one").unwrap();
        }
        let c = o.commit().unwrap();
        assert_eq!(c.written.len(), 2);
        assert!(c.replaced.is_empty() && c.removed.is_empty());
        std::fs::write(out.join("mine.txt"), "user").unwrap();
        // a failed run: staged files vanish, old ones stay
        let mut o = plan(&["a.txt", "b.txt"]);
        o.prepare().unwrap();
        std::fs::write(o.staging(&out.join("a.txt")), "two").unwrap();
        drop(o);
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(out.join("b.txt")).unwrap(), "one");
        // a rerun writing only a.txt: b.txt (ours) goes, mine.txt (not ours) stays
        let mut o = plan(&["a.txt", "b.txt"]);
        o.prepare().unwrap();
        std::fs::write(o.staging(&out.join("a.txt")), "three").unwrap();
        let c = o.commit().unwrap();
        assert_eq!(c.replaced, vec![out.join("a.txt")]);
        assert_eq!(c.removed, vec![out.join("b.txt")]);
        assert!(!out.join("b.txt").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("mine.txt")).unwrap(),
            "user"
        );
        let left: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn prepare_refuses_a_folder_target_and_removes_dead_temps_only() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir_all(out.join("spikes.h5")).unwrap();
        let mut o = OutputFiles::plan(
            &out,
            vec![("output.spikes_file".into(), out.join("spikes.h5"))],
            &[],
        )
        .unwrap();
        let e = o.prepare().unwrap_err().to_string();
        assert!(e.contains("spikes.h5") && e.contains("is a folder"), "{e}");
        std::fs::remove_dir(out.join("spikes.h5")).unwrap();
        // a dead PID's temp file goes, a live one's (ours) and a user's hidden file stay
        let dead = out.join(format!(".spikes.h5.tmp-{}", u32::MAX - 1));
        let live = out.join(format!(".x.h5.tmp-{}", std::process::id()));
        let user = out.join(".hidden.tmp");
        for p in [&dead, &live, &user] {
            std::fs::write(p, "x").unwrap();
        }
        let stale = o.prepare().unwrap();
        assert_eq!(stale, vec![dead.clone()]);
        assert!(!dead.exists() && live.exists() && user.exists());
    }

    #[test]
    fn folders_made_for_a_failed_run_are_removed() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("new/deeper");
        let mut o = OutputFiles::plan(&out, vec![("f".into(), out.join("a.h5"))], &[]).unwrap();
        o.prepare().unwrap();
        assert!(out.is_dir());
        drop(o);
        assert!(!d.path().join("new").exists());
    }
}
