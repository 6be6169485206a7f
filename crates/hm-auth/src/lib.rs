#![doc = include_str!("../README.md")]

mod assertion;
mod authenticator;
mod cache;
mod credentials;
mod endpoint;
mod environment;
mod error;
mod key;
mod middleware;
mod provider;
mod renewal;
mod reply;
mod retry;
mod scrub;
mod token;
mod transport;

pub use authenticator::{
    Authenticator, AuthenticatorBuilder, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TOKEN_DEADLINE,
};
pub use cache::TokenCache;
pub use credentials::{
    Credentials, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_KEY_ID, ENV_PRIVATE_KEY_FILE,
    ENV_PRIVATE_KEY_PEM, ENV_PRIVATE_KEY_PEM_FILE, Flow,
};
pub use environment::Environment;
pub use error::{Error, ErrorKind};
pub use middleware::{AuthMiddleware, RetryMiddleware};
pub use provider::{RetryingProvider, TokenProvider};
pub use retry::RetryPolicy;
pub use token::AccessToken;
