//! End-to-end checks over loopback HTTP (the sandbox has no HTTP client dependency, so a
//! minimal HTTP/1.1 client lives here), plus the pattern matcher and the scenarios.

use super::*;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let parsed = url::Url::parse(url).unwrap();
    let host = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        while let Some(pos) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..pos]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[pos + 2..pos + 2 + size]);
            rest = &rest[pos + 4 + size..];
        }
        body = decoded;
    }
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn now() -> i64 {
    oauth::now_secs()
}

/// Signs `claims` with the committed test key (RS256), or with garbage when `forge`.
fn sign(header: &Value, claims: &Value, forge: bool) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!(
        "{}.{}",
        engine.encode(header.to_string()),
        engine.encode(claims.to_string())
    );
    let pem: String = TEST_PRIVATE_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD.decode(pem).unwrap();
    let key = RsaKeyPair::from_pkcs8(&der).unwrap();
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut sig)
        .unwrap();
    if forge {
        sig[7] ^= 0x40;
    }
    format!("{input}.{}", engine.encode(sig))
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn all_scopes() -> Vec<String> {
    SimConfig::default().delegated_scopes
}

struct Tenant {
    server: crate::RunningServer,
}

impl Tenant {
    async fn start(scenario: Scenario, config: SimConfig) -> Tenant {
        Tenant {
            server: start(config, scenario, 0).await.unwrap(),
        }
    }

    async fn risky() -> Tenant {
        Tenant::start(scenarios::risky(), SimConfig::default()).await
    }

    fn base(&self) -> &str {
        &self.server.base_url
    }

    fn claims(&self, sub: &str, scopes: &[String]) -> Value {
        let iat = now();
        json!({"iss": CLIENT_EMAIL, "sub": sub, "scope": scopes.join(" "),
               "aud": format!("{}/token", self.base()), "iat": iat, "exp": iat + 3600})
    }

    async fn exchange(&self, assertion: &str) -> Reply {
        let body = form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ]);
        http("POST", &format!("{}/token", self.base()), &[FORM], body.as_bytes()).await
    }

    async fn token_for(&self, sub: &str, scopes: &[String]) -> String {
        let jwt = sign(
            &json!({"alg": "RS256", "typ": "JWT", "kid": PRIVATE_KEY_ID}),
            &self.claims(sub, scopes),
            false,
        );
        let reply = self.exchange(&jwt).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["access_token"].as_str().unwrap().to_string()
    }

    async fn token(&self) -> String {
        self.token_for(ADMIN_EMAIL, &all_scopes()).await
    }

    async fn get(&self, token: &str, path: &str) -> Reply {
        let auth = format!("Bearer {token}");
        http(
            "GET",
            &format!("{}{path}", self.base()),
            &[("Authorization", &auth)],
            b"",
        )
        .await
    }

    async fn stats(&self) -> Value {
        http("GET", &format!("{}/__sandbox/stats", self.base()), &[], b"")
            .await
            .json()
    }

    async fn control(&self, path: &str, body: Value) -> Reply {
        http(
            "POST",
            &format!("{}/__sandbox/{path}", self.base()),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    }

    async fn violations(&self) -> Vec<String> {
        serde_json::from_value(self.stats().await["violations"].clone()).unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Patterns

#[test]
fn patterns_match_as_google_describes_them() {
    let p = pattern::Pattern::new("C.+|my_customer").unwrap();
    assert!(p.full_match("C01abc234") && p.full_match("my_customer"));
    assert!(!p.full_match("x_customer") && !p.full_match("C") && !p.full_match("my_customers"));
    let time =
        pattern::Pattern::new(r"(\d\d\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:(Z)|([-+])(\d\d):(\d\d))")
            .unwrap();
    assert!(time.full_match("2026-03-01T08:14:52Z") && time.full_match("2026-03-01T08:14:52.123+01:00"));
    assert!(!time.full_match("2026-03-01") && !time.full_match("2026-03-01T08:14:52"));
    let filters = pattern::Pattern::new("(.+[<,<=,==,>=,>,<>].+,)*(.+[<,<=,==,>=,>,<>].+)").unwrap();
    assert!(filters.full_match("client_id==123") && filters.full_match("a==1,b<>2"));
    assert!(!filters.full_match("client_id"));
    let ou = pattern::Pattern::new("(id:[a-z0-9]+)").unwrap();
    assert!(ou.full_match("id:03ph8a2z3legal01") && !ou.full_match("id:ABC") && !ou.full_match("/Legal"));
    let name = pattern::Pattern::new("^policies/[^/]+$").unwrap();
    assert!(name.full_match("policies/abc") && !name.full_match("policies/a/b"));
    // Searches, as CEL's `matches` does.
    let gemini = pattern::Pattern::new(r"^settings/gemini_app\..*$").unwrap();
    assert!(gemini.search("settings/gemini_app.service_status"));
    assert!(!gemini.search("settings/gemini_appx.service_status"));
    assert!(pattern::Pattern::new("service_status")
        .unwrap()
        .search("settings/ai_studio.service_status"));
    assert!(pattern::Pattern::new("a{2,3}b").unwrap().full_match("aaab"));
    assert!(!pattern::Pattern::new("a{2,3}b").unwrap().full_match("ab"));
    assert!(pattern::Pattern::new("(").is_err() && pattern::Pattern::new("*a").is_err());
    // Nested stars stay linear.
    let nested = pattern::Pattern::new("(a*)*b").unwrap();
    assert!(!nested.full_match(&"a".repeat(5000)));
}

#[test]
fn every_discovery_pattern_compiles_and_the_methods_are_found() {
    let (m, vars) = discovery::find("GET", "/admin/directory/v1/users/dana%40example.com/tokens").unwrap();
    assert_eq!(m.id, "directory.tokens.list");
    assert_eq!(vars["userKey"], "dana@example.com");
    let (m, _) = discovery::find("GET", "/admin/directory/v1/customer/my_customer/roles/ALL/privileges").unwrap();
    assert_eq!(m.id, "directory.privileges.list");
    let (m, _) = discovery::find("GET", "/v1/policies").unwrap();
    assert_eq!(m.id, "cloudidentity.policies.list");
    let (m, vars) = discovery::find(
        "GET",
        "/admin/reports/v1/activity/users/all/applications/gemini_notebook",
    )
    .unwrap();
    assert_eq!(m.id, "reports.activities.list");
    assert_eq!(vars["applicationName"], "gemini_notebook");
    assert!(discovery::find("GET", "/admin/directory/v1/nothing").is_none());
}

// ---------------------------------------------------------------------------------------
// The token endpoint

#[tokio::test]
async fn a_signed_assertion_buys_a_token() {
    let t = Tenant::risky().await;
    let jwt = sign(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &t.claims(ADMIN_EMAIL, &read_scopes()),
        false,
    );
    let reply = t.exchange(&jwt).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["token_type"], "Bearer");
    let stats = t.stats().await;
    assert_eq!(stats["token_requests"], 1);
    assert_eq!(stats["tokens_scopes"][0], read_scopes().join(" "));
    // The token works.
    let token = body["access_token"].as_str().unwrap();
    let reply = t.get(token, "/admin/directory/v1/customers/my_customer").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["id"], "C01abc234");
    assert_eq!(reply.json()["kind"], "admin#directory#customer");
    assert_eq!(reply.json()["customerDomain"], "example.com");
}

