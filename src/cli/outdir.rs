//! Where `scrub --output-dir DIR` writes each copy, decided for the whole
//! list before any work starts so that collisions are refused up front.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use super::inputs::{file_id, Item};

/// The destination of each item, or why it is refused.
pub fn plan(items: &[Item], dir: &Path) -> Vec<Result<PathBuf, String>> {
    let mut dests: Vec<Result<PathBuf, String>> =
        items.iter().map(|it| Ok(dir.join(mirrored(it)))).collect();

    let mut by_dest: HashMap<PathBuf, Vec<usize>> = HashMap::new();
    for (i, d) in dests.iter().enumerate() {
        if let Ok(d) = d {
            by_dest.entry(d.clone()).or_default().push(i);
        }
    }
    for (dest, users) in &by_dest {
        if users.len() > 1 {
            let names: Vec<String> = users
                .iter()
                .filter_map(|&k| items.get(k))
                .map(|it| it.path.display().to_string())
                .collect();
            for &k in users {
                if let (Some(it), Some(slot)) = (items.get(k), dests.get_mut(k)) {
                    *slot = Err(format!(
                        "{}: refused: its output {} would also be written for {}",
                        it.path.display(),
                        dest.display(),
                        names.join(", ")
                    ));
                }
            }
        }
    }

    let inputs: HashSet<(u64, u64)> = items.iter().filter_map(|it| file_id(&it.path)).collect();
    for (it, slot) in items.iter().zip(dests.iter_mut()) {
        if let Ok(d) = slot {
            if file_id(d).is_some_and(|id| inputs.contains(&id)) {
                *slot = Err(format!(
                    "{}: refused: its output {} is an input file",
                    it.path.display(),
                    d.display()
                ));
            }
        }
    }
    dests
}

/// The path below the output directory: below the directory argument for
/// a walked file; as given for a relative path that stays inside; else the
/// file name alone.
fn mirrored(it: &Item) -> PathBuf {
    if let Some(rel) = it
        .root
        .as_deref()
        .and_then(|r| it.path.strip_prefix(r).ok())
    {
        if !rel.as_os_str().is_empty() {
            return rel.to_path_buf();
        }
    }
    let p = &it.path;
    if p.components().all(|c| matches!(c, Component::Normal(_))) {
        return p.clone();
    }
    p.file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| p.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(p: &str, root: Option<&str>) -> Item {
        Item {
            path: PathBuf::from(p),
            root: root.map(PathBuf::from),
            walk_error: None,
        }
    }

    #[test]
    fn mirrors_and_refuses_collisions() {
        let items = [
            item("/srv/a/x.dmp", Some("/srv/a")),
            item("/srv/a/sub/y.dmp", Some("/srv/a")),
            item("rel/z.dmp", None),
            item("../up/x.dmp", None),
        ];
        let d = plan(&items, Path::new("/nonexistent-out"));
        assert!(d[0].is_err() && d[3].is_err(), "x.dmp twice: {d:?}");
        assert_eq!(d[1], Ok(PathBuf::from("/nonexistent-out/sub/y.dmp")));
        assert_eq!(d[2], Ok(PathBuf::from("/nonexistent-out/rel/z.dmp")));
    }
}
