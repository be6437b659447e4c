//! Connection URLs as they may be shown: without the password.

/// `url` with its password removed, for logs and error messages. Handles
/// both forms PostgreSQL accepts: `postgres://user:password@host/db?...`
/// (the password in the user info or as a `password=` parameter) and
/// `host=... password=...` key-value strings. Errs on the side of hiding:
/// what cannot be parsed is replaced whole.
pub fn without_password(url: &str) -> String {
    let rest = url
        .strip_prefix("postgres://")
        .map(|rest| ("postgres://", rest))
        .or_else(|| {
            url.strip_prefix("postgresql://")
                .map(|r| ("postgresql://", r))
        });
    match rest {
        Some((scheme, rest)) => url_without_password(scheme, rest),
        None if url.contains('=') => key_values_without_password(url),
        None => "<unparsed connection string>".into(),
    }
}

fn url_without_password(scheme: &str, rest: &str) -> String {
    let (authority_and_path, query) = match rest.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (rest, None),
    };
    // The user info ends at the last '@' before the path.
    let authority_end = authority_and_path
        .find('/')
        .unwrap_or(authority_and_path.len());
    let (authority, path) = authority_and_path.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let mut shown = format!("{scheme}{authority}{path}");
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.starts_with("password="))
            .collect();
        if !kept.is_empty() {
            shown.push('?');
            shown.push_str(&kept.join("&"));
        }
    }
    shown
}

fn key_values_without_password(text: &str) -> String {
    // A quoted password may contain spaces: drop everything from the
    // password key to the end of its (possibly quoted) value.
    let Some(start) = text.find("password") else {
        return text.to_string();
    };
    let value = text[start..]
        .split_once('=')
        .map_or("", |(_, value)| value)
        .trim_start();
    let value_len = if let Some(quoted) = value.strip_prefix('\'') {
        quoted.find('\'').map_or(value.len(), |end| end + 2)
    } else {
        value.find(' ').unwrap_or(value.len())
    };
    let tail_start = text.len() - value.len() + value_len;
    format!("{}{}", &text[..start], text[tail_start..].trim_start())
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_removed_from_urls() {
        assert_eq!(
            without_password("postgres://boxoffice:s3cret@127.0.0.1:34001/boxoffice"),
            "postgres://boxoffice@127.0.0.1:34001/boxoffice"
        );
        assert_eq!(
            without_password("postgresql://u:p@h/db?sslmode=disable&password=x&a=b"),
            "postgresql://u@h/db?sslmode=disable&a=b"
        );
        assert_eq!(
            without_password("postgres://boxoffice@127.0.0.1:34001/boxoffice"),
            "postgres://boxoffice@127.0.0.1:34001/boxoffice"
        );
        assert_eq!(
            without_password("postgres://h/db?password=x"),
            "postgres://h/db"
        );
    }

    #[test]
    fn passwords_are_removed_from_key_value_strings() {
        assert_eq!(
            without_password("host=h password=s3cret user=u"),
            "host=h user=u"
        );
        assert_eq!(
            without_password("host=h password='a b c' user=u"),
            "host=h user=u"
        );
        assert_eq!(without_password("host=h password=x"), "host=h");
        assert!(!without_password("nonsense s3cret").contains("s3cret"));
    }
}
