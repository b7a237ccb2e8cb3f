//! Every secret file a configuration names, so that `check` can say, offline, that each exists
//! and is readable (never what it holds) and where it looked.

use std::path::PathBuf;

use super::{Config, EmailTransport, EndpointAuth, SecretFile, Transport};

/// Each `*_file` secret the configuration names, with its key (entries named by id).
pub fn secret_files(c: &Config) -> Vec<SecretFile> {
    let mut out = Vec::new();
    let mut add = |key: String, path: Option<&PathBuf>| {
        if let Some(path) = path {
            out.push(SecretFile {
                key,
                path: path.clone(),
            });
        }
    };
    add(
        "database.password_file".into(),
        c.database.password_file.as_ref().map(|f| &f.path),
    );
    for k in &c.connectors {
        let at = |rest: &str| format!("connector \"{}\".{rest}", k.id);
        match &k.transport {
            Transport::Folder(_) => {}
            Transport::Sftp(s) => {
                add(at("sftp.private_key_file"), s.private_key_file.as_ref());
                add(
                    at("sftp.private_key_passphrase_file"),
                    s.private_key_passphrase_file.as_ref(),
                );
                add(at("sftp.password_file"), s.password_file.as_ref());
            }
            Transport::Imap(i) => {
                add(at("imap.password_file"), i.password_file.as_ref());
                let oauth = i.oauth2.as_ref().and_then(|o| o.client_secret_file.as_ref());
                add(at("imap.oauth2.client_secret_file"), oauth);
            }
            Transport::Http(h) => {
                add(at("http.token_file"), h.token_file.as_ref());
                add(at("http.api_key_file"), h.api_key_file.as_ref());
                add(at("http.password_file"), h.password_file.as_ref());
                let oauth = h.oauth2.as_ref().and_then(|o| o.client_secret_file.as_ref());
                add(at("http.oauth2.client_secret_file"), oauth);
            }
        }
    }
    if let Some(tls) = &c.http.tls {
        add("http.tls_cert_file".into(), Some(&tls.cert.path));
        add("http.tls_key_file".into(), Some(&tls.key.path));
    }
    for e in &c.endpoints {
        let at = |rest: &str| format!("endpoint \"{}\".auth.{rest}", e.id);
        match &e.auth {
            EndpointAuth::None => {}
            EndpointAuth::Bearer { token } => add(at("token_file"), Some(&token.path)),
            EndpointAuth::ApiKey { key, .. } => add(at("key_file"), Some(&key.path)),
            EndpointAuth::Basic { password, .. } => add(at("password_file"), Some(&password.path)),
            EndpointAuth::OAuth2 { client_secret, .. } => {
                add(at("oauth2.client_secret_file"), Some(&client_secret.path));
            }
        }
    }
    if let Some(EmailTransport::Smtp(smtp)) = c.email.as_ref().map(|e| &e.transport) {
        add(
            "email.password_file".into(),
            smtp.password_file.as_ref().map(|f| &f.path),
        );
        let oauth = smtp.oauth.as_ref().map(|o| &o.client_secret_file.path);
        add("email.oauth2.client_secret_file".into(), oauth);
    }
    if let Some(mis) = &c.mis {
        out.push(mis.token.clone());
    }
    out
}
