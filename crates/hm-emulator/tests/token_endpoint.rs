//! The token endpoint as strict as High Mobility: a table of right requests and well over sixty
//! wrong ones (every class of issue 12 and the checks that worked before), each sent over HTTP.
//! Every wrong one must get a 4xx in the OAuth error shape with the description of the check that
//! caught it, every right one a token, every answer must match the published spec, and the server
//! must not panic on any of them.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use base64::Engine;
use common::jwt::{HEADER, b64, es256, sign_raw, sign_raw_der};
use common::*;
use hm_emulator::{
    ApplicationConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM,
    DEMO_VIN_APPROVED, EmulatorConfig,
};
use reqwest::Method;
use serde_json::{Map, Value, json};

const OTHER_PRIVATE_KEY: &str = include_str!("../testdata/other-private.pem");
const OTHER_PUBLIC_KEY: &str = include_str!("../testdata/other-public.pem");
const KEY_ONLY_APP: &str = "key-only-app";
const KEY_ONLY_KEY: &str = "key-only-key";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts every panic of the process (a handler's too: the server turns it into a 500 but the
/// hook still runs), so a test can assert that the server log has none.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

fn config() -> EmulatorConfig {
    let mut config = frozen_demo();
    config.applications.push(ApplicationConfig {
        client_id: KEY_ONLY_APP.into(),
        client_secret: None,
        public_keys: BTreeMap::from([(KEY_ONLY_KEY.to_string(), OTHER_PUBLIC_KEY.to_string())]),
        scopes: vec!["vehicle:data".into()],
    });
    config
}

/// What a case knows about the running emulator.
struct Ctx {
    /// `http://127.0.0.1:PORT/v1`, the audience for requests sent to the base URL.
    aud: String,
    /// `localhost:PORT`.
    localhost: String,
    /// A token that no wrong revocation may revoke.
    live_token: String,
    /// Tokens for the right revocations, one each.
    revocable: Vec<String>,
}

/// One HTTP request to `/v1/access_tokens`.
struct Req {
    method: Method,
    content_types: Vec<String>,
    headers: Vec<(&'static str, String)>,
    query: Option<String>,
    body: Vec<u8>,
}

impl Req {
    fn raw(content_types: &[&str], body: impl Into<Vec<u8>>) -> Self {
        Req {
            method: Method::POST,
            content_types: content_types.iter().map(|s| s.to_string()).collect(),
            headers: Vec::new(),
            query: None,
            body: body.into(),
        }
    }

    fn json(body: &Value) -> Self {
        Self::raw(&["application/json"], body.to_string())
    }

    fn form(pairs: &[(&str, &str)]) -> Self {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            form.append_pair(name, value);
        }
        Self::raw(&["application/x-www-form-urlencoded"], form.finish())
    }

    fn delete(mut self) -> Self {
        self.method = Method::DELETE;
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

enum Expect {
    Token,
    Revoked,
    Refused(&'static str, &'static str),
    TooLarge,
}

struct Case {
    name: String,
    expect: Expect,
    /// Send the same request once before, expecting a token (to test a replay).
    prime: bool,
    build: Box<dyn Fn(&Ctx) -> Req>,
}

#[derive(Default)]
struct Table(Vec<Case>);

impl Table {
    fn push(&mut self, name: &str, expect: Expect, build: impl Fn(&Ctx) -> Req + 'static) {
        self.0.push(Case {
            name: name.to_string(),
            expect,
            prime: false,
            build: Box::new(build),
        });
    }

    fn right(&mut self, name: &str, build: impl Fn(&Ctx) -> Req + 'static) {
        self.push(name, Expect::Token, build);
    }

    fn wrong(
        &mut self,
        name: &str,
        error: &'static str,
        fragment: &'static str,
        build: impl Fn(&Ctx) -> Req + 'static,
    ) {
        self.push(name, Expect::Refused(error, fragment), build);
    }

    fn replay(&mut self, name: &str, build: impl Fn(&Ctx) -> Req + 'static) {
        self.0.push(Case {
            name: name.to_string(),
            expect: Expect::Refused("invalid_client", "jti has already been used"),
            prime: true,
            build: Box::new(build),
        });
    }
}

fn secret_params() -> Map<String, Value> {
    json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
        .as_object()
        .unwrap()
        .clone()
}

fn secret_with(edit: impl Fn(&mut Map<String, Value>)) -> Req {
    let mut params = secret_params();
    edit(&mut params);
    Req::json(&Value::Object(params))
}

fn assertion_params(jwt: &str) -> Map<String, Value> {
    assertion_request(DEMO_CLIENT_ID, jwt)
        .as_object()
        .unwrap()
        .clone()
}

fn good_claims(ctx: &Ctx) -> Map<String, Value> {
    assertion_claims(DEMO_KEY_ID, &ctx.aud)
        .as_object()
        .unwrap()
        .clone()
}

/// A correctly signed assertion whose claims are edited first.
fn claims_with(ctx: &Ctx, edit: impl Fn(&mut Map<String, Value>)) -> String {
    let mut claims = good_claims(ctx);
    edit(&mut claims);
    sign_raw(
        HEADER,
        &Value::Object(claims).to_string(),
        DEMO_PRIVATE_KEY_PEM,
    )
}

/// A correctly signed assertion with this header text.
fn header_is(ctx: &Ctx, header: &str) -> String {
    sign_raw(
        header,
        &Value::Object(good_claims(ctx)).to_string(),
        DEMO_PRIVATE_KEY_PEM,
    )
}

fn with_jwt(jwt: String) -> Req {
    Req::json(&Value::Object(assertion_params(&jwt)))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn encoding_cases(t: &mut Table) {
    let secret_json = || Value::Object(secret_params()).to_string();
    let bad_type = |t: &mut Table, name: &str, cts: &'static [&'static str], frag| {
        t.wrong(name, "invalid_request", frag, move |_| {
            Req::raw(cts, Value::Object(secret_params()).to_string())
        });
    };
    bad_type(t, "JSON sent as text/plain", &["text/plain"], "text/plain");
    bad_type(t, "no Content-Type", &[], "no Content-Type");
    bad_type(
        t,
        "application/xml",
        &["application/xml"],
        "application/xml",
    );
    bad_type(
        t,
        "multipart/form-data",
        &["multipart/form-data; boundary=x"],
        "multipart",
    );
    bad_type(
        t,
        "JSON in latin-1",
        &["application/json; charset=iso-8859-1"],
        "charset",
    );
    bad_type(
        t,
        "a JSON suffix type",
        &["application/vnd.api+json"],
        "vnd.api+json",
    );
    bad_type(
        t,
        "two Content-Types",
        &["application/json", "application/json"],
        "more than one",
    );
    bad_type(t, "not a media type", &["json"], "not a media type");
    t.wrong("not JSON", "invalid_request", "JSON object", |_| {
        Req::raw(&["application/json"], "{not json")
    });
    t.wrong("empty JSON body", "invalid_request", "JSON object", |_| {
        Req::raw(&["application/json"], "")
    });
    t.wrong(
        "array decoded by position",
        "invalid_request",
        "JSON object",
        |_| {
            Req::json(&json!([
                "client_credentials",
                DEMO_CLIENT_ID,
                DEMO_CLIENT_SECRET,
                null,
                null
            ]))
        },
    );
    t.wrong("JSON string", "invalid_request", "JSON object", |_| {
        Req::json(&json!("client_credentials"))
    });
    t.wrong("JSON null", "invalid_request", "JSON object", |_| {
        Req::json(&Value::Null)
    });
    t.wrong(
        "trailing data",
        "invalid_request",
        "JSON object",
        move |_| Req::raw(&["application/json"], format!("{} {{}}", secret_json())),
    );
    t.wrong("duplicate key, same value", "invalid_request", "duplicate key", |_| {
        Req::raw(
            &["application/json"],
            format!(
                r#"{{"grant_type":"client_credentials","client_id":"{DEMO_CLIENT_ID}","client_secret":"{DEMO_CLIENT_SECRET}","client_secret":"{DEMO_CLIENT_SECRET}"}}"#
            ),
        )
    });
    t.wrong("duplicate grant_type", "invalid_request", "duplicate key", |_| {
        Req::raw(
            &["application/json"],
            format!(
                r#"{{"grant_type":"refresh_token","grant_type":"client_credentials","client_id":"{DEMO_CLIENT_ID}","client_secret":"{DEMO_CLIENT_SECRET}"}}"#
            ),
        )
    });
    t.wrong("body not UTF-8", "invalid_request", "JSON object", |_| {
        let mut body = format!(
            r#"{{"grant_type":"client_credentials","client_id":"{DEMO_CLIENT_ID}","client_secret":"x"#
        )
        .into_bytes();
        body.extend_from_slice(b"\xff\"}");
        Req::raw(&["application/json"], body)
    });
    t.wrong(
        "form body labelled JSON",
        "invalid_request",
        "JSON object",
        |_| {
            let mut form = Req::form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DEMO_CLIENT_ID),
            ]);
            form.content_types = vec!["application/json".into()];
            form
        },
    );
    t.wrong(
        "JSON body labelled form",
        "invalid_request",
        "no \"=\"",
        move |_| Req::raw(&["application/x-www-form-urlencoded"], secret_json()),
    );
    let form_raw = |t: &mut Table, name: &str, body: &'static str, frag| {
        t.wrong(name, "invalid_request", frag, move |_| {
            Req::raw(&["application/x-www-form-urlencoded"], body)
        });
    };
    form_raw(
        t,
        "form: repeated key",
        "grant_type=client_credentials&client_id=hm-emulator-demo-client&client_secret=hm-emulator-demo-secret&client_secret=hm-emulator-demo-secret",
        "more than once",
    );
    form_raw(
        t,
        "form: bad escape",
        "grant_type=client_credentials&client_id=hm-emulator-demo-client&client_secret=%zz",
        "percent escape",
    );
    form_raw(
        t,
        "form: not UTF-8",
        "grant_type=client_credentials&client_id=hm-emulator-demo-client&client_secret=%FF",
        "not UTF-8",
    );
    form_raw(
        t,
        "form: empty pair",
        "grant_type=client_credentials&&client_id=hm-emulator-demo-client&client_secret=hm-emulator-demo-secret",
        "empty parameter",
    );
    form_raw(
        t,
        "form: pair without =",
        "grant_type=client_credentials&client_id&client_secret=hm-emulator-demo-secret",
        "no \"=\"",
    );
    t.wrong(
        "parameters in the query",
        "invalid_request",
        "query string",
        |_| {
            let mut req = Req::json(&Value::Object(secret_params()));
            req.query = Some("scope=vehicle%3Adata".into());
            req
        },
    );
    t.wrong(
        "Basic credentials as well",
        "invalid_request",
        "Authorization header",
        |_| {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"));
            Req::json(&Value::Object(secret_params()))
                .header("authorization", format!("Basic {basic}"))
        },
    );
    t.wrong(
        "a bearer token as well",
        "invalid_request",
        "Authorization header",
        |_| Req::json(&Value::Object(secret_params())).header("authorization", "Bearer abc"),
    );
}

