use mooring::config::{AnchorConfig, Env};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(async {
        let anchor = AnchorConfig::from_source(&Env)?;
        sep1_toml::service(&Env, &anchor)
    })
    .await?;
    mooring_lambda::run_http(&service, sep1_toml::handle).await
}
