//! The DynamoDB manifest: the production store for S3 lakes.
//!
//! One DynamoDB table holds any number of laketidy tables. Its key is `pk` (the
//! laketidy table name) and `sk` (what the item is):
//!
//! | `sk` | item |
//! |---|---|
//! | `v#<version, 20 digits>` | a version head: the document inline (`body`), or the id and count of its chunks |
//! | `k#<version, 20 digits>` | a checkpoint head, same shape |
//! | `c#<blob id>#<index>` | one chunk of a large document (under 350 KB each) |
//!
//! A commit is one conditional `PutItem` of the version head
//! (`attribute_not_exists(pk)`), so exactly one writer wins each version whatever the
//! size of the commit: chunks are written first under a fresh blob id and are
//! invisible until a head names them. DynamoDB's 400 KB item limit and its 100-action
//! transactions therefore never cap a commit. The table names live under the `pk`
//! `#tables`.

use super::{ManifestStore, PutOutcome};
use crate::error::{Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};
use futures::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use url::Url;

/// Documents up to this size are stored inside their head item.
const INLINE_LIMIT: usize = 350_000;
/// Size of one chunk of a larger document.
const CHUNK_SIZE: usize = 350_000;
const TABLES_PK: &str = "#tables";

#[derive(Debug)]
pub struct DynamoManifest {
    client: Client,
    table_name: String,
    url: Url,
}