fn parameter_cases(t: &mut Table) {
    t.wrong(
        "unknown scope (JSON)",
        "invalid_request",
        "unknown parameter \"scope\"",
        |_| {
            secret_with(|p| {
                p.insert("scope".into(), json!("vehicle:data"));
            })
        },
    );
    t.wrong(
        "unknown scope (form)",
        "invalid_request",
        "unknown parameter \"scope\"",
        |_| {
            Req::form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", DEMO_CLIENT_SECRET),
                ("scope", "vehicle:data"),
            ])
        },
    );
    t.wrong(
        "unknown audience",
        "invalid_request",
        "unknown parameter \"audience\"",
        |_| {
            secret_with(|p| {
                p.insert("audience".into(), json!("x"));
            })
        },
    );
    t.wrong(
        "refresh_token with client_credentials",
        "invalid_request",
        "\"refresh_token\"",
        |_| {
            secret_with(|p| {
                p.insert("refresh_token".into(), json!("x"));
            })
        },
    );
    t.wrong(
        "client_id spelled Client_Id",
        "invalid_request",
        "unknown parameter",
        |_| {
            secret_with(|p| {
                let id = p.remove("client_id").unwrap();
                p.insert("Client_Id".into(), id);
            })
        },
    );
    for field in ["grant_type", "client_id"] {
        t.wrong(
            &format!("{field} missing"),
            "invalid_request",
            "can't be blank",
            move |_| {
                secret_with(|p| {
                    p.remove(field);
                })
            },
        );
    }
    for field in ["grant_type", "client_id", "client_secret"] {
        for blank in ["", "  "] {
            t.wrong(
                &format!("{field} blank {blank:?}"),
                "invalid_request",
                "can't be blank",
                move |_| {
                    secret_with(|p| {
                        p.insert(field.into(), json!(blank));
                    })
                },
            );
        }
    }
    let typed = [
        ("grant_type", json!(7)),
        ("client_id", json!([DEMO_CLIENT_ID])),
        ("client_secret", Value::Null),
        ("client_secret", json!({"value": DEMO_CLIENT_SECRET})),
        ("client_secret", json!(true)),
    ];
    for (field, value) in typed {
        t.wrong(
            &format!("{field} = {value}"),
            "invalid_request",
            "must be a string",
            move |_| {
                secret_with(|p| {
                    p.insert(field.into(), value.clone());
                })
            },
        );
    }
    for grant in [
        "refresh_token",
        "authorization_code",
        "Client_Credentials",
        "client_credentials ",
        "password",
    ] {
        t.wrong(
            &format!("grant_type {grant:?}"),
            "unsupported_grant_type",
            "client_credentials",
            move |_| {
                secret_with(|p| {
                    p.insert("grant_type".into(), json!(grant));
                    if grant == "authorization_code" {
                        p.insert("code".into(), json!("7672e33d"));
                    }
                })
            },
        );
    }
    t.wrong(
        "unknown client",
        "invalid_client",
        "client_id is invalid",
        |_| {
            secret_with(|p| {
                p.insert("client_id".into(), json!("who"));
            })
        },
    );
    for (name, secret) in [
        ("wrong secret", "nope".to_string()),
        ("secret plus a character", format!("{DEMO_CLIENT_SECRET}x")),
        ("secret prefix", DEMO_CLIENT_SECRET[..10].to_string()),
    ] {
        t.wrong(
            name,
            "invalid_request",
            "client_secret is invalid",
            move |_| {
                secret_with(|p| {
                    p.insert("client_secret".into(), json!(secret));
                })
            },
        );
    }
    t.wrong(
        "secret and assertion",
        "invalid_request",
        "ambiguous credentials",
        |ctx| {
            let mut p = assertion_params(&claims_with(ctx, |_| {}));
            p.insert("client_secret".into(), json!(DEMO_CLIENT_SECRET));
            Req::json(&Value::Object(p))
        },
    );
    t.wrong(
        "secret and assertion type",
        "invalid_request",
        "ambiguous credentials",
        |_| {
            secret_with(|p| {
                p.insert("client_assertion_type".into(), json!(JWT_BEARER));
            })
        },
    );
    t.wrong(
        "assertion type alone",
        "invalid_request",
        "ambiguous credentials",
        |_| {
            secret_with(|p| {
                p.remove("client_secret");
                p.insert("client_assertion_type".into(), json!(JWT_BEARER));
            })
        },
    );
    t.wrong(
        "assertion without its type",
        "invalid_request",
        "client_assertion_type can't be blank",
        |ctx| {
            let mut p = assertion_params(&claims_with(ctx, |_| {}));
            p.remove("client_assertion_type");
            Req::json(&Value::Object(p))
        },
    );
    t.wrong(
        "SAML assertion type",
        "invalid_request",
        "is not supported",
        |ctx| {
            let mut p = assertion_params(&claims_with(ctx, |_| {}));
            p.insert(
                "client_assertion_type".into(),
                json!("urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
            );
            Req::json(&Value::Object(p))
        },
    );
    t.wrong(
        "blank assertion",
        "invalid_request",
        "client_assertion can't be blank",
        |_| with_jwt(String::new()),
    );
    t.wrong(
        "secret for a key-only application",
        "invalid_client",
        "only accepts client_assertion",
        |_| {
            secret_with(|p| {
                p.insert("client_id".into(), json!(KEY_ONLY_APP));
            })
        },
    );
}

