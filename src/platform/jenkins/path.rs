//! Job names to URL paths: folders become `/job/a/job/b`, and a multibranch branch is one more
//! job whose name is the branch with `/` written `%2F` (so `feature/x` is `job/feature%252Fx` in
//! the URL, as Jenkins' branch-api encodes branch names).

use crate::net::segment;

/// `/job/a/job/b` for the full name `a/b`, plus `/job/<branch>` for a multibranch branch.
/// `None` when the name has an empty part (`a//b`, a leading or trailing `/`).
pub(crate) fn job_path(full_name: &str, branch: Option<&str>) -> Option<String> {
    let mut out = String::new();
    for part in full_name.trim().split('/') {
        if part.trim().is_empty() {
            return None;
        }
        out.push_str("/job/");
        out.push_str(&segment(part.trim()));
    }
    if let Some(branch) = branch {
        let branch = branch.trim();
        if branch.is_empty() {
            return None;
        }
        // Jenkins names the branch job with `/` as `%2F` (and `%` as `%25`); the URL then
        // percent-encodes that name once more.
        let name = branch.replace('%', "%25").replace('/', "%2F");
        out.push_str("/job/");
        out.push_str(&segment(&name));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_branches() {
        assert_eq!(job_path("shop", None).unwrap(), "/job/shop");
        assert_eq!(job_path("team/shop", None).unwrap(), "/job/team/job/shop");
        assert_eq!(
            job_path("team/shop", Some("feature/x")).unwrap(),
            "/job/team/job/shop/job/feature%252Fx"
        );
        assert_eq!(job_path("my job", None).unwrap(), "/job/my%20job");
        assert!(job_path("a//b", None).is_none());
        assert!(job_path("a", Some("")).is_none());
    }
}
