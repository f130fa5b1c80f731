//! Changing the TCP configuration of a running engine, as Linux's
//! `net.ipv4.tcp_*` sysctls change a running kernel.

use super::*;
use crate::config::TcpConfig;

impl Engine {
    /// Replaces the TCP configuration. Listeners and connections made from
    /// now on follow it; existing connections keep the one they were made
    /// with (as with Linux's sysctls). Checked as [`StackConfig::validate`]
    /// checks it; on error nothing changes.
    pub fn set_tcp_config(&mut self, tcp: TcpConfig) -> Result<(), ConfigError> {
        let mut c = self.config.clone();
        c.tcp = tcp;
        c.validate()?;
        self.config = c;
        Ok(())
    }
}