fn header_cases(t: &mut Table) {
    let headers = [
        ("header without typ", r#"{"alg":"ES256"}"#, "typ is missing"),
        (
            "typ jwt in lower case",
            r#"{"alg":"ES256","typ":"jwt"}"#,
            "typ is \"jwt\"",
        ),
        (
            "typ JOSE",
            r#"{"alg":"ES256","typ":"JOSE"}"#,
            "typ is \"JOSE\"",
        ),
        (
            "header with kid",
            r#"{"alg":"ES256","typ":"JWT","kid":"hm-emulator-demo-key"}"#,
            "\"kid\"",
        ),
        (
            "header with crit",
            r#"{"alg":"ES256","typ":"JWT","crit":["exp"]}"#,
            "\"crit\"",
        ),
        (
            "header with jku",
            r#"{"alg":"ES256","typ":"JWT","jku":"https://evil.example/k"}"#,
            "\"jku\"",
        ),
        (
            "alg ES384",
            r#"{"alg":"ES384","typ":"JWT"}"#,
            "alg is \"ES384\"",
        ),
        (
            "alg es256 in lower case",
            r#"{"alg":"es256","typ":"JWT"}"#,
            "alg is \"es256\"",
        ),
        (
            "alg as a number",
            r#"{"alg":256,"typ":"JWT"}"#,
            "alg is missing or not a string",
        ),
        (
            "header is an array",
            r#"["ES256","JWT"]"#,
            "header is not a JSON object",
        ),
        (
            "header repeats alg",
            r#"{"alg":"none","alg":"ES256","typ":"JWT"}"#,
            "header is not valid JSON",
        ),
    ];
    for (name, header, fragment) in headers {
        t.wrong(name, "invalid_client", fragment, move |ctx| {
            with_jwt(header_is(ctx, header))
        });
    }
    t.wrong(
        "alg none, unsigned",
        "invalid_client",
        "alg is \"none\"",
        |ctx| {
            let claims = Value::Object(good_claims(ctx)).to_string();
            with_jwt(format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(claims.as_bytes())
            ))
        },
    );
    t.wrong(
        "alg HS256 keyed with the secret",
        "invalid_client",
        "alg is \"HS256\"",
        |ctx| {
            let claims = Value::Object(good_claims(ctx)).to_string();
            let input = format!(
                "{}.{}",
                b64(br#"{"alg":"HS256","typ":"JWT"}"#),
                b64(claims.as_bytes())
            );
            let key =
                jsonwebtoken::EncodingKey::from_secret(DEMO_CLIENT_SECRET.as_bytes()).unwrap();
            let signature =
                jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                    .unwrap();
            with_jwt(format!("{input}.{signature}"))
        },
    );
    t.wrong(
        "header not base64url",
        "invalid_client",
        "not base64url",
        |ctx| {
            let jwt = claims_with(ctx, |_| {});
            let rest = jwt.split_once('.').unwrap().1;
            with_jwt(format!("e!!!.{rest}"))
        },
    );
}

fn claim_cases(t: &mut Table) {
    for (claim, value) in [
        ("sub", json!(DEMO_CLIENT_ID)),
        ("exp", json!(now() + 60)),
        ("nbf", json!(now())),
        ("scope", json!("vehicle:data")),
    ] {
        let name = format!("extra claim {claim}");
        let fragment: &'static str = Box::leak(format!("the claim {claim:?}").into_boxed_str());
        t.wrong(&name, "invalid_client", fragment, move |ctx| {
            with_jwt(claims_with(ctx, |c| {
                c.insert(claim.into(), value.clone());
            }))
        });
    }
    for claim in ["ver", "iss", "aud", "iat", "jti"] {
        let fragment: &'static str =
            Box::leak(format!("must have a {claim} claim").into_boxed_str());
        t.wrong(
            &format!("{claim} missing"),
            "invalid_client",
            fragment,
            move |ctx| {
                with_jwt(claims_with(ctx, |c| {
                    c.remove(claim);
                }))
            },
        );
    }
    let edits: Vec<(&str, &str, Value, &'static str)> = vec![
        ("ver 1", "ver", json!(1), "ver: 2"),
        ("ver as a string", "ver", json!("2"), "ver: 2"),
        ("ver 2.0", "ver", json!(2.0), "ver: 2"),
        (
            "iss an unknown key",
            "iss",
            json!("no-such-key"),
            "unknown key",
        ),
        (
            "iss the client id",
            "iss",
            json!(DEMO_CLIENT_ID),
            "unknown key",
        ),
        (
            "iss another application's key",
            "iss",
            json!(KEY_ONLY_KEY),
            "does not belong",
        ),
        (
            "iss a number",
            "iss",
            json!(5),
            "iss must be a non-empty string",
        ),
        (
            "iss empty",
            "iss",
            json!(""),
            "iss must be a non-empty string",
        ),
        (
            "aud of the sandbox",
            "aud",
            json!("https://sandbox.api.high-mobility.com/v1"),
            "aud",
        ),
        (
            "aud as an array",
            "aud",
            json!(["x"]),
            "aud must be a string",
        ),
        ("iat a float", "iat", json!(1.7e9), "iat must be an integer"),
        (
            "iat a string",
            "iat",
            json!("1700000000"),
            "iat must be an integer",
        ),
        ("iat -2^63", "iat", json!(i64::MIN), "is not within"),
        ("iat 2^63-1", "iat", json!(i64::MAX), "is not within"),
        ("iat 2^64-1", "iat", json!(u64::MAX), "is not within"),
        ("iat -1", "iat", json!(-1), "is not within"),
        (
            "jti empty",
            "jti",
            json!(""),
            "jti must be a non-empty string",
        ),
        (
            "jti a number",
            "jti",
            json!(42),
            "jti must be a non-empty string",
        ),
        (
            "jti of 300 characters",
            "jti",
            json!("j".repeat(300)),
            "longer than",
        ),
    ];
    for (name, claim, value, fragment) in edits {
        t.wrong(name, "invalid_client", fragment, move |ctx| {
            with_jwt(claims_with(ctx, |c| {
                c.insert(claim.into(), value.clone());
            }))
        });
    }
    type Audience = fn(&Ctx) -> String;
    let audiences: [(&str, Audience); 4] = [
        ("aud without /v1", |ctx| {
            ctx.aud.trim_end_matches("/v1").into()
        }),
        ("aud with a trailing slash", |ctx| format!("{}/", ctx.aud)),
        ("aud of the other loopback name", |ctx| {
            format!("http://{}/v1", ctx.localhost)
        }),
        ("aud with an upper-case scheme", |ctx| {
            ctx.aud.replace("http://", "HTTP://")
        }),
    ];
    for (name, aud) in audiences {
        t.wrong(name, "invalid_client", "aud", move |ctx| {
            let aud = aud(ctx);
            with_jwt(claims_with(ctx, |c| {
                c.insert("aud".into(), json!(aud));
            }))
        });
    }
    for (name, shift) in [
        ("iat 2 minutes old", -120),
        ("iat 2 minutes ahead", 120),
        ("iat 31 s old", -31),
    ] {
        t.wrong(name, "invalid_client", "is not within", move |ctx| {
            with_jwt(claims_with(ctx, |c| {
                c.insert("iat".into(), json!(now() + shift));
            }))
        });
    }
    t.wrong(
        "iat in milliseconds",
        "invalid_client",
        "is not within",
        |ctx| {
            with_jwt(claims_with(ctx, |c| {
                c.insert("iat".into(), json!(now() * 1000));
            }))
        },
    );
    t.wrong(
        "claims repeat jti",
        "invalid_client",
        "payload is not valid JSON",
        |ctx| {
            let claims = format!(
                r#"{{"ver":2,"iss":"{DEMO_KEY_ID}","aud":"{}","iat":{},"jti":"a","jti":"b"}}"#,
                ctx.aud,
                now()
            );
            with_jwt(sign_raw(HEADER, &claims, DEMO_PRIVATE_KEY_PEM))
        },
    );
    t.wrong(
        "claims are an array",
        "invalid_client",
        "payload is not a JSON object",
        |_| with_jwt(sign_raw(HEADER, "[2]", DEMO_PRIVATE_KEY_PEM)),
    );
    t.replay("the same assertion twice", |ctx| {
        with_jwt(claims_with(ctx, |_| {}))
    });
}

fn signature_cases(t: &mut Table) {
    t.wrong(
        "signed with another key",
        "invalid_client",
        "signature is invalid",
        |ctx| {
            let claims = Value::Object(good_claims(ctx)).to_string();
            with_jwt(sign_raw(HEADER, &claims, OTHER_PRIVATE_KEY))
        },
    );
    t.wrong(
        "DER-encoded signature",
        "invalid_client",
        "64-byte JOSE form",
        |ctx| {
            let claims = Value::Object(good_claims(ctx)).to_string();
            with_jwt(sign_raw_der(HEADER, &claims, DEMO_PRIVATE_KEY_PEM))
        },
    );
    t.wrong(
        "signature of 63 bytes",
        "invalid_client",
        "64-byte JOSE form",
        |ctx| {
            let jwt = claims_with(ctx, |_| {});
            let (input, signature) = jwt.rsplit_once('.').unwrap();
            let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(signature)
                .unwrap();
            bytes.pop();
            with_jwt(format!("{input}.{}", b64(&bytes)))
        },
    );
    t.wrong(
        "signature of zeros",
        "invalid_client",
        "64-byte JOSE form",
        |ctx| {
            let jwt = claims_with(ctx, |_| {});
            let input = jwt.rsplit_once('.').unwrap().0;
            with_jwt(format!("{input}.{}", b64(&[0; 64])))
        },
    );
    t.wrong(
        "empty signature",
        "invalid_client",
        "64-byte JOSE form",
        |ctx| {
            let jwt = claims_with(ctx, |_| {});
            with_jwt(format!("{}.", jwt.rsplit_once('.').unwrap().0))
        },
    );
    t.wrong(
        "claims swapped after signing",
        "invalid_client",
        "signature is invalid",
        |ctx| {
            let jwt = claims_with(ctx, |_| {});
            let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
            let mut claims = good_claims(ctx);
            claims.insert("iss".into(), json!(DEMO_KEY_ID));
            claims.insert("jti".into(), json!("forged"));
            parts[1] = b64(Value::Object(claims).to_string().as_bytes());
            with_jwt(parts.join("."))
        },
    );
    t.wrong("padded header", "invalid_client", "padded", |ctx| {
        // 28 bytes of header need "==" in padded base64; signed over the padded text, so only
        // the padding is wrong.
        let header =
            base64::engine::general_purpose::URL_SAFE.encode(r#"{"alg":"ES256", "typ":"JWT"}"#);
        assert!(header.ends_with("=="));
        let claims = b64(Value::Object(good_claims(ctx)).to_string().as_bytes());
        let input = format!("{header}.{claims}");
        let signature = es256(&input, DEMO_PRIVATE_KEY_PEM);
        with_jwt(format!("{input}.{}", b64(&signature.to_bytes())))
    });
    t.wrong("padded signature", "invalid_client", "padded", |ctx| {
        with_jwt(format!("{}==", claims_with(ctx, |_| {})))
    });
    t.wrong(
        "signature in the standard alphabet",
        "invalid_client",
        "not base64url",
        |ctx| {
            // Sign until the standard alphabet really differs (contains '+' or '/').
            loop {
                let jwt = claims_with(ctx, |_| {});
                let (input, signature) = jwt.rsplit_once('.').unwrap();
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(signature)
                    .unwrap();
                let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
                if standard.contains(['+', '/']) {
                    return with_jwt(format!("{input}.{standard}"));
                }
            }
        },
    );
    t.wrong(
        "two parts",
        "invalid_client",
        "three base64url parts",
        |ctx| {
            with_jwt(
                claims_with(ctx, |_| {})
                    .rsplit_once('.')
                    .unwrap()
                    .0
                    .to_string(),
            )
        },
    );
    t.wrong(
        "four parts",
        "invalid_client",
        "three base64url parts",
        |ctx| with_jwt(format!("{}.e30", claims_with(ctx, |_| {}))),
    );
    t.wrong(
        "trailing newline",
        "invalid_client",
        "not base64url",
        |ctx| with_jwt(format!("{}\n", claims_with(ctx, |_| {}))),
    );
    t.wrong(
        "5000-character assertion",
        "invalid_client",
        "longer than",
        |_| with_jwt("a".repeat(5000)),
    );
}

fn right_cases(t: &mut Table) {
    t.right("secret, JSON", |_| {
        Req::json(&Value::Object(secret_params()))
    });
    t.right("secret, form", |_| {
        Req::form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
        ])
    });
    t.right("secret, JSON with charset", |_| {
        Req::raw(
            &["application/json; charset=utf-8"],
            Value::Object(secret_params()).to_string(),
        )
    });
    t.right("secret, form with charset", |_| {
        let mut req = Req::form(&[
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("grant_type", "client_credentials"),
        ]);
        req.content_types = vec!["application/x-www-form-urlencoded; charset=UTF-8".into()];
        req
    });
    t.right("secret, media type in capitals", |_| {
        Req::raw(
            &["Application/JSON"],
            Value::Object(secret_params()).to_string(),
        )
    });
    t.right("secret, pretty-printed JSON", |_| {
        Req::raw(
            &["application/json"],
            serde_json::to_string_pretty(&Value::Object(secret_params())).unwrap(),
        )
    });
    t.right("secret, every form byte escaped", |_| {
        let escape = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        let body = [
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
        ]
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&");
        Req::raw(&["application/x-www-form-urlencoded"], body)
    });
    t.right("assertion by jsonwebtoken (typ first)", |ctx| {
        with_jwt(sign(&Value::Object(good_claims(ctx)), DEMO_PRIVATE_KEY_PEM))
    });
    t.right("assertion with the exact header", |ctx| {
        with_jwt(claims_with(ctx, |_| {}))
    });
    t.right("assertion, form", |ctx| {
        let jwt = claims_with(ctx, |_| {});
        Req::form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &jwt),
        ])
    });
    for (name, shift) in [("assertion 20 s old", -20), ("assertion 20 s ahead", 20)] {
        t.right(name, move |ctx| {
            with_jwt(claims_with(ctx, |c| {
                c.insert("iat".into(), json!(now() + shift));
            }))
        });
    }
    t.right(
        "assertion with a base64 jti like the spec's example",
        |ctx| {
            with_jwt(claims_with(ctx, |c| {
                c.insert(
                    "jti".into(),
                    json!(format!("{}==", uuid::Uuid::new_v4().simple())),
                );
            }))
        },
    );
    t.right("assertion to localhost, signed for localhost", |ctx| {
        let aud = format!("http://{}/v1", ctx.localhost);
        with_jwt(claims_with(ctx, |c| {
            c.insert("aud".into(), json!(aud));
        }))
        .header("host", ctx.localhost.clone())
    });
    t.right("assertion of a key-only application", |ctx| {
        let mut claims = good_claims(ctx);
        claims.insert("iss".into(), json!(KEY_ONLY_KEY));
        let jwt = sign_raw(
            HEADER,
            &Value::Object(claims).to_string(),
            OTHER_PRIVATE_KEY,
        );
        Req::json(&assertion_request(KEY_ONLY_APP, &jwt))
    });
}

