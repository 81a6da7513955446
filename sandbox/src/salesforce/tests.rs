//! End-to-end checks over loopback HTTP: both hosts, the grants, every request the
//! connector sends (its query list, kept here as `CONNECTOR_QUERIES`), paging, limits,
//! composite, SOAP and RDAP.

use super::*;
use base64::Engine;
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

/// A minimal HTTP/1.1 client (the sandbox crate has no HTTP client dependency).
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

fn assertion(consumer_key: &str, sub: &str, aud: &str, exp_in: i64) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + exp_in;
    let claims = json!({"iss": consumer_key, "sub": sub, "aud": aud, "exp": exp});
    let input = format!(
        "{}.{}",
        engine.encode(json!({"alg": "RS256"}).to_string()),
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

struct Org {
    servers: Servers,
    config: SimConfig,
}

impl Org {
    async fn start(scenario: &str, config: SimConfig) -> Org {
        let servers = start(config.clone(), scenarios::by_name(scenario).unwrap(), 0)
            .await
            .unwrap();
        Org { servers, config }
    }

    fn login(&self) -> &str {
        &self.servers.login.base_url
    }

    fn instance(&self) -> &str {
        &self.servers.instance.base_url
    }

    async fn jwt_token(&self) -> Value {
        let jwt = assertion(&self.config.consumer_key, scenarios::USERNAME_READER, self.login(), 120);
        let body = form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &jwt),
        ]);
        let reply = http(
            "POST",
            &format!("{}/services/oauth2/token", self.login()),
            &[FORM],
            body.as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }

    async fn token(&self) -> String {
        self.jwt_token().await["access_token"].as_str().unwrap().to_string()
    }

    async fn get(&self, token: &str, path: &str) -> Reply {
        let auth = format!("Bearer {token}");
        http(
            "GET",
            &format!("{}{path}", self.instance()),
            &[("Authorization", &auth)],
            b"",
        )
        .await
    }

    async fn query(&self, token: &str, tooling: bool, soql: &str) -> Reply {
        let q = form(&[("q", soql)]);
        let path = if tooling { "tooling/query" } else { "query" };
        self.get(token, &format!("/services/data/v66.0/{path}?{q}")).await
    }

    async fn soap(&self, token: &str, version: &str, call: &str) -> Reply {
        let envelope = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>{token}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>{call}</soapenv:Body></soapenv:Envelope>"#
        );
        http(
            "POST",
            &format!("{}/services/Soap/m/{version}", self.instance()),
            &[
                ("Content-Type", "text/xml; charset=UTF-8"),
                ("SOAPAction", "readMetadata"),
            ],
            envelope.as_bytes(),
        )
        .await
    }

    async fn stats(&self) -> Value {
        http("GET", &format!("{}/__sandbox/stats", self.login()), &[], b"")
            .await
            .json()
    }
}

fn read(ty: &str, names: &[&str]) -> String {
    let names: String = names
        .iter()
        .map(|n| format!("<met:fullNames>{n}</met:fullNames>"))
        .collect();
    format!("<met:readMetadata><met:type>{ty}</met:type>{names}</met:readMetadata>")
}

fn records(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.tag_name().name() == "records")
        .map(|n| {
            n.children()
                .find(|c| c.tag_name().name() == "fullName")
                .and_then(|c| c.text())
                .unwrap_or("<nil>")
                .to_string()
        })
        .collect()
}

fn fault_code(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .find(|n| n.tag_name().name() == "faultcode")
        .and_then(|n| n.text())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn jwt_bearer_login_and_the_token_answer() {
    let org = Org::start("risky", SimConfig::default()).await;
    let answer = org.jwt_token().await;
    assert_eq!(answer["instance_url"], org.instance());
    assert_eq!(answer["token_type"], "Bearer");
    assert!(answer.get("refresh_token").is_none());
    assert_eq!(answer["issued_at"].as_str().unwrap().len(), 13);
    assert_eq!(
        answer["id"],
        format!("{}/id/{}/{}", org.login(), scenarios::ORG_ID, scenarios::USER_READER)
    );
    let token = answer["access_token"].as_str().unwrap();
    assert!(token.starts_with("00DDn0000AcmeCo!AQ"), "{token}");
    // The identity URL answers with the bearer token.
    let auth = format!("Bearer {token}");
    let id = http("GET", answer["id"].as_str().unwrap(), &[("Authorization", &auth)], b"").await;
    assert_eq!(id.json()["username"], scenarios::USERNAME_READER);

    // Bad assertions: audience, issuer, expiry.
    for (jwt, error, description) in [
        (
            assertion(
                &org.config.consumer_key,
                scenarios::USERNAME_READER,
                "https://elsewhere.example",
                120,
            ),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            assertion("wrong-key", scenarios::USERNAME_READER, org.login(), 120),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            assertion(&org.config.consumer_key, scenarios::USERNAME_READER, org.login(), -900),
            "invalid_grant",
            "expired authorization code",
        ),
    ] {
        let body = form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &jwt),
        ]);
        let reply = http(
            "POST",
            &format!("{}/services/oauth2/token", org.login()),
            &[FORM],
            body.as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json(), json!({"error": error, "error_description": description}));
    }
    // https://login.salesforce.com is an accepted audience too.
    let jwt = assertion(
        &org.config.consumer_key,
        scenarios::USERNAME_READER,
        "https://login.salesforce.com",
        120,
    );
    let body = form(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", &jwt),
    ]);
    let reply = http(
        "POST",
        &format!("{}/services/oauth2/token", org.login()),
        &[FORM],
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn client_credentials_only_on_my_domain() {
    let org = Org::start("clean", SimConfig::default()).await;
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &org.config.consumer_key),
        ("client_secret", &org.config.consumer_secret),
    ]);
    let reply = http(
        "POST",
        &format!("{}/services/oauth2/token", org.login()),
        &[FORM],
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({"error": "invalid_grant", "error_description": "request not supported on this domain"})
    );
    let reply = http(
        "POST",
        &format!("{}/services/oauth2/token", org.instance()),
        &[FORM],
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.json()["id"].as_str().unwrap().starts_with(org.instance()));
    // HTTP Basic works too; a wrong secret does not.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:nope", org.config.consumer_key));
    let auth = format!("Basic {basic}");
    let reply = http(
        "POST",
        &format!("{}/services/oauth2/token", org.instance()),
        &[FORM, ("Authorization", &auth)],
        b"grant_type=client_credentials",
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({"error": "invalid_client", "error_description": "invalid client credentials"})
    );
}

