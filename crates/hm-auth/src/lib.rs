#![doc = include_str!("../README.md")]

mod assertion;
mod authenticator;
mod cache;
mod credentials;
mod environment;
mod error;
mod exchange;
mod key;
mod middleware;
mod retry;
mod token;
mod token_client;

pub use authenticator::{Authenticator, AuthenticatorBuilder};
pub use credentials::{
    Credentials, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_KEY_ID, ENV_PRIVATE_KEY_FILE,
    ENV_PRIVATE_KEY_PEM, ENV_PRIVATE_KEY_PEM_FILE, Flow,
};
pub use environment::Environment;
pub use error::Error;
pub use middleware::AuthMiddleware;
pub use retry::RetryPolicy;
pub use token::AccessToken;
