//! Secrets Manager at cold start: the secrets named by `<NAME>_ARN` settings
//! ([`crate::secrets::requested`]), read once and laid over the environment.

use crate::config::{ConfigError, Source};
use crate::secrets::{arn_variable, requested, WithSecrets};

/// Reads every secret `src` names by ARN (`GetSecretValue`, the `AWSCURRENT` version's
/// `SecretString`) and returns `src` with them laid over it. Nothing is fetched when no `_ARN`
/// setting is present (the development tools pass plain values).
pub async fn with_secrets<S: Source>(
    src: S,
    sdk: &aws_config::SdkConfig,
) -> Result<WithSecrets<S>, ConfigError> {
    let wanted = requested(&src)?;
    let mut values = Vec::with_capacity(wanted.len());
    if !wanted.is_empty() {
        let client = client(sdk);
        for (setting, arn) in wanted {
            values.push((setting, read(&client, setting, &arn).await?));
        }
    }
    Ok(WithSecrets::new(src, values))
}

/// The Secrets Manager client of the function.
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(super::TraceHeader);
    aws_sdk_secretsmanager::Client::from_conf(config.build())
}

async fn read(
    client: &aws_sdk_secretsmanager::Client,
    setting: &'static str,
    arn: &str,
) -> Result<String, ConfigError> {
    let variable = arn_variable(setting);
    let answer = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| ConfigError::Invalid {
            name: variable,
            reason: format!(
                "could not read the secret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ),
        })?;
    let value = answer.secret_string().ok_or(ConfigError::Invalid {
        name: variable,
        reason: "the secret has no SecretString (binary secrets are not read)".into(),
    })?;
    tracing::info!(
        setting,
        version = answer.version_id().unwrap_or("?"),
        "secret read"
    );
    Ok(value.to_owned())
}