#[tokio::test]
async fn authorization_code_with_pkce_then_rotating_refresh() {
    let config = SimConfig {
        redirect_uris: vec!["http://127.0.0.1:1/callback".into()],
        rotate_refresh_tokens: true,
        ..SimConfig::default()
    };
    let org = Org::start("risky", config).await;
    let verifier = "a-verifier-of-sufficient-length-0123456789-abcdefghij";
    let challenge = crate::pkce_s256(verifier);
    let q = form(&[
        ("response_type", "code"),
        ("client_id", &org.config.consumer_key),
        ("redirect_uri", "http://127.0.0.1:1/callback"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
        ("scope", "api refresh_token"),
    ]);
    let page = http(
        "GET",
        &format!("{}/services/oauth2/authorize?{q}", org.login()),
        &[],
        b"",
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"code_challenge\""));
    let wrong = q.replace("callback", "elsewhere");
    let refused = http(
        "GET",
        &format!("{}/services/oauth2/authorize?{wrong}", org.login()),
        &[],
        b"",
    )
    .await;
    assert_eq!(refused.status, 400);
    let consent = form(&[
        ("client_id", &org.config.consumer_key),
        ("redirect_uri", "http://127.0.0.1:1/callback"),
        ("code_challenge", &challenge),
        ("state", "xyz"),
        ("scope", "api refresh_token"),
        ("username", scenarios::USERNAME_READER),
        ("pw", "sandbox-password"),
    ]);
    let redirect = http(
        "POST",
        &format!("{}/services/oauth2/authorize", org.login()),
        &[FORM],
        consent.as_bytes(),
    )
    .await;
    assert_eq!(redirect.status, 302);
    let location = url::Url::parse(redirect.header("location").unwrap()).unwrap();
    let pairs: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "xyz");
    let exchange = |verifier: &str| {
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &pairs["code"]),
            ("client_id", &org.config.consumer_key),
            ("redirect_uri", "http://127.0.0.1:1/callback"),
            ("code_verifier", verifier),
        ])
    };
    let token_url = format!("{}/services/oauth2/token", org.login());
    let bad = http("POST", &token_url, &[FORM], exchange("wrong-verifier").as_bytes()).await;
    assert_eq!(bad.json()["error"], "invalid_grant");
    // The code was spent by the failed attempt; sign in again.
    let redirect = http(
        "POST",
        &format!("{}/services/oauth2/authorize", org.login()),
        &[FORM],
        consent.as_bytes(),
    )
    .await;
    let location = url::Url::parse(redirect.header("location").unwrap()).unwrap();
    let code: String = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &org.config.consumer_key),
        ("redirect_uri", "http://127.0.0.1:1/callback"),
        ("code_verifier", verifier),
    ]);
    let answer = http("POST", &token_url, &[FORM], body.as_bytes()).await.json();
    let refresh = answer["refresh_token"].as_str().unwrap().to_string();
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh),
        ("client_id", &org.config.consumer_key),
    ]);
    let rotated = http("POST", &token_url, &[FORM], body.as_bytes()).await.json();
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh);
    let again = http("POST", &token_url, &[FORM], body.as_bytes()).await;
    assert_eq!(
        again.json(),
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
}

