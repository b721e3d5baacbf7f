//! What a meaning check reports: the dotted key a problem is about and what is wrong.

/// A problem with the meaning of the file: the dotted key it is about and what is wrong.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) key: Vec<String>,
    pub(crate) message: String,
}

pub(super) fn problem(key: &[&str], message: impl Into<String>) -> Problem {
    Problem {
        key: key.iter().map(|s| (*s).to_owned()).collect(),
        message: message.into(),
    }
}

pub(super) type Checked<T> = Result<T, Problem>;
