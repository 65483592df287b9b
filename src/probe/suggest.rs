//! "Did you mean …?": the names closest to a misspelt one, by edit distance
//! (insertions, deletions, substitutions and swaps of neighbours each cost one), for
//! help lines of unknown probe types, functions and tracepoints.

/// The edit distance between `a` and `b` (optimal string alignment), or `None` once it
/// exceeds `limit` (so long candidate lists cost little).
pub fn distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    // Three rows: two back (for swaps), one back, and the current one.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        if cur.iter().min().is_some_and(|&m| m > limit) {
            return None;
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    Some(prev[b.len()]).filter(|&d| d <= limit)
}

/// How many edits a name of this length may be away and still be a suggestion.
fn limit_for(word: &str) -> usize {
    (word.chars().count() / 3).clamp(1, 4)
}

/// The candidate closest to `word` (the first of equals), if one is close enough.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    near(word, candidates, 1).into_iter().next()
}

/// Up to `n` candidates close to `word`, closest first (ties in the candidates'
/// order); a candidate differing only in case counts as one edit away.
pub fn near<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<&'a str> {
    let limit = limit_for(word);
    let lower = word.to_lowercase();
    let mut found: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c != word)
        .filter_map(|(i, c)| {
            let d = if c.to_lowercase() == lower {
                1
            } else {
                distance(word, c, limit)?
            };
            Some((d, i, c))
        })
        .collect();
    found.sort();
    // Only the closest and those one edit further: a far one next to a near one misleads.
    let best = found.first().map_or(0, |f| f.0);
    let mut out: Vec<&str> = Vec::new();
    for (d, _, c) in found {
        if d <= best + 1 && !out.contains(&c) && out.len() < n {
            out.push(c);
        }
    }
    out
}

/// `did you mean `a`, `b` or `c`?` for a help line; `None` when nothing is near.
pub fn did_you_mean(names: &[&str]) -> Option<String> {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("tracepiont", "tracepoint", 3), Some(1));
        assert_eq!(distance("kprobe", "uprobe", 3), Some(1));
        assert_eq!(distance("abc", "abc", 0), Some(0));
        assert_eq!(distance("", "abc", 3), Some(3));
        assert_eq!(distance("malloc", "free", 2), None);
        assert_eq!(distance("éa", "aé", 1), Some(1));
    }

    #[test]
    fn suggestions() {
        let kinds = ["tracepoint", "t", "uprobe", "u", "kprobe", "k", "interval"];
        assert_eq!(closest("tracepiont", kinds), Some("tracepoint"));
        assert_eq!(closest("tracpoint", kinds), Some("tracepoint"));
        assert_eq!(closest("intervl", kinds), Some("interval"));
        assert_eq!(closest("zzzzzzzz", kinds), None);
        assert_eq!(closest("Uprobe", kinds), Some("uprobe"));
        let funcs = ["malloc", "calloc", "realloc", "free", "mallinfo"];
        assert_eq!(near("maloc", funcs, 3), ["malloc"]);
        assert_eq!(near("realoc", funcs, 3), ["realloc"]);
        assert_eq!(
            did_you_mean(&["a", "b", "c"]).unwrap(),
            "did you mean `a`, `b` or `c`?"
        );
        assert_eq!(did_you_mean(&["a"]).unwrap(), "did you mean `a`?");
        assert_eq!(did_you_mean(&[]), None);
    }
}