/// Every SOQL statement the connector sends, with the ids the connector would have by then.
const CONNECTOR_QUERIES: &[(bool, &str)] = &[
    (false, "SELECT Id, Name, OrganizationType, IsSandbox, DefaultAccountAccess, DefaultContactAccess, DefaultOpportunityAccess, DefaultLeadAccess, DefaultCaseAccess FROM Organization"),
    (false, "SELECT COUNT() FROM Lead WHERE LeadSource = 'Web'"),
    (false, "SELECT Id, DeveloperName, MasterLabel, Description, Type, AgentType, AgentTemplate, BotUserId, LastModifiedDate, (SELECT Id, Status, VersionNumber, DeveloperName FROM BotVersions ORDER BY VersionNumber) FROM BotDefinition"),
    (true, "SELECT Id, DeveloperName, MasterLabel, PlannerType, NamespacePrefix FROM GenAiPlannerDefinition"),
    (true, "SELECT Id, DeveloperName, MasterLabel, Description, PlannerId, PluginType, Scope, NamespacePrefix FROM GenAiPluginDefinition"),
    (true, "SELECT Id, PlannerId, Plugin FROM GenAiPlannerFunctionDef"),
    (true, "SELECT Id, PluginId, Function FROM GenAiPluginFunctionDef"),
    (true, "SELECT Id, DeveloperName, MasterLabel, Description, InvocationTargetType, InvocationTarget, IsConfirmationRequired, PluginId, PlannerId, NamespacePrefix FROM GenAiFunctionDefinition"),
    (false, "SELECT Id, Name, NamespacePrefix, ApiVersion, Status, Body FROM ApexClass WHERE Id IN ('01pDn0000LeadLkIQI','01pDn0000LeadHsIQI')"),
    (false, "SELECT Id, Name, NamespacePrefix, ApiVersion, Status, Body FROM ApexClass WHERE Name IN ('LeadHistoryProvider','OpportunityBulkUpdater')"),
    (false, "SELECT Id, Name, Status, UrlPathPrefix, GuestUserId FROM Site WHERE Status = 'Active'"),
    (false, "SELECT Id, Name, Status, UrlPathPrefix FROM Network"),
    (true, "SELECT Id, NetworkId, BotDefinitionId FROM NetworkBotDefinition"),
    (true, "SELECT Id, DeveloperName, MasterLabel, AreGuestUsersAllowed, AuthMethod, DeploymentType, IsEnabled, SiteId FROM EmbeddedServiceConfig"),
    (true, "SELECT Id, EmbeddedServiceConfigId, MessagingChannelId, IsEnabled FROM EmbeddedServiceMessagingChannel"),
    (false, "SELECT Id, DeveloperName, MasterLabel, MessageType, PlatformType, IsActive, SessionHandlerId FROM MessagingChannel"),
    (false, "SELECT Id, Username, Name, IsActive, UserType, ProfileId, Profile.Name, LastLoginDate FROM User WHERE Id IN ('005Dn0000SupAgtIQE','005Dn0000HcGst1IQC','005Dn0000JaneAdIQI')"),
    (false, "SELECT Id, AssigneeId, PermissionSetId, PermissionSet.Name, PermissionSet.Label, PermissionSet.IsOwnedByProfile, PermissionSet.PermissionsModifyAllData, PermissionSet.PermissionsViewAllData, PermissionSet.PermissionsAuthorApex, PermissionSet.PermissionsCustomizeApplication, PermissionSet.PermissionsModifyMetadata, PermissionSet.PermissionsManageUsers, PermissionSet.PermissionsManageProfilesPermissionsets, PermissionSet.PermissionsManageSharing, PermissionSet.PermissionsApiEnabled, PermissionSet.PermissionsExecutePromptTemplates, PermissionSet.PermissionsManagePromptTemplates, PermissionSet.PermissionsEinsteinAgentPlatformBuilder FROM PermissionSetAssignment WHERE AssigneeId IN ('005Dn0000SupAgtIQE','005Dn0000HcGst1IQC')"),
    (false, "SELECT Id, ParentId, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete, PermissionsViewAllRecords, PermissionsModifyAllRecords FROM ObjectPermissions WHERE ParentId IN ('0PSDn0000SupExtOQE','0PSDn0000PEinAgOQJ')"),
    (false, "SELECT Id, ParentId, SetupEntityId, SetupEntityType FROM SetupEntityAccess WHERE SetupEntityType = 'ApexClass' AND ParentId IN ('0PSDn0000AfUserOQC','0PSDn0000GstAiAOQU')"),
    (false, "SELECT AssigneeId, PermissionSet.Name FROM PermissionSetAssignment WHERE PermissionSet.PermissionsEinsteinAgentPlatformBuilder = true OR PermissionSet.PermissionsManagePromptTemplates = true"),
    (false, "SELECT Id, DeveloperName, EndpointUrl, IsActive, Context, IsApplicableToConnectSrc, IsApplicableToImgSrc, IsApplicableToFrameSrc, LastModifiedDate FROM CspTrustedSite"),
    (false, "SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly, OptionsHasSessionLevelPolicy, RefreshTokenValidityPeriod, OptionsRefreshTokenValidityMetric FROM ConnectedApplication"),
    (false, "SELECT Id, AppName, UserId, CreatedDate, LastUsedDate, UseCount FROM OauthToken"),
    (true, "SELECT Id, DeveloperName, ActiveVersionId, ActiveVersion.RunInMode, ActiveVersion.ProcessType, ActiveVersion.Status FROM FlowDefinition WHERE DeveloperName IN ('Update_Opportunity_Stage')"),
    (true, "SELECT Id, PlannerId, AiAgentId, AiAgent.DeveloperName, AiAgent.MasterLabel, AiAgent.Provider, AiAgent.Url, AiAgent.Status FROM AiPlannerRelatedAgent"),
];

