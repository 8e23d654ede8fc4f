//! What the fuzz targets share.

use std::sync::OnceLock;

/// One current-thread tokio runtime for all inputs of a target (made once: a runtime per input
/// would be most of each run's time).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}