#[tokio::test]
async fn bad_assertions_are_refused_with_googles_errors() {
    let t = Tenant::risky().await;
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let refusal = |reply: &Reply| {
        (
            reply.status,
            reply.json()["error"].clone(),
            reply.json()["error_description"].clone(),
        )
    };

    let reply = t
        .exchange(&sign(&header, &t.claims(ADMIN_EMAIL, &read_scopes()), true))
        .await;
    assert_eq!(
        refusal(&reply),
        (400, json!("invalid_grant"), json!("Invalid JWT Signature."))
    );

    let mut claims = t.claims(ADMIN_EMAIL, &read_scopes());
    claims["iss"] = json!("someone@else.iam.gserviceaccount.com");
    let reply = t.exchange(&sign(&header, &claims, false)).await;
    assert_eq!(
        refusal(&reply),
        (
            400,
            json!("invalid_grant"),
            json!("Invalid JWT: No valid verifier found for issuer.")
        )
    );

    let reply = t
        .exchange(&sign(&header, &t.claims("mallory@example.com", &read_scopes()), false))
        .await;
    assert_eq!(
        refusal(&reply),
        (400, json!("invalid_grant"), json!("Invalid email or User ID"))
    );

    let mut claims = t.claims(ADMIN_EMAIL, &read_scopes());
    claims["exp"] = json!(now() + 7200);
    let reply = t.exchange(&sign(&header, &claims, false)).await;
    assert_eq!(reply.status, 400);
    assert!(reply.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("short-lived token (60 minutes)"));
    let mut claims = t.claims(ADMIN_EMAIL, &read_scopes());
    claims["iat"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 3600);
    assert_eq!(
        t.exchange(&sign(&header, &claims, false)).await.json()["error"],
        "invalid_grant"
    );

    let mut claims = t.claims(ADMIN_EMAIL, &read_scopes());
    claims["aud"] = json!("https://oauth2.googleapis.com/token");
    assert_eq!(
        t.exchange(&sign(&header, &claims, false)).await.json()["error"],
        "invalid_grant"
    );

    let wrong_kid = json!({"alg": "RS256", "kid": "ffff"});
    let reply = t
        .exchange(&sign(&wrong_kid, &t.claims(ADMIN_EMAIL, &read_scopes()), false))
        .await;
    assert_eq!(reply.json()["error_description"], "Invalid JWT Signature.");

    let body = form(&[("grant_type", "client_credentials")]);
    let reply = http("POST", &format!("{}/token", t.base()), &[FORM], body.as_bytes()).await;
    assert_eq!(
        refusal(&reply),
        (
            400,
            json!("unsupported_grant_type"),
            json!("Invalid grant_type: client_credentials")
        )
    );
    assert!(t.stats().await["tokens_scopes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn undelegated_scopes_are_unauthorized_client() {
    let t = Tenant::risky().await;
    let mut scopes = read_scopes();
    scopes.push("https://www.googleapis.com/auth/admin.directory.user".into());
    let reply = t
        .exchange(&sign(&json!({"alg": "RS256"}), &t.claims(ADMIN_EMAIL, &scopes), false))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json(),
        json!({"error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."})
    );

    // Revoking the tokens scope from the grant: the next token asking for it is refused.
    let reply = t.control("revoke_delegation", json!({"scopes": [TOKENS_SCOPE]})).await;
    assert_eq!(reply.status, 200);
    assert!(!reply.body.contains("admin.directory.user.security"));
    let reply = t
        .exchange(&sign(
            &json!({"alg": "RS256"}),
            &t.claims(ADMIN_EMAIL, &[TOKENS_SCOPE.to_string()]),
            false,
        ))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "unauthorized_client");
    t.token_for(ADMIN_EMAIL, &read_scopes()).await;
}