/// The connector query that contains `part`.
fn connector_query(part: &str) -> &'static str {
    CONNECTOR_QUERIES
        .iter()
        .find(|(_, q)| q.contains(part))
        .map(|(_, q)| *q)
        .unwrap_or_else(|| panic!("no connector query with {part:?}"))
}

#[tokio::test]
async fn every_connector_request_is_answered() {
    for scenario in ["risky", "clean", "drifted"] {
        let org = Org::start(scenario, SimConfig::default()).await;
        let token = org.token().await;
        let versions = http("GET", &format!("{}/services/data/", org.instance()), &[], b"").await;
        assert_eq!(versions.status, 200);
        assert!(versions.header("sforce-limit-info").is_none());
        assert_eq!(versions.json().as_array().unwrap().last().unwrap()["version"], "66.0");
        let limits = org.get(&token, "/services/data/v66.0/limits").await;
        assert_eq!(limits.status, 200);
        assert!(limits.json()["DailyApiRequests"]["Remaining"].as_u64().is_some());
        for (tooling, soql) in CONNECTOR_QUERIES {
            let reply = org.query(&token, *tooling, soql).await;
            assert_eq!(reply.status, 200, "{scenario}: {soql}: {}", reply.body);
            let body = reply.json();
            assert_eq!(body["done"], true, "{soql}");
            assert!(reply.header("sforce-limit-info").unwrap().starts_with("api-usage="));
            if *tooling {
                assert!(body["entityTypeName"].is_string() && body["queryLocator"].is_null());
                assert_eq!(body["size"], body["totalSize"]);
            }
        }
        // §8.3: not queryable on Tooling by default; the Connect list instead.
        let reply = org
            .query(
                &token,
                true,
                "SELECT Id, DeveloperName, MasterLabel, Type, RelatedEntity, IsActive, ActiveVersionId, NamespacePrefix FROM GenAiPromptTemplate",
            )
            .await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json()[0]["errorCode"], "INVALID_TYPE");
        assert!(reply.json()[0]["message"]
            .as_str()
            .unwrap()
            .contains("sObject type 'GenAiPromptTemplate' is not supported"));
        let list = org
            .get(
                &token,
                "/services/data/v66.0/einstein/prompt-templates?isActive=false&offset=0&pageLimit=50",
            )
            .await;
        assert_eq!(list.status, 200, "{}", list.body);
        let list = list.json();
        assert!(list["totalPromptRecords"].as_u64().unwrap() >= 1);
        assert_eq!(list["hasMoreRecords"], false);
        let first = &list["promptRecords"][0];
        assert!(first["apiName"].is_string() && first["fields"]["DeveloperName"]["value"].is_string());
        // SOAP reads.
        for (ty, names) in [
            ("EinsteinGptSettings", vec!["EinsteinGpt"]),
            ("EinsteinAISettings", vec!["EinsteinAI"]),
            ("AgentPlatformSettings", vec!["AgentPlatform"]),
            (
                "Bot",
                vec!["Customer_Support_Agent", "Sales_Ops_Agent", "Legacy_Helpdesk_Bot"],
            ),
            ("GenAiPromptTemplate", vec!["Lead_Triage_Summary", "Product_Overview"]),
        ] {
            let reply = org.soap(&token, "66.0", &read(ty, &names)).await;
            assert_eq!(reply.status, 200, "{ty}: {}", reply.body);
            assert_eq!(records(&reply.body).len(), names.len());
        }
        let list = org
            .soap(
                &token,
                "66.0",
                "<met:listMetadata><met:queries><met:type>ConnectedApp</met:type></met:queries></met:listMetadata>",
            )
            .await;
        assert_eq!(list.status, 200);
        let doc = roxmltree::Document::parse(&list.body).unwrap();
        let names: Vec<&str> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "fullName")
            .filter_map(|n| n.text())
            .collect();
        assert!(names.contains(&"aispm_reader") && names.contains(&"Legacy_Integration"));
        let apps: Vec<&str> = names.clone();
        let reply = org.soap(&token, "66.0", &read("ConnectedApp", &apps)).await;
        assert_eq!(records(&reply.body).len(), apps.len());
    }
}

