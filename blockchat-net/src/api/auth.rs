//! Who may use the API: whoever holds the node's secret, a random cookie written to the data dir
//! at start (mode 0600, like bitcoind's `.cookie`) or a password from the node's settings.

use std::path::{Path, PathBuf};

use base64::Engine;
use rand::RngExt;

/// The cookie file's name in the data dir.
pub const COOKIE_FILE: &str = ".cookie";
/// The file naming the API's address in the data dir.
pub const ADDR_FILE: &str = "api.addr";
/// The user name in a cookie file, as bitcoind writes it (any user name is accepted).
pub const COOKIE_USER: &str = "__cookie__";
/// The browser cookie holding the explorer's session.
pub const SESSION_COOKIE: &str = "blockchat_session";

/// Why the secret could not be set up or read.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The cookie or password file could not be written or read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// The cookie file does not hold `user:secret`.
    #[error("{path}: not a cookie file (expected `__cookie__:SECRET`)")]
    Malformed {
        /// The file.
        path: PathBuf,
    },
}

/// The secret a request must carry.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A secret from a configured password.
    pub fn password(text: &str) -> Secret {
        Secret(text.to_string())
    }

    /// A fresh random secret (32 bytes, hex).
    pub fn random() -> Secret {
        Secret(hex::encode(rand::rng().random::<[u8; 32]>()))
    }

    /// The secret's text, to send.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `offered` is this secret, in time that does not depend on where they differ.
    pub fn matches(&self, offered: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), offered.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Whether an `Authorization` header value carries this secret: `Bearer SECRET`, or `Basic`
    /// with any user name and SECRET as the password (what `curl -u __cookie__:SECRET` sends).
    pub fn authorizes(&self, header: &str) -> bool {
        if let Some(token) = header.strip_prefix("Bearer ") {
            return self.matches(token.trim());
        }
        let Some(encoded) = header.strip_prefix("Basic ") else { return false };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
        let Ok(text) = String::from_utf8(decoded) else { return false };
        text.split_once(':').is_some_and(|(_, password)| self.matches(password))
    }

    /// Whether a `Cookie` header value holds the explorer session for this secret.
    pub fn in_cookies(&self, header: &str) -> bool {
        header
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .any(|(name, value)| name == SESSION_COOKIE && self.matches(value))
    }

    /// Writes the cookie file for this secret (readable by its owner only).
    pub fn write_cookie(&self, dir: &Path) -> Result<PathBuf, AuthError> {
        use std::io::Write;
        let path = dir.join(COOKIE_FILE);
        let io = |error| AuthError::Io { path: path.clone(), error };
        let _ = std::fs::remove_file(&path);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&path).map_err(io)?;
        f.write_all(format!("{COOKIE_USER}:{}", self.0).as_bytes()).map_err(io)?;
        Ok(path)
    }

    /// Reads the secret from a cookie file.
    pub fn read_cookie(path: &Path) -> Result<Secret, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|error| AuthError::Io { path: path.into(), error })?;
        match text.trim().split_once(':') {
            Some((_, secret)) if !secret.is_empty() => Ok(Secret(secret.to_string())),
            _ => Err(AuthError::Malformed { path: path.into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carry_the_secret_or_not() {
        let s = Secret::password("hunter2");
        let basic = |u: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(u));
        let cases = [
            ("Bearer hunter2".to_string(), true),
            ("Bearer hunter3".to_string(), false),
            ("Bearer hunter".to_string(), false),
            (basic("__cookie__:hunter2"), true),
            (basic("anyone:hunter2"), true),
            (basic("hunter2"), false),
            ("Basic !!!".to_string(), false),
            ("hunter2".to_string(), false),
        ];
        for (header, ok) in cases {
            assert_eq!(s.authorizes(&header), ok, "{header}");
        }
        assert!(s.in_cookies("a=b; blockchat_session=hunter2"));
        assert!(!s.in_cookies("blockchat_session=hunter"));
    }

    #[test]
    fn the_cookie_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secret::random();
        let path = s.write_cookie(dir.path()).unwrap();
        assert_eq!(Secret::read_cookie(&path).unwrap(), s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "nonsense").unwrap();
        assert!(matches!(Secret::read_cookie(&path), Err(AuthError::Malformed { .. })));
    }
}