fn revoke_cases(t: &mut Table) {
    let revoke = |token: &str| json!({"token": token, "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET, "token_type_hint": "access_token"});
    let edited = move |ctx: &Ctx, edit: &dyn Fn(&mut Map<String, Value>)| {
        let mut body = revoke(&ctx.live_token).as_object().unwrap().clone();
        edit(&mut body);
        Req::json(&Value::Object(body)).delete()
    };
    t.wrong(
        "revoke: array body",
        "invalid_request",
        "JSON object",
        move |ctx| Req::json(&json!([ctx.live_token, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET])).delete(),
    );
    t.wrong(
        "revoke: text/plain",
        "invalid_request",
        "text/plain",
        move |ctx| Req::raw(&["text/plain"], revoke(&ctx.live_token).to_string()).delete(),
    );
    t.wrong(
        "revoke: unknown parameter",
        "invalid_request",
        "unknown parameter",
        move |ctx| {
            edited(ctx, &|b| {
                b.insert("client_assertion".into(), json!("x"));
            })
        },
    );
    t.wrong("revoke: token twice", "invalid_request", "duplicate key", move |ctx| {
        Req::raw(
            &["application/json"],
            format!(
                r#"{{"token":"x","token":"{}","client_id":"{DEMO_CLIENT_ID}","client_secret":"{DEMO_CLIENT_SECRET}"}}"#,
                ctx.live_token
            ),
        )
        .delete()
    });
    for field in ["token", "client_id", "client_secret"] {
        t.wrong(
            &format!("revoke: {field} missing"),
            "invalid_request",
            "can't be blank",
            move |ctx| {
                edited(ctx, &|b| {
                    b.remove(field);
                })
            },
        );
    }
    t.wrong(
        "revoke: wrong secret",
        "invalid_client",
        "client_secret is invalid",
        move |ctx| {
            edited(ctx, &|b| {
                b.insert("client_secret".into(), json!("nope"));
            })
        },
    );
    t.wrong(
        "revoke: hint id_token",
        "invalid_request",
        "token_type_hint",
        move |ctx| {
            edited(ctx, &|b| {
                b.insert("token_type_hint".into(), json!("id_token"));
            })
        },
    );
    t.wrong(
        "revoke: token a number",
        "invalid_request",
        "must be a string",
        move |ctx| {
            edited(ctx, &|b| {
                b.insert("token".into(), json!(1));
            })
        },
    );
    t.wrong(
        "revoke: query string",
        "invalid_request",
        "query string",
        move |ctx| {
            let mut req = Req::json(&revoke(&ctx.live_token)).delete();
            req.query = Some("token_type_hint=access_token".into());
            req
        },
    );
    t.wrong(
        "revoke: Authorization header",
        "invalid_request",
        "Authorization header",
        move |ctx| {
            Req::json(&revoke(&ctx.live_token))
                .delete()
                .header("authorization", format!("Bearer {}", ctx.live_token))
        },
    );
    t.wrong(
        "revoke: form with a repeated key",
        "invalid_request",
        "more than once",
        move |ctx| {
            Req::raw(
            &["application/x-www-form-urlencoded"],
            format!(
                "token={0}&token={0}&client_id={DEMO_CLIENT_ID}&client_secret={DEMO_CLIENT_SECRET}",
                ctx.live_token
            ),
        )
        .delete()
        },
    );
    t.push("revoke: JSON", Expect::Revoked, move |ctx| {
        Req::json(&revoke(&ctx.revocable[0])).delete()
    });
    t.push("revoke: form, no hint", Expect::Revoked, move |ctx| {
        Req::form(&[
            ("token", &ctx.revocable[1]),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
        ])
        .delete()
    });
}

async fn send(api: &Checked, req: &Req) -> (u16, Option<String>, Value) {
    let mut url = api.url("/v1/access_tokens");
    if let Some(query) = &req.query {
        url = format!("{url}?{query}");
    }
    let mut builder = api.http.request(req.method.clone(), url);
    for content_type in &req.content_types {
        builder = builder.header("content-type", content_type);
    }
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    let response = builder.body(req.body.clone()).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    spec::assert_matches(
        OAUTH,
        "/v1/access_tokens",
        req.method.as_str(),
        status,
        &body,
    );
    (status, content_type, body)
}

async fn eligibility_status(api: &Checked, token: &str) -> u16 {
    api.http
        .post(api.url("/v1/eligibility"))
        .bearer_auth(token)
        .json(&json!({"vin": DEMO_VIN_APPROVED, "brand": "sandbox"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_wrong_request_is_refused_and_every_right_one_gets_a_token() {
    count_panics();
    let api = Checked::start(config()).await;
    let port = api.emulator.base_url().rsplit(':').next().unwrap();
    let ctx = Ctx {
        aud: api.emulator.audience(),
        localhost: format!("localhost:{port}"),
        live_token: api.demo_token().await,
        revocable: vec![api.demo_token().await, api.demo_token().await],
    };
    let mut table = Table::default();
    encoding_cases(&mut table);
    parameter_cases(&mut table);
    header_cases(&mut table);
    claim_cases(&mut table);
    signature_cases(&mut table);
    table.push("body over limits.max_body_bytes", Expect::TooLarge, |_| {
        secret_with(|p| {
            p.insert("client_secret".into(), json!("x".repeat(1024 * 1024 + 1)));
        })
    });
    right_cases(&mut table);
    revoke_cases(&mut table);

    let wrong = table
        .0
        .iter()
        .filter(|c| matches!(c.expect, Expect::Refused(..) | Expect::TooLarge))
        .count();
    assert!(wrong >= 60, "only {wrong} wrong variants");
    eprintln!(
        "{wrong} wrong variants, {} right ones",
        table.0.len() - wrong
    );
    let mut failures = Vec::new();
    for case in &table.0 {
        let req = (case.build)(&ctx);
        if case.prime {
            let (status, _, body) = send(&api, &req).await;
            assert_eq!(
                status, 200,
                "{}: the first use was refused: {body}",
                case.name
            );
        }
        let (status, content_type, body) = send(&api, &req).await;
        let outcome = match &case.expect {
            Expect::Token => (status == 200
                && body["access_token"].is_string()
                && body["token_type"] == "bearer")
                .then_some(()),
            Expect::Revoked => (status == 200).then_some(()),
            Expect::TooLarge => (status == 413 && body["error"] == "invalid_request").then_some(()),
            Expect::Refused(error, fragment) => (status == 400
                && content_type.as_deref() == Some("application/json")
                && body["error"] == *error
                && body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.contains(fragment)))
            .then_some(()),
        };
        if outcome.is_none() {
            failures.push(format!("{}: {status} {body}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.0.len(),
        failures.join("\n")
    );
    // No wrong revocation revoked the live token; the right ones revoked theirs.
    assert_eq!(eligibility_status(&api, &ctx.live_token).await, 200);
    for token in &ctx.revocable {
        assert_eq!(eligibility_status(&api, token).await, 401);
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
}

#[tokio::test]
async fn the_same_assertion_sent_five_times_at_once_yields_one_token() {
    let api = Arc::new(Checked::start(config()).await);
    for _ in 0..3 {
        let assertion = sign(
            &assertion_claims(DEMO_KEY_ID, &api.emulator.audience()),
            DEMO_PRIVATE_KEY_PEM,
        );
        let body = assertion_request(DEMO_CLIENT_ID, &assertion);
        let sends = (0..5).map(|_| {
            let (api, body) = (api.clone(), body.clone());
            tokio::spawn(async move { api.token_request(&body).await })
        });
        let mut granted = 0;
        for reply in futures::future::join_all(sends).await {
            let reply = reply.unwrap();
            match reply.status {
                200 => granted += 1,
                400 => assert_eq!(reply.body["error"], "invalid_client"),
                other => panic!("unexpected {other}: {:?}", reply.body),
            }
        }
        assert_eq!(granted, 1);
    }
}

#[tokio::test]
async fn a_jti_is_burnt_only_by_an_otherwise_valid_assertion() {
    let api = Checked::start(config()).await;
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = |aud: &str| {
        let mut claims = assertion_claims(DEMO_KEY_ID, aud);
        claims["jti"] = json!(jti);
        claims
    };
    let refused = [
        // Wrong audience, wrong key, stale iat, and a request that fails before the assertion.
        sign(
            &claims("https://sandbox.api.high-mobility.com/v1"),
            DEMO_PRIVATE_KEY_PEM,
        ),
        sign(&claims(&api.emulator.audience()), OTHER_PRIVATE_KEY),
        {
            let mut stale = claims(&api.emulator.audience());
            stale["iat"] = json!(now() - 600);
            sign(&stale, DEMO_PRIVATE_KEY_PEM)
        },
    ];
    for assertion in &refused {
        let reply = api
            .token_request(&assertion_request(DEMO_CLIENT_ID, assertion))
            .await;
        assert_eq!(reply.status, 400, "{:?}", reply.body);
    }
    let good = sign(&claims(&api.emulator.audience()), DEMO_PRIVATE_KEY_PEM);
    let mut with_scope = assertion_request(DEMO_CLIENT_ID, &good);
    with_scope["scope"] = json!("vehicle:data");
    assert_eq!(api.token_request(&with_scope).await.status, 400);
    let reply = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, &good))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    // Now it is burnt, even inside a new, validly signed assertion.
    let again = sign(&claims(&api.emulator.audience()), DEMO_PRIVATE_KEY_PEM);
    let reply = api
        .token_request(&assertion_request(DEMO_CLIENT_ID, &again))
        .await;
    assert_eq!(reply.body["error"], "invalid_client");
}