// ---------------------------------------------------------------------------------------
// Every API request

#[tokio::test]
async fn requests_need_a_live_token() {
    let t = Tenant::risky().await;
    let reply = t
        .get("ya29.nonsense", "/admin/directory/v1/users?customer=my_customer")
        .await;
    assert_eq!(reply.status, 401);
    let body = reply.json();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(body["error"]["errors"][0]["reason"], "authError");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Request had invalid authentication credentials."));
    let token = t.token().await;
    assert_eq!(
        t.get(&token, "/admin/directory/v1/users?customer=my_customer")
            .await
            .status,
        200
    );
    t.control("expire_tokens", json!({})).await;
    assert_eq!(
        t.get(&token, "/admin/directory/v1/users?customer=my_customer")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn parameters_are_held_to_the_discovery_documents() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let reply = t
        .get(&token, "/admin/directory/v1/users?customer=my_customer&maxResults=501")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["errors"][0]["reason"], "invalid");
    assert!(reply.body.contains("[1, 500]"), "{}", reply.body);
    let reply = t
        .get(&token, "/admin/directory/v1/users?customer=my_customer&colour=blue")
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("Unknown name \\\"colour\\\""), "{}", reply.body);
    let reply = t
        .get(&token, "/admin/directory/v1/users?customer=my_customer&orderBy=age")
        .await;
    assert_eq!(reply.status, 400);
    let long = "q".repeat(41);
    let reply = t
        .get(
            &token,
            &format!("/admin/directory/v1/users?customer=my_customer&quotaUser={long}"),
        )
        .await;
    assert_eq!(reply.status, 400);
    let reply = t
        .get(&token, "/admin/directory/v1/users?customer=my_customer&quotaUser=104729385610473829156&fields=users(primaryEmail),nextPageToken&prettyPrint=false")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Partial response: only the selected fields.
    assert_eq!(
        reply.json()["users"][0],
        json!({"primaryEmail": "it-admin@example.com"})
    );
    assert!(reply.json().get("kind").is_none());
    let reply = t
        .get(
            &token,
            "/admin/directory/v1/customer/my_customer/orgunits?type=all_including_parent",
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(t.get(&token, "/admin/directory/v1/frobnicate").await.status, 404);
    let violations = t.violations().await;
    assert_eq!(violations.len(), 6, "{violations:#?}");
    assert!(violations[0].contains("maxResults=501"));
    assert!(violations[4].contains("all_including_parent"));
}

#[tokio::test]
async fn tokens_list_needs_the_tokens_scope() {
    let t = Tenant::risky().await;
    let token = t.token_for(ADMIN_EMAIL, &read_scopes()).await;
    let reply = t
        .get(&token, "/admin/directory/v1/users/dana.ortiz@example.com/tokens")
        .await;
    assert_eq!(reply.status, 403);
    let body = reply.json();
    assert_eq!(body["error"]["errors"][0]["reason"], "insufficientPermissions");
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(body["error"]["details"][0]["reason"], "ACCESS_TOKEN_SCOPE_INSUFFICIENT");
    assert_eq!(
        reply.header("www-authenticate").unwrap(),
        "Bearer realm=\"https://accounts.google.com/\", error=insufficient_scope, scope=\"https://www.googleapis.com/auth/admin.directory.user.security\""
    );
    assert_eq!(t.violations().await.len(), 1);
}

