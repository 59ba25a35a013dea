//! The office dashboard as a browser sees it (relay scenarios, several relays).

#[derive(Debug)]
/// A browser-like HTTP client: keeps the session cookie, does not follow redirects.
pub struct Browser {
    pub agent: ureq::Agent,
    pub base: String,
    /// The cookies the relay set, name → value (session, sign-in form token, language).
    pub jar: std::collections::BTreeMap<String, String>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Browser {
            agent,
            base: base.to_owned(),
            jar: Default::default(),
        }
    }

    pub fn cookie(&self) -> Option<String> {
        (!self.jar.is_empty()).then(|| {
            self.jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub fn keep(&mut self, headers: &ureq::http::HeaderMap) {
        for c in headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            if let Some((k, v)) = c.split(';').next().and_then(|kv| kv.split_once('=')) {
                if v.is_empty() {
                    self.jar.remove(k);
                } else {
                    self.jar.insert(k.to_owned(), v.to_owned());
                }
            }
        }
    }

    pub fn get(&mut self, path: &str) -> (u16, String, ureq::http::HeaderMap) {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = self.cookie() {
            req = req.header("Cookie", c);
        }
        let mut r = req.call().unwrap();
        let headers = r.headers().clone();
        self.keep(&headers);
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
            headers,
        )
    }

    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = self.cookie() {
            req = req.header("Cookie", c);
        }
        let mut r = req.call().unwrap();
        (
            r.status().as_u16(),
            r.body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_vec()
                .unwrap_or_default(),
        )
    }

    pub fn post(&mut self, path: &str, form: &str) -> (u16, String, ureq::http::HeaderMap) {
        let mut req = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = self.cookie() {
            req = req.header("Cookie", c);
        }
        let mut r = req.send(form).unwrap();
        let headers = r.headers().clone();
        self.keep(&headers);
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
            headers,
        )
    }

    /// Signs in through the form, as a browser does: the form's token comes with the page.
    pub fn login_page(&mut self, user: &str, password: &str) -> (u16, String) {
        let (_, form, _) = self.get("/login");
        let at = form
            .find("name=\"nonce\" value=\"")
            .expect("the sign-in form's token")
            + 20;
        let nonce = form[at..at + 32].to_owned();
        let (status, body, _) = self.post(
            "/login",
            &format!(
                "nonce={nonce}&user={user}&password={}",
                password.replace(' ', "+")
            ),
        );
        (status, body)
    }

    pub fn login(&mut self, user: &str, password: &str) -> u16 {
        self.login_page(user, password).0
    }
}

/// A multipart form as a browser sends it: (name, file name for a file field, bytes).
pub fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----gridsafe-test-boundary-7d1c";
    let mut body = Vec::new();
    for (name, file, bytes) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// An owner's after photo sent from the page at `url` (status, body; redirects not followed).
pub fn owner_post(url: &str, hazard: &str, photo: &[u8], note: &str) -> (u16, String) {
    let (ct, body) = multipart(&[
        ("hazard", None, hazard.as_bytes()),
        ("note", None, note.as_bytes()),
        ("photo", Some("after.jpg"), photo),
    ]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    match agent
        .post(&format!("{url}/report"))
        .header("Content-Type", &ct)
        .send(&body[..])
    {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        // The relay may answer a too-large body and close before the client has sent it all.
        Err(e) => (0, e.to_string()),
    }
}

/// The owner's page at `url` (status, body).
pub fn owner_get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut r = agent.get(url).call().unwrap();
    (
        r.status().as_u16(),
        r.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// `s` percent-encoded for a query string or form body (every byte but ASCII letters and digits).
/// The value of the form field `name` on `page` (a hidden input's token, a field's typed text).
pub fn form_field(page: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + key.len();
    page[at..].split('"').next().unwrap_or_default().to_owned()
}

pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