#[tokio::test]
async fn risky_answers_carry_what_the_rules_look_for() {
    let org = Org::start("risky", SimConfig::default()).await;
    let token = org.token().await;
    let bots = org.query(&token, false, CONNECTOR_QUERIES[2].1).await.json();
    let support = bots["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Id"] == scenarios::BOT_SUPPORT)
        .unwrap()
        .clone();
    assert_eq!(support["AgentType"], "EinsteinServiceAgent");
    assert_eq!(support["BotUserId"], scenarios::USER_AGENT);
    assert_eq!(support["BotVersions"]["records"][1]["Status"], "Active");
    let count = org.query(&token, false, CONNECTOR_QUERIES[1].1).await.json();
    assert_eq!(count, json!({"totalSize": 42, "done": true, "records": []}));
    let builders = org
        .query(
            &token,
            false,
            connector_query("FROM PermissionSetAssignment WHERE PermissionSet."),
        )
        .await
        .json();
    assert_eq!(builders["totalSize"], 12);
    let user = org.query(&token, false, CONNECTOR_QUERIES[16].1).await.json();
    let agent = user["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Id"] == scenarios::USER_AGENT)
        .unwrap()
        .clone();
    assert_eq!(agent["Profile"]["Name"], "Einstein Agent User");
    assert_eq!(agent["LastLoginDate"], Value::Null);
    let grants = org.query(&token, false, CONNECTOR_QUERIES[17].1).await.json();
    let extra = grants["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["PermissionSet"]["Name"] == "Support_Agent_Extra")
        .unwrap()
        .clone();
    assert_eq!(extra["PermissionSet"]["PermissionsViewAllData"], true);
    assert_eq!(extra["PermissionSet"]["PermissionsModifyAllData"], false);
    // Bot metadata carries the planner link and logging (§9.1.3), the ConnectedApp its secret.
    let bot = org
        .soap(&token, "66.0", &read("Bot", &["Customer_Support_Agent"]))
        .await
        .body;
    assert!(bot.contains("<genAiPlannerName>Customer_Support_Agent</genAiPlannerName>"));
    assert!(bot.contains("<logPrivateConversationData>true</logPrivateConversationData>"));
    assert!(bot.contains("<botUser>support.agent@acme.example</botUser>"));
    let app = org
        .soap(&token, "66.0", &read("ConnectedApp", &["Agent_Gateway"]))
        .await
        .body;
    assert!(app.contains(scenarios::FAKE_CONSUMER_SECRET));
    assert!(app.contains("<scopes>Chatbot</scopes><scopes>SFAP</scopes>") || app.contains("<scopes>Api</scopes>"));
    assert!(app.contains("<oauthClientCredentialUser>jane.admin@acme.example</oauthClientCredentialUser>"));
    let template = org
        .soap(
            &token,
            "66.0",
            &read("GenAiPromptTemplate", &["Lead_Triage_Summary", "Nope"]),
        )
        .await;
    assert_eq!(records(&template.body), vec!["Lead_Triage_Summary", "<nil>"]);
    assert!(template.body.contains("<records xsi:nil=\"true\"/>"));
    assert!(template.body.contains("{!$Input:Lead.Description}"));
    assert!(template.body.contains("apex://LeadHistoryProvider"));
    // RDAP on the login host.
    let lapsed = http(
        "GET",
        &format!("{}/rdap/domain/{}", org.login(), scenarios::LAPSED_DOMAIN),
        &[],
        b"",
    )
    .await;
    assert_eq!(lapsed.status, 404);
    assert_eq!(lapsed.json()["errorCode"], 404);
    let fine = http("GET", &format!("{}/rdap/domain/ACME.example", org.login()), &[], b"").await;
    assert_eq!(fine.status, 200);
    assert_eq!(fine.header("content-type"), Some("application/rdap+json"));
    let fine = fine.json();
    assert_eq!(fine["ldhName"], "acme.example");
    assert_eq!(fine["events"][1]["eventAction"], "expiration");
    let expires = chrono::DateTime::parse_from_rfc3339(fine["events"][1]["eventDate"].as_str().unwrap()).unwrap();
    assert!(expires > chrono::Utc::now());
    // Drift: the pending-delete form, and the new apex action.
    let switched = http("POST", &format!("{}/__sandbox/scenario/drifted", org.login()), &[], b"").await;
    assert_eq!(switched.status, 204);
    let pending = http(
        "GET",
        &format!("{}/rdap/domain/{}", org.login(), scenarios::LAPSED_DOMAIN),
        &[],
        b"",
    )
    .await;
    assert_eq!(pending.json()["status"], json!(["pending delete"]));
    let actions = org.query(&token, true, CONNECTOR_QUERIES[7].1).await.json();
    assert!(actions["records"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["InvocationTarget"] == "OpportunityBulkUpdater"));
}