#[tokio::test]
async fn writes_are_refused_and_counted() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let auth = format!("Bearer {token}");
    let url = format!(
        "{}/admin/directory/v1/users/dana.ortiz@example.com/tokens/{}",
        t.base(),
        scenarios::MEETNOTES_CLIENT_ID
    );
    let reply = http("DELETE", &url, &[("Authorization", &auth)], b"").await;
    assert_eq!(reply.status, 403);
    let reply = http(
        "POST",
        &format!("{}/v1/policies", t.base()),
        &[("Authorization", &auth)],
        b"{}",
    )
    .await;
    assert_eq!(reply.status, 403);
    let stats = t.stats().await;
    assert_eq!(stats["writes"], 2);
    assert_eq!(stats["violations"].as_array().unwrap().len(), 2);
    assert_eq!(stats["requests_by_api"]["directory"], 1);
    assert_eq!(stats["requests_by_api"]["policies"], 1);
    // The grant is still there.
    let reply = t
        .get(&token, "/admin/directory/v1/users/dana.ortiz@example.com/tokens")
        .await;
    assert_eq!(reply.json()["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn throttling_has_each_apis_shape() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    for api in ["directory", "reports", "policies"] {
        assert_eq!(t.control("throttle", json!({"api": api, "count": 1})).await.status, 204);
    }
    let reply = t.get(&token, "/admin/directory/v1/users?customer=my_customer").await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["error"]["errors"][0]["reason"], "userRateLimitExceeded");
    assert_eq!(reply.json()["error"]["errors"][0]["domain"], "usageLimits");
    let reply = t
        .get(&token, "/admin/reports/v1/activity/users/all/applications/admin")
        .await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["error"]["errors"][0]["reason"], "backendError");
    let reply = t.get(&token, "/v1/policies").await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(reply.json()["error"]["details"][0]["reason"], "RATE_LIMIT_EXCEEDED");
    // Only `count` requests: the retries pass.
    assert_eq!(
        t.get(&token, "/admin/directory/v1/users?customer=my_customer")
            .await
            .status,
        200
    );
    assert_eq!(
        t.get(&token, "/admin/reports/v1/activity/users/all/applications/admin")
            .await
            .status,
        200
    );
    assert_eq!(t.get(&token, "/v1/policies").await.status, 200);
    let stats = t.stats().await;
    assert_eq!(stats["throttled"], 3);
    assert_eq!(stats["requests"], 6);
    assert!(stats["violations"].as_array().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------
// Directory

#[tokio::test]
async fn users_page_through_every_user() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let mut emails = Vec::new();
    let mut page_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/admin/directory/v1/users?customer=my_customer&maxResults=2&orderBy=email".to_string();
        if let Some(p) = &page_token {
            path.push_str(&format!("&pageToken={p}"));
        }
        let body = t.get(&token, &path).await.json();
        assert_eq!(body["kind"], "admin#directory#users");
        pages += 1;
        for u in body["users"].as_array().unwrap() {
            assert_eq!(u["kind"], "admin#directory#user");
            emails.push(u["primaryEmail"].as_str().unwrap().to_string());
        }
        match body["nextPageToken"].as_str() {
            Some(next) => page_token = Some(next.to_string()),
            None => break,
        }
    }
    let scenario = scenarios::risky();
    assert_eq!(emails.len(), scenario.users.len());
    assert_eq!(pages, scenario.users.len().div_ceil(2));
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted);
    // A page token is bound to its request.
    let reply = t
        .get(
            &token,
            &format!(
                "/admin/directory/v1/groups?customer=my_customer&pageToken={}",
                page_token.unwrap()
            ),
        )
        .await;
    assert_eq!(reply.status, 400);
    // query
    let body = t
        .get(
            &token,
            "/admin/directory/v1/users?customer=my_customer&query=orgUnitPath%3D%27%2FLegal%27",
        )
        .await
        .json();
    assert_eq!(body["users"].as_array().unwrap().len(), 3);
    let body = t
        .get(
            &token,
            "/admin/directory/v1/users?customer=my_customer&query=isAdmin%3Dtrue",
        )
        .await
        .json();
    assert_eq!(body["users"][0]["primaryEmail"], ADMIN_EMAIL);
    assert_eq!(t.get(&token, "/admin/directory/v1/users").await.status, 400);
}

#[tokio::test]
async fn tokens_list_shows_grants_and_omits_items_without_any() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let body = t
        .get(&token, "/admin/directory/v1/users/it-admin@example.com/tokens")
        .await
        .json();
    assert_eq!(body["kind"], "admin#directory#tokenList");
    let items = body["items"].as_array().unwrap();
    let meetnotes = items
        .iter()
        .find(|i| i["displayText"] == "MeetNotes AI Assistant")
        .unwrap();
    assert_eq!(meetnotes["kind"], "admin#directory#token");
    assert_eq!(meetnotes["userKey"], scenarios::ADMIN_USER_ID);
    assert!(meetnotes["scopes"]
        .as_array()
        .unwrap()
        .contains(&json!("https://mail.google.com/")));
    // By numeric id as well.
    let body = t
        .get(
            &token,
            &format!("/admin/directory/v1/users/{}/tokens", scenarios::DANA_USER_ID),
        )
        .await
        .json();
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let body = t
        .get(&token, "/admin/directory/v1/users/nina.patel@example.com/tokens")
        .await
        .json();
    assert!(body.get("items").is_none(), "{body}");
    assert!(body["etag"].is_string());
    let reply = t
        .get(&token, "/admin/directory/v1/users/ghost@example.com/tokens")
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        json!({"error": {"code": 404, "message": "Resource Not Found: userKey", "errors": [
            {"message": "Resource Not Found: userKey", "domain": "global", "reason": "notFound"}]}})
    );
    let sidekick = t
        .get(&token, "/admin/directory/v1/users/omar.haddad@example.com/tokens")
        .await
        .json();
    assert_eq!(sidekick["items"][0]["anonymous"], true);
    assert_eq!(sidekick["items"][0]["nativeApp"], true);
}

