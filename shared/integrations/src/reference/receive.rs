//! SEP-31 receiving, the reference way (work in progress: Mooring's defaults for now).

use mooring::integrations::ReceiveIntegration;
use mooring::store::CustomerStore;

use super::Anchor;

impl<S: CustomerStore> ReceiveIntegration for Anchor<S> {}
