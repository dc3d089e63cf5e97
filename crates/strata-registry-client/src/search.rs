//! `GET /v1/search?q=&n=`, Docker Hub's search API shape, which `strata registry serve` also
//! answers.

use serde::{Deserialize, Serialize};

use crate::client::{Registry, Scope, status_error};
use crate::error::{RegistryError, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SearchResult {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub star_count: u64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    #[serde(default)]
    results: Vec<SearchResult>,
}

impl Registry {
    pub fn search(&self, term: &str, limit: usize) -> Result<Vec<SearchResult>> {
        let n = limit.to_string();
        let resp = self.send("GET", &[Scope("registry:catalog:*".into())], |c, base| {
            c.get(format!("{base}/v1/search"))
                .query(&[("q", term), ("n", n.as_str())])
        })?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND
            || resp.status() == reqwest::StatusCode::METHOD_NOT_ALLOWED
        {
            return Err(RegistryError::SearchUnsupported(
                self.host().to_owned(),
                format!("GET /v1/search answered {}", resp.status()),
            ));
        }
        if !resp.status().is_success() {
            return Err(status_error(resp, "search"));
        }
        let body: SearchResponse = resp.json().map_err(|e| {
            RegistryError::SearchUnsupported(
                self.host().to_owned(),
                format!("invalid search answer: {e}"),
            )
        })?;
        Ok(body.results)
    }
}