#[tokio::test]
async fn roles_assignments_orgunits_and_groups() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let roles = t
        .get(&token, "/admin/directory/v1/customer/my_customer/roles")
        .await
        .json();
    let seed = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["roleName"] == "_SEED_ADMIN_ROLE")
        .unwrap();
    assert_eq!(seed["isSuperAdminRole"], true);
    assert_eq!(seed["isSystemRole"], true);
    assert_eq!(
        t.get(&token, "/admin/directory/v1/customer/my_customer/roles?maxResults=101")
            .await
            .status,
        400
    );

    let ra = t
        .get(
            &token,
            "/admin/directory/v1/customer/my_customer/roleassignments?maxResults=200",
        )
        .await
        .json();
    let items = ra["items"].as_array().unwrap();
    assert!(items
        .iter()
        .all(|a| a["assigneeType"] == "user" || a["assigneeType"] == "group"));
    assert!(items
        .iter()
        .any(|a| a["assigneeType"] == "group" && a["assignedTo"] == scenarios::AI_PILOT_GROUP_ID));
    assert!(items.iter().any(|a| a["expirationDetails"]["expireTime"].is_string()));
    assert_eq!(
        t.get(
            &token,
            "/admin/directory/v1/customer/my_customer/roleassignments?maxResults=201"
        )
        .await
        .status,
        400
    );
    // Indirect: Priya is in the pilot group.
    let ra = t
        .get(&token, "/admin/directory/v1/customer/my_customer/roleassignments?userKey=priya.shah@example.com&includeIndirectRoleAssignments=true")
        .await
        .json();
    assert_eq!(ra["items"][0]["assignedTo"], scenarios::AI_PILOT_GROUP_ID);

    let ous = t
        .get(
            &token,
            "/admin/directory/v1/customer/my_customer/orgunits?type=allIncludingParent",
        )
        .await
        .json();
    let units = ous["organizationUnits"].as_array().unwrap();
    assert_eq!(units.len(), 4);
    assert!(units
        .iter()
        .any(|u| u["orgUnitPath"] == "/" && u["name"] == "Example Corp"));
    assert!(units
        .iter()
        .all(|u| u["orgUnitId"].as_str().unwrap().starts_with("id:")));
    let legal = units.iter().find(|u| u["orgUnitPath"] == "/Legal").unwrap();
    assert_eq!(legal["parentOrgUnitId"], format!("id:{}", scenarios::ROOT_OU_ID));
    let all = t
        .get(&token, "/admin/directory/v1/customer/my_customer/orgunits?type=all")
        .await
        .json();
    assert_eq!(all["organizationUnits"].as_array().unwrap().len(), 3);
    assert!(all.get("nextPageToken").is_none());

    let groups = t
        .get(&token, "/admin/directory/v1/groups?customer=my_customer")
        .await
        .json();
    assert!(groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["email"] == "ai-pilot@example.com"));
    assert_eq!(
        t.get(&token, "/admin/directory/v1/groups?customer=my_customer&maxResults=201")
            .await
            .status,
        400
    );
    let domains = t
        .get(&token, "/admin/directory/v1/customer/my_customer/domains")
        .await
        .json();
    assert_eq!(domains["domains"][0]["domainName"], "example.com");
    assert_eq!(
        t.get(&token, "/admin/directory/v1/customers/C99other").await.status,
        403
    );
}

// ---------------------------------------------------------------------------------------
// Reports

fn reports(app: &str, query: &str) -> String {
    format!("/admin/reports/v1/activity/users/all/applications/{app}{query}")
}