#[tokio::test]
async fn paging_follows_next_records_url() {
    let config = SimConfig {
        page_size: 10,
        ..SimConfig::default()
    };
    let org = Org::start("risky", config).await;
    let token = org.token().await;
    let mut seen = Vec::new();
    let mut page = org.query(&token, false, "SELECT Id FROM Lead ORDER BY Id").await.json();
    assert_eq!(page["totalSize"], 45);
    loop {
        seen.extend(page["records"].as_array().unwrap().iter().map(|r| r["Id"].clone()));
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap().to_string();
        assert!(next.starts_with("/services/data/v66.0/query/01gSIM"), "{next}");
        page = org.get(&token, &next).await.json();
    }
    assert_eq!(seen.len(), 45);
    // Tooling pages carry their locator.
    let tooling = org
        .query(&token, true, "SELECT Id FROM GenAiFunctionDefinition")
        .await
        .json();
    assert_eq!(tooling["done"], true);
    // A batch size under the configured page is honoured only within 200..2000.
    let auth = format!("Bearer {token}");
    let q = form(&[("q", "SELECT Id FROM Lead")]);
    let reply = http(
        "GET",
        &format!("{}/services/data/v66.0/query?{q}", org.instance()),
        &[("Authorization", &auth), ("Sforce-Query-Options", "batchSize=200")],
        b"",
    )
    .await;
    assert_eq!(reply.json()["records"].as_array().unwrap().len(), 10);
    let bad = org.get(&token, "/services/data/v66.0/query/01gSIMnope-10").await;
    assert_eq!(bad.json()[0]["errorCode"], "INVALID_QUERY_LOCATOR");
    let small = SimConfig {
        page_size: 2,
        ..SimConfig::default()
    };
    let org = Org::start("risky", small).await;
    let token = org.token().await;
    let first = org
        .query(&token, true, "SELECT Id, DeveloperName FROM GenAiFunctionDefinition")
        .await
        .json();
    assert_eq!(first["done"], false);
    let locator = first["queryLocator"].as_str().unwrap();
    assert!(first["nextRecordsUrl"].as_str().unwrap().ends_with(locator));
    assert!(first["nextRecordsUrl"]
        .as_str()
        .unwrap()
        .starts_with("/services/data/v66.0/tooling/query/"));
    let second = org.get(&token, first["nextRecordsUrl"].as_str().unwrap()).await.json();
    assert_eq!(second["done"], true);
    assert_eq!(second["queryLocator"], Value::Null);
    assert_eq!(second["entityTypeName"], "GenAiFunctionDefinition");
}

#[tokio::test]
async fn limits_headers_budget_and_storms() {
    let org = Org::start("clean", SimConfig::default()).await;
    let token = org.token().await;
    let before = org.stats().await["api_used"].as_u64().unwrap();
    let reply = org.get(&token, "/services/data/v66.0/limits").await;
    assert_eq!(
        reply.header("sforce-limit-info").unwrap(),
        format!("api-usage={}/115000", before + 1)
    );
    assert_eq!(reply.json()["DailyApiRequests"]["Remaining"], 115_000 - before - 1);
    let set = http("POST", &format!("{}/__sandbox/budget/9/10", org.login()), &[], b"").await;
    assert_eq!(set.status, 204);
    assert_eq!(org.get(&token, "/services/data/v66.0/limits").await.status, 200);
    let refused = org.get(&token, "/services/data/v66.0/limits").await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json(),
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(refused.header("sforce-limit-info"), Some("api-usage=10/10"));
    // The versions list is not counted and needs no session.
    assert_eq!(
        http("GET", &format!("{}/services/data/", org.instance()), &[], b"")
            .await
            .status,
        200
    );
    http("POST", &format!("{}/__sandbox/budget/0/1000", org.login()), &[], b"").await;
    http(
        "POST",
        &format!("{}/__sandbox/concurrency_storm/2", org.login()),
        &[],
        b"",
    )
    .await;
    for _ in 0..2 {
        let reply = org.get(&token, "/services/data/v66.0/limits").await;
        assert_eq!(reply.status, 403);
        assert_eq!(reply.json()[0]["message"], "ConcurrentPerOrgLongTxn Limit exceeded.");
    }
    assert_eq!(org.get(&token, "/services/data/v66.0/limits").await.status, 200);
    // Unknown versions and sessions.
    let missing = org.get(&token, "/services/data/v99.0/limits").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()[0]["errorCode"], "NOT_FOUND");
    let bad = org.get("nope", "/services/data/v66.0/limits").await;
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.json(),
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    http("POST", &format!("{}/__sandbox/expire_tokens", org.login()), &[], b"").await;
    assert_eq!(org.get(&token, "/services/data/v66.0/limits").await.status, 401);
}

