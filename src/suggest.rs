//! "Did you mean": the closest of a set of known names to a mistyped one (`enviroment` →
//! `environment`, `vars.ap` → `vars.app`), for messages that name their fix.

/// The known name closest to `name`, when it is close enough to be a likely typo: a
/// Jaro-Winkler similarity of at least 0.8 (clap's threshold for its own suggestions), the same
/// name in another case, or, for names too short for a similarity score (`rwa`, `sah`), one
/// letter or one swap away.
pub(crate) fn closest<'a, I>(name: &str, known: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = name.to_ascii_lowercase();
    let known: Vec<&'a str> = known.into_iter().filter(|k| *k != name).collect();
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
        .or_else(|| {
            known
                .into_iter()
                .find(|k| strsim::osa_distance(&lower, &k.to_ascii_lowercase()) == 1)
        })
}

/// `"; did you mean `x`?"` for a message, or nothing when no known name is close.
pub(crate) fn did_you_mean<'a, I>(name: &str, known: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    closest(name, known).map_or_else(String::new, |k| format!("; did you mean `{k}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name_and_strangers_find_none() {
        let known = ["environment", "platform_url", "timeout"];
        assert_eq!(closest("enviroment", known), Some("environment"));
        assert_eq!(closest("ENVIRONMENT", known), Some("environment"));
        assert_eq!(closest("platfrom_url", known), Some("platform_url"));
        assert_eq!(closest("colour", known), None);
        assert_eq!(closest("rwa", ["raw", "upper"]), Some("raw"));
        assert_eq!(closest("sah", ["sha", "ci"]), Some("sha"));
        assert_eq!(
            did_you_mean("vars.ap", ["vars.app"]),
            "; did you mean `vars.app`?"
        );
        assert_eq!(did_you_mean("zzz", ["vars.app"]), "");
    }
}