fn sdk_error<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    what: &str,
    error: SdkError<E, R>,
) -> Error {
    Error::Manifest(format!("DynamoDB {what}: {}", DisplayErrorContext(&error)))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

impl DynamoManifest {
    /// `dynamodb://TABLE?region=R&endpoint=URL`; region, endpoint and credentials
    /// otherwise come from the standard AWS configuration and environment.
    pub async fn connect(url: &Url) -> Result<Self> {
        let table_name = url.host_str().unwrap_or_default().to_string();
        let valid = (3..=255).contains(&table_name.len())
            && table_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return Err(Error::Usage(format!(
                "{url}: the DynamoDB table name must be 3 to 255 letters, digits, '_', '-' or '.', as in dynamodb://laketidy-manifest"
            )));
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "region" => loader = loader.region(aws_config::Region::new(value.into_owned())),
                "endpoint" => loader = loader.endpoint_url(value.into_owned()),
                other => {
                    return Err(Error::Usage(format!(
                        "{url}: unknown parameter {other:?}; valid: region, endpoint"
                    )));
                }
            }
        }
        let shared = loader.load().await;
        // throttling is retried by the SDK with backoff and jitter
        let config = aws_sdk_dynamodb::config::Builder::from(&shared)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(8))
            .build();
        let mut shown = url.clone();
        shown.set_query(None);
        Ok(DynamoManifest {
            client: Client::from_conf(config),
            table_name,
            url: shown,
        })
    }

    fn key(&self, pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
    }

    /// Writes a document's chunks (if it needs them) and then its head, create-only.
    async fn put_document(&self, pk: &str, sk: &str, document: Vec<u8>) -> Result<PutOutcome> {
        let mut head = self.key(pk, sk);
        let mut blob = None;
        if document.len() <= INLINE_LIMIT {
            head.insert("body".into(), AttributeValue::B(Blob::new(document)));
            head.insert("chunks".into(), AttributeValue::N("0".into()));
        } else {
            let id = uuid::Uuid::new_v4().simple().to_string();
            let chunks: Vec<Vec<u8>> = document.chunks(CHUNK_SIZE).map(<[u8]>::to_vec).collect();
            let count = chunks.len();
            futures::stream::iter(chunks.into_iter().enumerate())
                .map(|(i, chunk)| {
                    let mut item = self.key(pk, &format!("c#{id}#{i:05}"));
                    item.insert("body".into(), AttributeValue::B(Blob::new(chunk)));
                    async move {
                        self.client
                            .put_item()
                            .table_name(&self.table_name)
                            .set_item(Some(item))
                            .send()
                            .await
                            .map_err(|e| sdk_error("PutItem (chunk)", e))
                    }
                })
                .buffer_unordered(8)
                .try_collect::<Vec<_>>()
                .await?;
            head.insert("blob".into(), s(id.clone()));
            head.insert("chunks".into(), AttributeValue::N(count.to_string()));
            blob = Some((id, count));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(head))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(PutOutcome::Committed),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                if let Some((id, count)) = blob {
                    self.delete_chunks(pk, &id, count).await;
                }
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    async fn delete_chunks(&self, pk: &str, id: &str, count: usize) {
        for i in 0..count {
            let _ = self
                .client
                .delete_item()
                .table_name(&self.table_name)
                .set_key(Some(self.key(pk, &format!("c#{id}#{i:05}"))))
                .send()
                .await;
        }
    }

    async fn get_document(&self, pk: &str, sk: &str) -> Result<Option<Vec<u8>>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(self.key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        let Some(item) = got.item else {
            return Ok(None);
        };
        self.assemble(pk, &item).await.map(Some)
    }

    async fn assemble(&self, pk: &str, head: &HashMap<String, AttributeValue>) -> Result<Vec<u8>> {
        if let Some(AttributeValue::B(body)) = head.get("body") {
            return Ok(body.as_ref().to_vec());
        }
        let (Some(AttributeValue::S(id)), Some(AttributeValue::N(count))) =
            (head.get("blob"), head.get("chunks"))
        else {
            return Err(Error::Manifest(format!(
                "{}: an item of {pk} has neither a body nor chunks",
                self.url
            )));
        };
        let count: usize = count
            .parse()
            .map_err(|_| Error::Manifest(format!("{}: bad chunk count {count}", self.url)))?;
        let items = self
            .query_prefix(pk, &format!("c#{id}#"), true, None)
            .await?;
        if items.len() != count {
            return Err(Error::Manifest(format!(
                "{}: {pk} has {} of {count} chunks of {id}",
                self.url,
                items.len()
            )));
        }
        let mut document = Vec::with_capacity(count * CHUNK_SIZE);
        for item in items {
            if let Some(AttributeValue::B(body)) = item.get("body") {
                document.extend_from_slice(body.as_ref());
            }
        }
        Ok(document)
    }

    /// Items of `pk` whose `sk` lies in `[from, to]`, ascending or descending.
    async fn query_range(
        &self,
        pk: &str,
        from: &str,
        to: &str,
        ascending: bool,
        limit: Option<i32>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table_name)
                .expression_attribute_values(":pk", s(pk));
            query = if from.is_empty() {
                query.key_condition_expression("pk = :pk")
            } else {
                query
                    .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to))
            };
            let page = query
                .scan_index_forward(ascending)
                .consistent_read(true)
                .set_limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || limit.is_some_and(|l| items.len() >= l as usize) {
                return Ok(items);
            }
        }
    }

    async fn query_prefix(
        &self,
        pk: &str,
        prefix: &str,
        ascending: bool,
        limit: Option<i32>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>> {
        self.query_range(pk, prefix, &format!("{prefix}\u{10FFFF}"), ascending, limit)
            .await
    }

    fn version_of(item: &HashMap<String, AttributeValue>) -> Option<u64> {
        match item.get("sk") {
            Some(AttributeValue::S(sk)) => sk.get(2..)?.parse().ok(),
            _ => None,
        }
    }
}