#[tokio::test]
async fn composite_and_batch_count_and_cap() {
    let org = Org::start("risky", SimConfig::default()).await;
    let token = org.token().await;
    let auth = format!("Bearer {token}");
    let post = |path: &'static str, body: Value| {
        let auth = auth.clone();
        let url = format!("{}{path}", org.instance());
        async move {
            http(
                "POST",
                &url,
                &[("Authorization", &auth), ("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
            .await
        }
    };
    let sub = |i: usize, soql: &str| json!({"method": "GET", "url": format!("/services/data/v66.0/query?{}", form(&[("q", soql)])), "referenceId": format!("r{i}")});
    let used = org.stats().await["api_used"].as_u64().unwrap();
    let five: Vec<Value> = CONNECTOR_QUERIES
        .iter()
        .filter(|(t, _)| !t)
        .take(5)
        .enumerate()
        .map(|(i, (_, q))| sub(i, q))
        .collect();
    let reply = post(
        "/services/data/v66.0/composite",
        json!({"allOrNone": false, "compositeRequest": five}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let items = reply.json()["compositeResponse"].as_array().unwrap().clone();
    assert_eq!(items.len(), 5);
    assert!(items
        .iter()
        .all(|i| i["httpStatusCode"] == 200 && i["body"]["done"] == true));
    assert_eq!(items[1]["referenceId"], "r1");
    assert_eq!(org.stats().await["api_used"].as_u64().unwrap(), used + 1);
    let six: Vec<Value> = (0..6).map(|i| sub(i, "SELECT Id FROM Network")).collect();
    let reply = post("/services/data/v66.0/composite", json!({"compositeRequest": six})).await;
    assert_eq!(reply.status, 400);
    assert!(reply.json().is_array());
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"method": "GET", "url": "/services/data/v66.0/limits", "referenceId": format!("l{i}")}))
        .collect();
    assert_eq!(
        post("/services/data/v66.0/composite", json!({"compositeRequest": many}))
            .await
            .status,
        400
    );
    // References into earlier answers.
    let chained = json!({"compositeRequest": [
        sub(0, "SELECT Id FROM BotDefinition WHERE DeveloperName = 'Customer_Support_Agent'"),
        {"method": "GET", "referenceId": "versions",
         "url": "/services/data/v66.0/query?q=SELECT+Id+FROM+BotVersion+WHERE+BotDefinitionId+%3D+%27@{r0.records[0].Id}%27"},
    ]});
    let reply = post("/services/data/v66.0/composite", chained).await.json();
    assert_eq!(reply["compositeResponse"][1]["body"]["totalSize"], 2, "{reply}");
    // Batch: each subrequest counts; a failure marks hasErrors.
    let used = org.stats().await["api_used"].as_u64().unwrap();
    let batch = json!({"haltOnError": false, "batchRequests": [
        {"method": "GET", "url": format!("v66.0/query?{}", form(&[("q", "SELECT Id FROM Network")]))},
        {"method": "GET", "url": "v66.0/limits"},
        {"method": "GET", "url": format!("v66.0/query?{}", form(&[("q", "SELECT Nope FROM Network")]))},
    ]});
    let reply = post("/services/data/v66.0/composite/batch", batch).await;
    assert_eq!(reply.status, 200);
    let reply = reply.json();
    assert_eq!(reply["hasErrors"], true);
    assert_eq!(reply["results"][0]["statusCode"], 200);
    assert_eq!(reply["results"][2]["statusCode"], 400);
    assert_eq!(reply["results"][2]["result"][0]["errorCode"], "INVALID_FIELD");
    assert_eq!(org.stats().await["api_used"].as_u64().unwrap(), used + 3);
    let halting = json!({"haltOnError": true, "batchRequests": [
        {"method": "GET", "url": "v66.0/query?q=SELECT+Nope+FROM+Network"},
        {"method": "GET", "url": "v66.0/limits"},
    ]});
    let reply = post("/services/data/v66.0/composite/batch", halting).await.json();
    assert_eq!(reply["results"][1]["statusCode"], 412);
    let many: Vec<Value> = (0..26)
        .map(|_| json!({"method": "GET", "url": "v66.0/limits"}))
        .collect();
    assert_eq!(
        post("/services/data/v66.0/composite/batch", json!({"batchRequests": many}))
            .await
            .status,
        400
    );
    assert_eq!(post("/services/data/v66.0/composite", json!("{")).await.status, 400);
    let log = http("GET", &format!("{}/__sandbox/requests", org.login()), &[], b"")
        .await
        .json();
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["via"] == "batch" && e["q"] == "SELECT Id FROM Network"));
}

