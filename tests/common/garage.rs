//! Garage as `scripts/test-garage` started it (`SWORN_TEST_S3_*`), for the tests that
//! need object storage; without it they print `SKIPPED:` and pass.

use sworn::config::{S3Settings, SecretString, StorageConfig};

/// Garage as `scripts/test-garage` started it.
pub struct Garage {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub key_id: String,
    pub secret: String,
}

pub fn garage(test: &str) -> Option<Garage> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = var("SWORN_TEST_S3_ENDPOINT") else {
        println!("SKIPPED: {test}: SWORN_TEST_S3_ENDPOINT unset (scripts/test starts Garage)");
        return None;
    };
    let secret_file = var("SWORN_TEST_S3_SECRET_FILE").expect("SWORN_TEST_S3_SECRET_FILE");
    Some(Garage {
        endpoint,
        region: var("SWORN_TEST_S3_REGION").unwrap_or_else(|| "garage".into()),
        bucket: var("SWORN_TEST_S3_BUCKET").expect("SWORN_TEST_S3_BUCKET"),
        key_id: var("SWORN_TEST_S3_KEY_ID").expect("SWORN_TEST_S3_KEY_ID"),
        secret: std::fs::read_to_string(secret_file)
            .expect("secret file")
            .trim()
            .to_owned(),
    })
}

impl Garage {
    /// Settings under a prefix of this test's own (the bucket is shared by the run).
    pub fn settings(&self, prefix: &str, secret: &str) -> S3Settings {
        S3Settings::parse(
            &format!("s3://{}/{prefix}", self.bucket),
            Some(self.endpoint.clone()),
            Some(self.region.clone()),
            self.key_id.clone(),
            SecretString::new(secret.to_owned()),
        )
        .unwrap()
    }

    pub fn storage(&self, prefix: &str) -> StorageConfig {
        StorageConfig::S3(self.settings(prefix, &self.secret))
    }

    /// A plain object_store client, independent of `sworn::blobs`, to check the bucket.
    pub fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_region(&self.region)
            .with_bucket_name(&self.bucket)
            .with_access_key_id(&self.key_id)
            .with_secret_access_key(&self.secret)
            .with_allow_http(true)
            .build()
            .unwrap()
    }
}

pub fn unique_prefix(test: &str) -> String {
    format!("{test}-{}", sworn::secrets::new_id())
}
