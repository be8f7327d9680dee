//! AES key expansion (FIPS-197): placeholder until the AES detector lands.

pub struct Schedule {
    pub words: Vec<[u8; 4]>,
}

impl Schedule {
    pub fn encryption_bytes(&self) -> Vec<u8> {
        self.words.iter().flatten().copied().collect()
    }
    pub fn decryption_bytes(&self) -> Vec<u8> {
        Vec::new()
    }
}

pub fn expand(_key: &[u8]) -> Option<Schedule> {
    None
}