#[tokio::test]
async fn reports_check_the_application_and_come_newest_first() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let reply = t.get(&token, &reports("gemini", "")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(t.violations().await.len(), 1);
    let body = t.get(&token, &reports("gemini_notebook", "")).await.json();
    let items = body["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["events"][0]["type"] == "notebook_activity"));
    assert!(items.iter().any(|i| {
        i["resourceDetails"][0]["title"] == "Q3 board prep"
            && i["events"][0]["parameters"]
                .as_array()
                .unwrap()
                .contains(&json!({"name": "visibility", "value": "public"}))
    }));
    for app in [
        "workspace_studio",
        "gemini_in_workspace_apps",
        "admin",
        "token",
        "access_evaluation",
        "drive",
    ] {
        assert_eq!(t.get(&token, &reports(app, "")).await.status, 200, "{app}");
    }
    let admin = t.get(&token, &reports("admin", "")).await.json();
    let times: Vec<&str> = admin["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"]["time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    assert_eq!(admin["kind"], "admin#reports#activities");
    assert_eq!(admin["items"][0]["kind"], "admin#reports#activity");
    assert!(admin["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["networkInfo"]["regionCode"] == "US"));
    // The per-edition fan-out of one change (§8.4).
    let bard = t
        .get(&token, &reports("admin", "?eventName=CHANGE_APPLICATION_SETTING&filters=SETTING_NAME%3D%3DBardNonDuetEnablementProto%20enable_bard_non_duet_access"))
        .await
        .json();
    let bard = bard["items"].as_array().unwrap();
    assert_eq!(bard.len(), 5);
    assert_eq!(
        bard.iter()
            .filter(|i| i.to_string().contains("APPLICATION_EDITION"))
            .count(),
        4
    );
    // A parameter the event does not have: an empty report.
    let empty = t
        .get(
            &token,
            &reports(
                "admin",
                "?eventName=AUTHORIZE_API_CLIENT_ACCESS&filters=SETTING_NAME%3D%3Dx",
            ),
        )
        .await
        .json();
    assert!(empty.get("items").is_none(), "{empty}");
    let dwd = t
        .get(&token, &reports("admin", "?eventName=AUTHORIZE_API_CLIENT_ACCESS"))
        .await
        .json();
    assert_eq!(dwd["items"].as_array().unwrap().len(), 1);
    assert!(dwd.to_string().contains(scenarios::DWD_CLIENT_ID));
    assert_eq!(t.get(&token, &reports("admin", "?maxResults=1001")).await.status, 400);
    assert_eq!(
        t.get(&token, &reports("admin", "?startTime=yesterday")).await.status,
        400
    );
}

#[tokio::test]
async fn reports_filter_by_time_user_and_agent() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let gemini = t.get(&token, &reports("gemini_in_workspace_apps", "")).await.json();
    let items = gemini["items"].as_array().unwrap();
    let agentic: Vec<&Value> = items.iter().filter(|i| i["isAgenticAction"] == true).collect();
    assert_eq!(agentic.len(), 3);
    for a in &agentic {
        let info = &a["actor"]["agentAttributionInfo"];
        assert_eq!(info["agentId"], "agent-7f3a");
        assert_eq!(info["agentName"], "Inbox Triage Agent");
        assert_eq!(info["agentType"], "WORKSPACE_FLOW");
        assert_eq!(info["agentOwner"]["email"], "contractor@partner.example");
        assert!(a["resourceDetails"][0]["title"].is_string());
    }
    let by_agent = t
        .get(
            &token,
            &reports(
                "gemini_in_workspace_apps",
                "?agentInfoFilter=agentId%3D%22agent-7f3a%22",
            ),
        )
        .await
        .json();
    assert_eq!(by_agent["items"].as_array().unwrap().len(), 3);
    let since = (chrono::Utc::now() - chrono::Duration::days(4)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recent = t
        .get(
            &token,
            &reports("gemini_in_workspace_apps", &format!("?startTime={since}")),
        )
        .await
        .json();
    let recent = recent["items"].as_array().unwrap();
    assert!(!recent.is_empty() && recent.len() < items.len());
    let dana = t
        .get(
            &token,
            "/admin/reports/v1/activity/users/dana.ortiz@example.com/applications/gemini_in_workspace_apps",
        )
        .await
        .json();
    assert!(dana["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["actor"]["email"] == "dana.ortiz@example.com"));
    // Paging.
    let first = t.get(&token, &reports("token", "?maxResults=2")).await.json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["nextPageToken"].as_str().unwrap();
    let second = t
        .get(&token, &reports("token", &format!("?maxResults=2&pageToken={next}")))
        .await
        .json();
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    let dwd = t
        .get(
            &token,
            &reports(
                "access_evaluation",
                "?eventName=allow_token_impersonation&filters=configuration_source%3D%3DDOMAIN_WIDE_DELEGATION",
            ),
        )
        .await
        .json();
    assert_eq!(
        dwd["items"][0]["actor"]["applicationInfo"]["oauthClientId"],
        scenarios::DWD_CLIENT_ID
    );
    assert!(t.violations().await.is_empty());
}

// ---------------------------------------------------------------------------------------
// Policies

#[tokio::test]
async fn policies_page_at_50_by_default_and_100_at_most() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let total = scenarios::risky().policies.len();
    assert!(total > 100, "{total}");
    let first = t.get(&token, "/v1/policies").await.json();
    assert_eq!(first["policies"].as_array().unwrap().len(), 50);
    let big = t.get(&token, "/v1/policies?pageSize=500").await.json();
    assert_eq!(big["policies"].as_array().unwrap().len(), 100);
    let mut seen = big["policies"].as_array().unwrap().len();
    let next = big["nextPageToken"].as_str().unwrap();
    let rest = t
        .get(&token, &format!("/v1/policies?pageSize=500&pageToken={next}"))
        .await
        .json();
    seen += rest["policies"].as_array().unwrap().len();
    assert!(rest.get("nextPageToken").is_none());
    assert_eq!(seen, total);
    let p = &first["policies"][0];
    assert_eq!(p["customer"], "customers/C01abc234");
    assert!(p["name"].as_str().unwrap().starts_with("policies/"));
    assert!(p["policyQuery"]["sortOrder"].is_number());
    // The policy's own URL.
    let one = t
        .get(&token, &format!("/v1/{}", p["name"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(one["name"], p["name"]);
    // A page token of another filter.
    let reply = t
        .get(
            &token,
            &format!("/v1/policies?filter=setting.type.matches('gmail')&pageToken={next}"),
        )
        .await;
    assert_eq!(reply.status, 400);
}

fn encode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[tokio::test]
async fn policy_filters_combine_with_and_or_not_and_parentheses() {
    let t = Tenant::risky().await;
    let token = t.token().await;
    let types = |body: &Value| -> Vec<String> {
        body["policies"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|p| p["setting"]["type"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let filter = r#"customer == "customers/my_customer" && (setting.type.matches('^settings/gemini_app\\..*$') || setting.type.matches("^settings/notebooklm\..*$"))"#;
    let body = t
        .get(&token, &format!("/v1/policies?filter={}", encode(filter)))
        .await
        .json();
    let mut got = types(&body);
    got.sort();
    assert_eq!(
        got,
        [
            "settings/gemini_app.service_status",
            "settings/notebooklm.service_status"
        ]
    );
    let filter = "setting.type.matches('drive_and_docs.*') && !setting.type.matches('service_status$')";
    let body = t
        .get(&token, &format!("/v1/policies?filter={}", encode(filter)))
        .await
        .json();
    let got = types(&body);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got
        .iter()
        .all(|g| g.starts_with("settings/drive_and_docs.") && !g.ends_with("service_status")));
    let filter = "customer == \"customers/C01abc234\" && setting.type.matches('^settings/early_access_apps')";
    let body = t
        .get(&token, &format!("/v1/policies?filter={}", encode(filter)))
        .await
        .json();
    let group = body["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policyQuery"]["group"].is_string())
        .unwrap();
    assert_eq!(group["policyQuery"]["group"], "groups/02xcytpi2aipilot");
    assert_eq!(
        group["policyQuery"]["orgUnit"],
        format!("orgUnits/{}", scenarios::ROOT_OU_ID)
    );
    assert!(t.violations().await.is_empty());
    let reply = t
        .get(
            &token,
            &format!("/v1/policies?filter={}", encode("setting.type.matches('x' ||")),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["status"], "INVALID_ARGUMENT");
    let reply = t
        .get(
            &token,
            &format!("/v1/policies?filter={}", encode("customer == \"customers/C999\"")),
        )
        .await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn policies_answer_super_admins_only() {
    let t = Tenant::risky().await;
    let token = t.token_for("dana.ortiz@example.com", &all_scopes()).await;
    let reply = t.get(&token, "/v1/policies").await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.json(),
        json!({"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}})
    );
    // Dana is a delegated admin: the Directory answers her.
    assert_eq!(
        t.get(&token, "/admin/directory/v1/users?customer=my_customer")
            .await
            .status,
        200
    );
    let token = t.token_for("nina.patel@example.com", &all_scopes()).await;
    assert_eq!(
        t.get(&token, "/admin/directory/v1/users?customer=my_customer")
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn blank_policy_pages_and_the_minimum_interval() {
    let config = SimConfig {
        policy_page_blank_pages: true,
        ..SimConfig::default()
    };
    let t = Tenant::start(scenarios::risky(), config).await;
    let token = t.token().await;
    let total = scenarios::risky().policies.len();
    let mut path = "/v1/policies?pageSize=100".to_string();
    let mut pages = Vec::new();
    loop {
        let body = t.get(&token, &path).await.json();
        let next = body["nextPageToken"].as_str().map(str::to_string);
        pages.push(body["policies"].as_array().map_or(0, Vec::len));
        match next {
            Some(next) => path = format!("/v1/policies?pageSize=100&pageToken={next}"),
            None => break,
        }
    }
    assert_eq!(pages, vec![100, total - 100, 0, 0]);

    let config = SimConfig {
        min_policy_interval_ms: 60_000,
        ..SimConfig::default()
    };
    let t = Tenant::start(scenarios::risky(), config).await;
    let token = t.token().await;
    assert_eq!(t.get(&token, "/v1/policies").await.status, 200);
    let reply = t.get(&token, "/v1/policies").await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.json()["error"]["status"], "RESOURCE_EXHAUSTED");
}

// ---------------------------------------------------------------------------------------
// Scenarios and the connection

#[test]
fn the_scenarios_say_what_the_brief_asks() {
    let risky = scenarios::risky();
    let admin = risky.user_by_email(ADMIN_EMAIL).unwrap();
    assert!(admin.is_admin && admin.org_unit_path == "/");
    assert!(
        risky
            .user_by_email("dana.ortiz@example.com")
            .unwrap()
            .is_delegated_admin
    );
    assert_eq!(risky.users.iter().filter(|u| u.suspended).count(), 1);
    let meetnotes = risky
        .apps
        .iter()
        .position(|a| a.name == "MeetNotes AI Assistant")
        .unwrap();
    assert!(risky.users.iter().filter(|u| u.tokens.contains(&meetnotes)).count() >= 6);
    let setting = |s: &Scenario, t: &str| -> Vec<Value> {
        s.policies
            .iter()
            .filter(|p| p.setting_type == format!("settings/{t}"))
            .map(|p| p.value.clone())
            .collect()
    };
    assert_eq!(
        setting(&risky, "gemini_app.service_status"),
        vec![json!({"serviceState": "ENABLED"})]
    );
    assert!(risky
        .policies
        .iter()
        .any(|p| p.group.as_deref() == Some("WORKSPACE_ALL_ADMIN_GROUP")));
    let clean = scenarios::clean();
    assert_eq!(
        setting(&clean, "gemini_app.service_status"),
        vec![json!({"serviceState": "DISABLED"}), json!({"serviceState": "ENABLED"})]
    );
    assert!(clean
        .users
        .iter()
        .flat_map(|u| &u.tokens)
        .all(|&a| clean.apps[a].name == "Zoom for Google Workspace"));
    assert!(clean.activities.iter().all(|a| a.agent.is_none()));
    let visibilities = |s: &Scenario| -> Vec<String> {
        s.activities
            .iter()
            .filter(|a| a.application == "gemini_notebook")
            .flat_map(|a| &a.events[0].parameters)
            .filter(|p| p.name == "visibility")
            .map(|p| format!("{:?}", p.value))
            .collect()
    };
    assert!(visibilities(&risky).iter().any(|v| v.contains("public")));
    assert!(visibilities(&clean).iter().all(|v| v.contains("private")));
    assert!(!format!("{:?}", clean.activities).contains(scenarios::DWD_CLIENT_ID));
    // uniqueQualifier is an int64 (discovery `format: int64`).
    assert!(risky
        .activities
        .iter()
        .all(|a| a.unique_qualifier.parse::<i64>().is_ok()));
}

#[test]
fn generated_tenants_are_cheap_and_deterministic() {
    let started = std::time::Instant::now();
    let big = scenarios::generated(20_000);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(big.users.len(), 20_000);
    assert!(big.user_by_email(ADMIN_EMAIL).unwrap().is_admin);
    let ai = big
        .users
        .iter()
        .filter(|u| {
            u.tokens
                .iter()
                .any(|&a| big.apps[a].name != "Zoom for Google Workspace")
        })
        .count();
    assert!((1_800..=2_200).contains(&ai), "{ai}");
    let again = scenarios::generated(20_000);
    assert_eq!(big.users[12_345].email, again.users[12_345].email);
    assert_eq!(big.users[12_345].id, again.users[12_345].id);
    assert!(scenarios::by_name("generated:50").is_some_and(|s| s.users.len() == 50));
}

#[tokio::test]
async fn a_generated_tenant_pages_500_users_at_a_time() {
    let t = Tenant::start(scenarios::generated(1_200), SimConfig::default()).await;
    let token = t.token().await;
    let body = t
        .get(&token, "/admin/directory/v1/users?customer=my_customer&maxResults=500")
        .await
        .json();
    assert_eq!(body["users"].as_array().unwrap().len(), 500);
    assert!(body["nextPageToken"].is_string());
}

#[tokio::test]
async fn the_simulated_connection_holds_a_real_looking_key_file() {
    let connection = simulated_connection("risky").await.unwrap();
    assert_eq!(connection.provider, "google_workspace");
    assert_eq!(connection.vendor, "Google Workspace");
    let base = connection.server.base_url.clone();
    assert_eq!(connection.label, format!("Google Workspace example.com ({base})"));
    assert_eq!(connection.settings["admin_email"], ADMIN_EMAIL);
    assert_eq!(connection.settings["customer_id"], "my_customer");
    assert_eq!(connection.settings["api_base_url"], base);
    let key: Value = serde_json::from_str(&connection.secrets["service_account_key"]).unwrap();
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["client_email"], CLIENT_EMAIL);
    assert_eq!(key["client_id"], CLIENT_ID);
    assert_eq!(key["private_key_id"], PRIVATE_KEY_ID);
    assert_eq!(key["token_uri"], format!("{base}/token"));
    assert!(key["private_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(simulated_connection("nope").await.is_err());
}