#[async_trait]
impl ManifestStore for DynamoManifest {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    async fn init(&self) -> Result<()> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.table_name)
            .send()
            .await;
        match described {
            Ok(_) => return Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(sdk_error("DescribeTable", e)),
        }
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| Error::Other(e.to_string()))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| Error::Other(e.to_string()))
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table_name)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(sdk_error("CreateTable", e)),
        }
        for _ in 0..120 {
            let table = self
                .client
                .describe_table()
                .table_name(&self.table_name)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeTable", e))?;
            if table.table.and_then(|t| t.table_status) == Some(TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        Err(Error::Manifest(format!(
            "{}: the table did not become ACTIVE within a minute",
            self.url
        )))
    }

    async fn latest_version(&self, table: &str) -> Result<Option<u64>> {
        let items = self.query_prefix(table, "v#", false, Some(1)).await?;
        Ok(items.first().and_then(Self::version_of))
    }

    async fn get_version(&self, table: &str, version: u64) -> Result<Option<Vec<u8>>> {
        self.get_document(table, &format!("v#{version:020}")).await
    }

    async fn put_version(
        &self,
        table: &str,
        version: u64,
        document: Vec<u8>,
    ) -> Result<PutOutcome> {
        let outcome = self
            .put_document(table, &format!("v#{version:020}"), document)
            .await?;
        if outcome == PutOutcome::Committed && version == 1 {
            // the registry only serves listings: a failure here loses nothing
            let _ = self
                .client
                .put_item()
                .table_name(&self.table_name)
                .set_item(Some(self.key(TABLES_PK, table)))
                .send()
                .await;
        }
        Ok(outcome)
    }

    async fn put_checkpoint(&self, table: &str, version: u64, document: Vec<u8>) -> Result<()> {
        self.put_document(table, &format!("k#{version:020}"), document)
            .await
            .map(|_| ())
    }

    async fn latest_checkpoint(&self, table: &str, at_most: u64) -> Result<Option<(u64, Vec<u8>)>> {
        let items = self
            .query_range(table, "k#", &format!("k#{at_most:020}"), false, Some(1))
            .await?;
        let Some(head) = items.first() else {
            return Ok(None);
        };
        let Some(version) = Self::version_of(head) else {
            return Ok(None);
        };
        Ok(Some((version, self.assemble(table, head).await?)))
    }

    async fn delete_before(&self, table: &str, version: u64) -> Result<usize> {
        if version == 0 {
            return Ok(0);
        }
        let mut deleted = 0;
        for kind in ["v", "k"] {
            let to = format!("{kind}#{:020}", version - 1);
            for head in self
                .query_range(table, &format!("{kind}#"), &to, true, None)
                .await?
            {
                if let (Some(AttributeValue::S(id)), Some(AttributeValue::N(n))) =
                    (head.get("blob"), head.get("chunks"))
                {
                    self.delete_chunks(table, id, n.parse().unwrap_or(0)).await;
                }
                if let Some(AttributeValue::S(sk)) = head.get("sk") {
                    self.client
                        .delete_item()
                        .table_name(&self.table_name)
                        .set_key(Some(self.key(table, sk)))
                        .send()
                        .await
                        .map_err(|e| sdk_error("DeleteItem", e))?;
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }

    async fn list_tables(&self) -> Result<Vec<String>> {
        let items = self.query_prefix(TABLES_PK, "", true, None).await?;
        Ok(items
            .iter()
            .filter_map(|i| match i.get("sk") {
                Some(AttributeValue::S(name)) => Some(name.clone()),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::conformance::{self, commits, moto_endpoint, unique};
    use std::sync::Arc;

    async fn store(name: &str) -> DynamoManifest {
        let _ = moto_endpoint();
        let store = DynamoManifest::connect(&Url::parse(&format!("dynamodb://{name}")).unwrap())
            .await
            .unwrap();
        store.init().await.unwrap();
        store
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn dynamodb_backend_passes_the_conformance_suite() {
        let name = unique("laketidy-conformance");
        let dynamo = Arc::new(store(&name).await);
        conformance::run_all(dynamo.clone()).await;
        commits::run_all(dynamo.as_ref()).await;
        let other = unique("laketidy-unknown");
        let template = store(&other).await;
        let client = template.client.clone();
        commits::unknown_outcomes(|| DynamoManifest {
            client: client.clone(),
            table_name: other.clone(),
            url: Url::parse(&format!("dynamodb://{other}")).unwrap(),
        })
        .await;
    }

    #[tokio::test]
    async fn bad_urls_are_refused() {
        for url in ["dynamodb://ab", "dynamodb://laketidy?color=red"] {
            let err = DynamoManifest::connect(&Url::parse(url).unwrap())
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{url}: {err}");
        }
    }
}