#[tokio::test]
async fn prompt_templates_on_tooling_when_configured_and_connect_paging() {
    let config = SimConfig {
        prompt_templates_on_tooling: true,
        ..SimConfig::default()
    };
    let org = Org::start("risky", config).await;
    let token = org.token().await;
    let reply = org
        .query(&token, true, "SELECT Id, DeveloperName, MasterLabel, Type, RelatedEntity, IsActive, ActiveVersionId, NamespacePrefix FROM GenAiPromptTemplate")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["totalSize"], 2);
    assert_eq!(body["entityTypeName"], "GenAiPromptTemplate");
    // Still not on the data API.
    assert_eq!(
        org.query(&token, false, "SELECT Id FROM GenAiPromptTemplate")
            .await
            .status,
        400
    );
    let page = org
        .get(
            &token,
            "/services/data/v66.0/einstein/prompt-templates?offset=0&pageLimit=1",
        )
        .await
        .json();
    assert_eq!(page["promptRecords"].as_array().unwrap().len(), 1);
    assert_eq!(page["hasMoreRecords"], true);
    assert_eq!(page["totalPromptRecords"], 2);
    let active = org
        .get(&token, "/services/data/v66.0/einstein/prompt-templates?isActive=true")
        .await
        .json();
    assert_eq!(active["totalPromptRecords"], 1);
    assert_eq!(active["promptRecords"][0]["fields"]["IsActive"]["value"], true);
    let bad = org
        .get(&token, "/services/data/v66.0/einstein/prompt-templates?offset=x")
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn soap_faults_and_jwt_shaped_tokens() {
    let config = SimConfig {
        jwt_shaped_tokens: true,
        ..SimConfig::default()
    };
    let org = Org::start("risky", config).await;
    let token = org.token().await;
    assert_eq!(token.split('.').count(), 3);
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&header).is_ok());
    // REST takes it; SOAP at 67.0 and below does not (§9.1.1); 68.0 does.
    assert_eq!(org.get(&token, "/services/data/v66.0/limits").await.status, 200);
    let call = read("EinsteinGptSettings", &["EinsteinGpt"]);
    let refused = org.soap(&token, "66.0", &call).await;
    assert_eq!(refused.status, 500);
    assert_eq!(fault_code(&refused.body), "sf:INVALID_SESSION_ID");
    let refused = org.soap(&token, "67.0", &call).await;
    assert_eq!(fault_code(&refused.body), "sf:INVALID_SESSION_ID");
    let ok = org.soap(&token, "68.0", &call).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok
        .body
        .contains("<enableEinsteinGptPlatform>true</enableEinsteinGptPlatform>"));
    assert!(ok.body.contains(r#"<records xsi:type="EinsteinGptSettings">"#));
    assert_eq!(
        fault_code(&org.soap(&token, "69.0", &call).await.body),
        "sf:UNSUPPORTED_API_VERSION"
    );
    // Eleven names is one too many; unknown types fault; garbage is a client fault.
    let names: Vec<String> = (0..11).map(|i| format!("N{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let too_many = org.soap(&token, "68.0", &read("Bot", &names)).await;
    assert_eq!(too_many.status, 500);
    assert_eq!(fault_code(&too_many.body), "sf:EXCEEDED_ID_LIMIT");
    assert_eq!(
        fault_code(&org.soap(&token, "68.0", &read("NoSuchType", &["x"])).await.body),
        "sf:INVALID_TYPE"
    );
    let garbage = http(
        "POST",
        &format!("{}/services/Soap/m/68.0", org.instance()),
        &[("Content-Type", "text/xml")],
        b"<not-closed",
    )
    .await;
    assert_eq!(garbage.status, 500);
    assert_eq!(fault_code(&garbage.body), "soapenv:Client");
    assert_eq!(
        fault_code(&org.soap("bad", "68.0", &call).await.body),
        "sf:INVALID_SESSION_ID"
    );
    // Without Modify Metadata: INSUFFICIENT_ACCESS, no detail.
    http(
        "POST",
        &format!("{}/__sandbox/flags", org.login()),
        &[("Content-Type", "application/json")],
        br#"{"metadata_access": false}"#,
    )
    .await;
    let denied = org.soap(&token, "68.0", &call).await;
    assert_eq!(fault_code(&denied.body), "sf:INSUFFICIENT_ACCESS");
    assert!(!denied.body.contains("<detail>"));
    let stats = org.stats().await;
    assert!(stats["soap_requests"].as_u64().unwrap() >= 8);
    let log = http("GET", &format!("{}/__sandbox/requests", org.login()), &[], b"")
        .await
        .json();
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["soap"] == "readMetadata" && e["type"] == "EinsteinGptSettings"));
}

#[tokio::test]
async fn the_simulated_connection_names_both_hosts() {
    let connection = simulated_connection("risky").await.unwrap();
    assert_eq!(connection.provider, "salesforce");
    let login = connection.settings["login_url"].as_str().unwrap().to_string();
    assert_eq!(login, connection.server.base_url);
    assert_eq!(connection.settings["rdap_url"], format!("{login}/rdap/"));
    assert!(connection.secrets["private_key"].contains("BEGIN PRIVATE KEY"));
    let key = connection.settings["client_id"].as_str().unwrap();
    let jwt = assertion(key, connection.settings["username"].as_str().unwrap(), &login, 120);
    let body = form(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", &jwt),
    ]);
    let answer = http(
        "POST",
        &format!("{login}/services/oauth2/token"),
        &[FORM],
        body.as_bytes(),
    )
    .await
    .json();
    let instance = answer["instance_url"].as_str().unwrap();
    assert_ne!(instance, login);
    // The companion instance host is alive as long as the connection is.
    let versions = http("GET", &format!("{instance}/services/data/"), &[], b"").await;
    assert_eq!(versions.status, 200);
    assert!(simulated_connection("nope").await.is_err());
}
