use sha2::{Digest, Sha256};

/// A Stellar network, identified by its passphrase; its id is SHA-256 of the passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    passphrase: String,
    id: [u8; 32],
}

impl Network {
    pub const PUBLIC_PASSPHRASE: &'static str = "Public Global Stellar Network ; September 2015";
    pub const TESTNET_PASSPHRASE: &'static str = "Test SDF Network ; September 2015";

    pub fn new(passphrase: impl Into<String>) -> Self {
        let passphrase = passphrase.into();
        let id = Sha256::digest(passphrase.as_bytes()).into();
        Self { passphrase, id }
    }

    pub fn public() -> Self {
        Self::new(Self::PUBLIC_PASSPHRASE)
    }

    pub fn testnet() -> Self {
        Self::new(Self::TESTNET_PASSPHRASE)
    }

    pub fn passphrase(&self) -> &str {
        &self.passphrase
    }

    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    pub fn is_public(&self) -> bool {
        self.passphrase == Self::PUBLIC_PASSPHRASE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_ids_match_the_digest() {
        assert_eq!(
            hex::encode(Network::public().id()),
            "7ac33997544e3175d266bd022439b22cdb16508c01163f26e5cb2a3e1045a979"
        );
        assert_eq!(
            hex::encode(Network::testnet().id()),
            "cee0302d59844d32bdca915c8203dd44b33fbb7edc19051ea37abedf28ecd472"
        );
    }
}
