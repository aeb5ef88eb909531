//! A folder zipped without `-r`.
//!
//! `zip reports.zip reports` stores the folder's name and none of its
//! files: zip only walks into a folder with `-r`. When the request is about
//! a folder (or an operand is written as one, `reports/`) and zip has no
//! `-r`, the retry is told so.

use crate::safety::Invocation;

/// Words with which a request speaks of a folder.
const FOLDER_WORDS: &[&str] = &["folder", "directory", "dir", "subfolder", "tree"];

/// The problem when `inv` zips a folder without walking into it.
pub(super) fn folder_without_r(request: &str, inv: &Invocation) -> Option<String> {
    if inv.program != "zip" {
        return None;
    }
    // `zip -d` deletes entries and `zip -T` tests the archive: nothing is added.
    let adds = !inv
        .options
        .iter()
        .any(|o| matches!(o.as_str(), "-d" | "--delete" | "-T" | "--test"));
    let recursive = !adds
        || inv.options.iter().any(|o| match o.strip_prefix("--") {
            Some(long) => long.starts_with("recurse"),
            None => o[1..].contains(['r', 'R']),
        });
    let operands: Vec<&str> = inv
        .args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if recursive || operands.len() < 2 {
        return None;
    }
    let lower = request.to_lowercase();
    let about_folder = lower
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| FOLDER_WORDS.contains(&w) || w == "folders" || w == "directories");
    let written_as_folder = operands[1..].iter().any(|a| a.ends_with('/'));
    // "zip the pdfs in this directory" answered `zip pdfs.zip *.pdf` is
    // fine: only a name that can be a folder (no extension, no glob) is one.
    let folder_like = operands[1..].iter().any(|a| {
        let last = a.rsplit('/').next().unwrap_or(a);
        *a == "." || (!last.contains('.') && !a.contains(['*', '?', '[']))
    });
    (written_as_folder || (about_folder && folder_like)).then(|| {
        "zip stores a folder's files only with -r (`zip -r ARCHIVE.zip FOLDER`); without it the archive holds the folder's name alone".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(request: &str, cmd: &str) -> Option<String> {
        crate::safety::invocations(cmd)
            .iter()
            .find_map(|i| folder_without_r(request, i))
    }

    #[test]
    fn a_folder_zipped_without_r_is_named() {
        assert!(problem("zip up the reports folder", "zip reports.zip reports").is_some());
        assert!(problem("compress it", "zip out.zip build/").is_some());
        assert!(problem("zip the directory src", "zip -9 src.zip src").is_some());
    }

    #[test]
    fn with_r_or_files_only_is_fine() {
        assert_eq!(
            problem("zip up the reports folder", "zip -r reports.zip reports"),
            None
        );
        assert_eq!(
            problem("zip up the reports folder", "zip -qr reports.zip reports/"),
            None
        );
        assert_eq!(
            problem("zip the folder", "zip --recurse-paths a.zip a"),
            None
        );
        assert_eq!(
            problem("zip the two pdfs", "zip docs.zip a.pdf b.pdf"),
            None
        );
        assert_eq!(problem("zip the folder", "unzip a.zip"), None);
        assert_eq!(
            problem(
                "zip all the pdf files in this directory",
                "zip pdfs.zip *.pdf"
            ),
            None
        );
        assert!(problem("zip everything in this folder", "zip all.zip .").is_some());
        assert_eq!(
            problem("remove the folder from the zip", "zip -d a.zip docs/"),
            None
        );
    }
}
