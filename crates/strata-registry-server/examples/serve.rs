//! Serve a storage directory without the CLI (handy for debugging the library on its own):
//! `cargo run --example serve -- ROOT [ADDR] [CONFIG.yml]`.

use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = args.next().ok_or("usage: serve ROOT [ADDR] [CONFIG]")?;
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5000".to_owned());
    let config = match args.next() {
        Some(p) => strata_registry_server::Config::load(std::path::Path::new(&p))?,
        None => strata_registry_server::Config::default(),
    };
    let app = strata_registry_server::App::from_config(&config, root.into())?;
    let listener = std::net::TcpListener::bind(&addr)?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    strata_registry_server::serve_until_signal(listener, Arc::new(app), config.tls.as_ref())?;
    Ok(())
}
